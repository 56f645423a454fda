"""Storing residents' uploads as attachments (shared by the web wizard and the API)."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction

from madoguchi.core.uploads import check_upload, safe_display_name, store_upload
from madoguchi.procedures.fieldtypes import FieldSpec
from madoguchi.procedures.models import Attachment, Draft
from madoguchi.tenants.models import Municipality

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def upload_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


@transaction.atomic
def attachment_store(
    *,
    municipality: Municipality,
    stream: IO[bytes],
    original_name: str,
    field: FieldSpec,
    draft: Draft | None = None,
) -> tuple[Attachment, str]:
    """Check an upload by content against the field's rules and store it outside the web root.

    Returns the attachment and a one-time token with which an API client claims it in a
    submission. Raises ``UploadRejected`` (empty, too large, type not allowed).
    """
    accept = field.options.accept or ("image/jpeg", "image/png", "application/pdf")
    max_bytes = field.options.max_bytes or DEFAULT_MAX_BYTES
    checked = check_upload(stream, original_name=original_name, accept=accept, max_bytes=max_bytes)
    stream.seek(0)
    storage_name = store_upload(
        stream, root=Path(settings.MEDIA_ROOT), municipality_code=municipality.code
    )
    token = secrets.token_urlsafe(24)
    attachment = Attachment.objects.create(
        municipality=municipality,
        draft=draft,
        field_key=field.key,
        storage_name=storage_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        original_name=safe_display_name(checked.original_name or original_name),
        upload_token_hash=upload_token_hash(token),
    )
    return attachment, token
