"""Attachments: storing an uploaded file for a file field, and proving who may use it.

Files arrive before the application that uses them. :func:`attachment_store` checks a file by
its content against the field's ``accept`` and ``max_bytes``, stores it and returns a random
upload token, kept only as a SHA-256 hash. A submission then names the attachment in the file
field's answer; an API client shows that it is its own by presenting the token
(:func:`attachments_claimed`), the web wizard by the draft the file was uploaded into.

A file answer's ``content_type``, ``size`` and ``name`` are what the client says;
:func:`file_answers_bind` replaces them with what was stored, so a field's ``accept`` and
``max_bytes`` are checked against the file itself and not against the client's description.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import secrets
import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import IO, BinaryIO

from django.db import transaction
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

from madoguchi.core.uploads import (
    DETECTABLE_CONTENT_TYPES,
    UploadErrorCode,
    UploadRejected,
    check_upload,
    delete_stored,
    open_stored,
    store_upload,
)
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.fieldtypes import FieldSpec
from madoguchi.procedures.models import Attachment, Draft
from madoguchi.tenants.models import Municipality

__all__ = [
    "DEFAULT_MAX_BYTES",
    "attachment_response",
    "attachment_store",
    "attachments_claimed",
    "file_answers_bind",
    "upload_token_hash",
]

logger = logging.getLogger(__name__)

# The limit of a file field without max_bytes; fieldtypes.FileType uses the same.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_TOKEN_BYTES = 32


def upload_token_hash(token: str) -> str:
    """SHA-256 (hex) of an upload token: a 256-bit random token needs no key or slow hash."""
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def _binary(stream: IO[bytes], max_bytes: int) -> BinaryIO:
    # Django hands an upload over as IO[bytes]: a BytesIO, or a tempfile wrapper around a
    # buffered file. Anything else is read into memory, no further than check_upload would.
    for candidate in (stream, getattr(stream, "file", None)):
        if isinstance(candidate, io.BytesIO | io.BufferedReader | io.BufferedRandom):
            return candidate
    return io.BytesIO(stream.read(max_bytes + 1))


def _checkable_accept(spec: FieldSpec) -> list[str]:
    # check_upload refuses types it cannot recognise by content; such entries of a definition
    # (text/csv, image/tiff) can never be proven, so they accept nothing here.
    return [
        entry
        for entry in (pattern.strip().lower() for pattern in spec.options.accept)
        if entry in DETECTABLE_CONTENT_TYPES or entry == "image/*"
    ]


@transaction.atomic
def attachment_store(
    *,
    municipality: Municipality,
    stream: IO[bytes],
    original_name: str,
    field: FieldSpec,
    draft: Draft | None = None,
) -> tuple[Attachment, str]:
    """Check ``stream`` against the file field, store it and record it; return it and its token.

    The type is read from the content (the name and the sender's Content-Type decide nothing)
    and must be one the field accepts; the size must be within the field's ``max_bytes``
    (10 MiB without one). The file is written to the file storage (``STORAGES["default"]``)
    with a random name; ``original_name`` is kept, cleaned, for display. The plain upload token
    is returned once and only its hash is stored. ``draft`` ties the attachment to a web wizard
    draft.

    Raises UploadRejected (``empty``, ``too_large``, ``type_not_allowed``) for a file the field
    does not take, and ValueError when ``field`` is not a file field or ``draft`` belongs to
    another municipality.
    """
    if field.type != "file":
        raise ValueError(f"{field.key!r} is a {field.type} field, not a file field")
    if draft is not None and draft.municipality_id != municipality.pk:
        raise ValueError("the draft belongs to another municipality")
    accept = _checkable_accept(field)
    if not accept:
        raise UploadRejected(
            UploadErrorCode.TYPE_NOT_ALLOWED,
            _("この項目にはオンラインでファイルを添付できません。担当課にお問い合わせください。"),
        )
    max_bytes = field.options.max_bytes or DEFAULT_MAX_BYTES
    binary = _binary(stream, max_bytes)
    binary.seek(0)
    checked = check_upload(binary, original_name=original_name, accept=accept, max_bytes=max_bytes)
    binary.seek(0)
    storage_name = store_upload(binary, municipality_code=municipality.code)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    try:
        attachment = Attachment.objects.create(
            municipality=municipality,
            draft=draft,
            field_key=field.key,
            storage_name=storage_name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            original_name=checked.original_name,
            upload_token_hash=upload_token_hash(token),
        )
    except BaseException:
        delete_stored(storage_name)
        raise
    return attachment, token


def attachments_claimed(
    *, municipality: Municipality, claims: Iterable[tuple[str, str]]
) -> dict[str, Attachment]:
    """The municipality's attachments whose upload token was presented, by id (canonical text).

    ``claims`` are ``(id, token)`` pairs. An id that is not a UUID, unknown, of another
    municipality, or presented with a wrong token is left out, all alike. Tokens are compared in
    constant time. Whether an attachment is still unused is for the submission to check.
    """
    tokens: dict[uuid.UUID, list[str]] = {}
    for attachment_id, token in claims:
        try:
            key = uuid.UUID(attachment_id)
        except (ValueError, TypeError, AttributeError):
            continue
        tokens.setdefault(key, []).append(token)
    if not tokens:
        return {}
    rows = Attachment.objects.filter(municipality=municipality, pk__in=list(tokens)).exclude(
        upload_token_hash=""
    )
    claimed: dict[str, Attachment] = {}
    for attachment in rows:
        presented = [upload_token_hash(token) for token in tokens[attachment.pk]]
        # Every token is compared, so the time taken does not depend on which one matched.
        matches = [
            hmac.compare_digest(digest, attachment.upload_token_hash) for digest in presented
        ]
        if any(matches):
            claimed[str(attachment.pk)] = attachment
    return claimed


def _reference_id(value: object) -> str | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return str(uuid.UUID(str(value.get("id"))))
    except ValueError:
        return None


def file_answers_bind(
    *,
    definition: ProcedureDefinition,
    answers: Mapping[str, object],
    attachments: Mapping[str, Attachment],
) -> tuple[dict[str, object], set[str]]:
    """The answers with file references filled in from ``attachments``, and the ids usable.

    For each file field whose answer names one of ``attachments`` (by id), the reference
    becomes ``{id, content_type, size, name}`` of the stored file. An attachment counts only
    for the field it was uploaded for: one named by another field (or by two fields) is not
    returned as usable, so the submission refuses it. Other answers are returned unchanged,
    for the field rules to judge.
    """
    bound = dict(answers)
    usable: set[str] = set()
    misused: set[str] = set()
    for spec in definition.fields:
        if spec.type != "file":
            continue
        value = answers.get(spec.key)
        reference = _reference_id(value)
        attachment = attachments.get(reference) if reference is not None else None
        if attachment is None or not isinstance(value, Mapping):
            continue
        if attachment.field_key != spec.key or reference in usable:
            misused.add(str(attachment.pk))
            continue
        bound[spec.key] = {
            **value,
            "id": str(attachment.pk),
            "content_type": attachment.content_type,
            "size": attachment.size,
            "name": attachment.original_name,
        }
        usable.add(str(attachment.pk))
    return bound, usable - misused


def attachments_discard(attachments: Collection[Attachment]) -> None:
    """Delete uploads that were refused after storing, with their files."""
    for attachment in attachments:
        delete_stored(attachment.storage_name)
        attachment.delete()


def attachment_response(attachment: Attachment) -> FileResponse:
    """The stored file of ``attachment``, inline, with the type recorded when it was checked.

    Callers have authorised the reader (and written the audit entry). A storage name that is
    not one (a row altered by hand) or a file missing from the storage is logged and answered
    as not found (Http404): nothing outside the storage is ever read.
    """
    try:
        handle = open_stored(attachment.storage_name)
    except ValueError:
        logger.error("attachment %s has a storage name that is refused", attachment.pk)
        raise Http404 from None
    except FileNotFoundError:
        logger.error("attachment %s: its file is missing from the storage", attachment.pk)
        raise Http404 from None
    response = FileResponse(handle, content_type=attachment.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response
