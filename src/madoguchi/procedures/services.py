"""Writing procedures and applications: definitions, drafts, submission."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.businessdays import add_business_days
from madoguchi.core.crypto import blind_index
from madoguchi.core.events import DomainEvent, event_publish, event_publish_many
from madoguchi.core.japanese import normalize_digits, normalize_for_search
from madoguchi.core.prepared import PreparedValues
from madoguchi.core.uploads import delete_stored
from madoguchi.procedures import notify
from madoguchi.procedures.definitions import DefinitionError, ProcedureDefinition, Uniqueness
from madoguchi.procedures.fieldtypes import (
    FieldErrorCode,
    FieldInvalid,
    FieldSpec,
    GroupInvalid,
    validate_answers,
)
from madoguchi.procedures.models import (
    Application,
    Attachment,
    Channel,
    Draft,
    DuplicateMatch,
    InfoRequest,
    Procedure,
    ProcedureVersion,
    StateChange,
)
from madoguchi.procedures.publishing import ProcedureWithdrawn, procedure_publish
from madoguchi.procedures.receipts import (
    lookup_secret_hash,
    lookup_secret_new,
    receipt_number_new,
)
from madoguchi.procedures.selectors import (
    application_id_counter,
    definition_of,
    procedure_open_department,
)
from madoguchi.tenants.models import Municipality

__all__ = [
    "BulkRow",
    "IdempotencyKeyReused",
    "InfoResponseInvalid",
    "ProcedureWithdrawn",
    "SubmissionInvalid",
    "SubmitResult",
    "application_submit",
    "applications_submit_bulk",
    "draft_issue_resume_link",
    "draft_resume",
    "draft_save_step",
    "draft_start",
    "drafts_and_uploads_cleanup",
    "duplicates_flag",
    "info_request_answer",
    "info_request_open",
    "procedure_publish",
]

logger = logging.getLogger(__name__)

DRAFT_DAYS = 14
_RECEIPT_ATTEMPTS = 8

ErrorMap = dict[str, FieldInvalid | GroupInvalid]


class SubmissionInvalid(Exception):  # noqa: N818 - mirrors FieldInvalid
    """The answers do not pass the definition's rules; ``errors`` by field key."""

    def __init__(self, errors: ErrorMap) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class IdempotencyKeyReused(Exception):  # noqa: N818 - an outcome, like SubmissionInvalid
    """The idempotency key was first used for another request (other answers or procedure).

    Nothing about the earlier application may be returned: the key alone proves nothing.
    """

    def __init__(self, procedure_id: int) -> None:
        super().__init__("idempotency key reused for another request")
        self.procedure_id = procedure_id


@dataclass(frozen=True, slots=True)
class SubmitResult:
    application: Application
    secret: str | None  # None when an earlier identical submission was returned
    created: bool


# --- drafts ------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


@transaction.atomic
def draft_start(*, municipality: Municipality, procedure: Procedure) -> Draft:
    """A new, empty draft of the procedure's current version."""
    assert procedure.municipality_id == municipality.pk
    assert procedure.current_version is not None
    return Draft.objects.create(
        municipality=municipality,
        version=procedure.current_version,
        expires_at=timezone.now() + datetime.timedelta(days=DRAFT_DAYS),
    )


@transaction.atomic
def draft_save_step(
    *,
    draft: Draft,
    step_key: str,
    raw: dict[str, Any],
    cleaned: dict[str, Any],
    complete: bool,
) -> Draft:
    """Keep what the resident typed in a step; the cleaned answers only of valid fields."""
    locked = Draft.objects.select_for_update().get(pk=draft.pk, municipality=draft.municipality)
    all_raw = dict(locked.raw or {})
    all_raw[step_key] = raw
    answers = dict(locked.answers or {})
    answers.update(cleaned)
    done = [s for s in (locked.completed_steps or []) if s != step_key]
    if complete:
        done.append(step_key)
    locked.raw, locked.answers, locked.completed_steps = all_raw, answers, done
    locked.expires_at = timezone.now() + datetime.timedelta(days=DRAFT_DAYS)
    locked.save(update_fields=["raw", "answers", "completed_steps", "expires_at", "updated_at"])
    return locked


@transaction.atomic
def draft_issue_resume_link(*, draft: Draft, email: str, link_base: str) -> None:
    """E-mail a link that reopens the draft (a new link replaces the previous one)."""
    token = secrets.token_urlsafe(24)
    draft.resume_token_hash = _token_hash(token)
    draft.email = email
    draft.save(update_fields=["resume_token_hash", "email", "updated_at"])
    definition = definition_of(draft.version)
    link = f"{link_base}{token}/"
    # In the language the resident is using the site in, like the receipt.
    language = notify.resident_language(get_language())
    transaction.on_commit(
        lambda: notify.send_resume_link(
            municipality=draft.municipality,
            email=email,
            procedure_name=definition.name_en
            if language == "en" and definition.name_en
            else definition.name_ja,
            link=link,
            expires_at=draft.expires_at,
            language=language,
        )
    )


def draft_resume(*, municipality: Municipality, token: str) -> Draft | None:
    """The draft a resume link opens, or None when unknown, expired or already submitted."""
    draft = (
        Draft.objects.filter(municipality=municipality, resume_token_hash=_token_hash(token))
        .select_related("version")
        .first()
    )
    if draft is None or draft.expires_at <= timezone.now() or draft.application_id is not None:
        return None
    return draft


# --- duplicates --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DuplicateKeys:
    """What the duplicate check of one application looks at (no personal data: keyed hashes)."""

    municipality_id: int
    procedure_id: int
    mynumber_index: str
    person_index: str


_Candidate = tuple[str, int]  # (DuplicateMatch.Basis, the other application's id)


def _earlier_by(field: str) -> PreparedValues:
    def build(procedure: int, value: str, exclude: int) -> QuerySet[Application, Any]:
        # A procedure belongs to one municipality, so this stays within the tenant; leaving the
        # municipality out lets SQLite use the (procedure, index) indexes without statistics.
        return (
            Application.objects.filter(procedure_id=procedure, **{field: value})
            .exclude(pk=exclude)
            .exclude(state__in=["withdrawn", "cancelled"])  # 取下げ・取消し do not count
            .values_list("pk")[:20]
        )

    return PreparedValues(f"duplicates_{field}", build, procedure=int, value=str, exclude=int)


# Read on every submission (and again after it, see _duplicates_recheck): compiled once.
_EARLIER = {field: _earlier_by(field) for field in ("mynumber_index", "person_index")}


def _duplicate_candidates(keys: _DuplicateKeys, *, exclude_pk: int | None) -> list[_Candidate]:
    """Earlier applications to the same procedure by the same person: reads only."""
    found: list[_Candidate] = []
    for basis, value, field in (
        (DuplicateMatch.Basis.MYNUMBER, keys.mynumber_index, "mynumber_index"),
        (DuplicateMatch.Basis.PERSON, keys.person_index, "person_index"),
    ):
        if not value:
            continue
        # Ids start at 1, so excluding 0 excludes nothing.
        rows = _EARLIER[field].rows(
            procedure=keys.procedure_id, value=value, exclude=exclude_pk or 0
        )
        found.extend((basis, other_id) for (other_id,) in rows)
    return found


def _duplicates_record(
    keys: _DuplicateKeys, application_id: int, candidates: Sequence[_Candidate]
) -> list[DuplicateMatch]:
    found: list[DuplicateMatch] = []
    for basis, other_id in candidates:
        match, _ = DuplicateMatch.objects.get_or_create(
            municipality_id=keys.municipality_id,
            application_id=application_id,
            other_id=other_id,
            basis=basis,
        )
        found.append(match)
    return found


def _duplicate_keys(application: Application) -> _DuplicateKeys:
    return _DuplicateKeys(
        municipality_id=application.municipality_id,
        procedure_id=application.procedure_id,
        mynumber_index=application.mynumber_index,
        person_index=application.person_index,
    )


def duplicates_flag(*, application: Application) -> list[DuplicateMatch]:
    """Flag earlier applications to the same procedure by the same person, whatever channel.

    Matches on the My Number's blind index, or on normalised name (kana preferred) + birth
    date + address. Withdrawn or cancelled applications do not count. Staff see the match
    and decide.
    """
    keys = _duplicate_keys(application)
    return _duplicates_record(
        keys, application.pk, _duplicate_candidates(keys, exclude_pk=application.pk)
    )


def _duplicates_recheck(
    application_id: int,
    keys: _DuplicateKeys | None = None,
    known: Collection[_Candidate] = (),
) -> None:
    """Look again once the submission has committed: a submission by the same person committing
    at the same moment was invisible to the first look; whichever commits last sees the other.

    Reads outside any transaction and writes (taking SQLite's write lock) only for a match not
    already in ``known``: the usual outcome, no match, costs two indexed reads and no write.
    """
    # A late check must never fail the request that already succeeded.
    try:
        if keys is None:
            row = (
                Application.objects.filter(pk=application_id)
                .values("municipality_id", "procedure_id", "mynumber_index", "person_index")
                .first()
            )
            if row is None:
                return
            keys = _DuplicateKeys(**row)
        new = [c for c in _duplicate_candidates(keys, exclude_pk=application_id) if c not in known]
        if new:
            with transaction.atomic():
                _duplicates_record(keys, application_id, new)
    except DatabaseError as error:
        # The database went away right after the commit (an outage or a failover): expected,
        # reported by the health check and every other request, so no traceback here.
        logger.warning("duplicate re-check failed for application %s: %s", application_id, error)
    except Exception:
        logger.exception("duplicate re-check failed for application %s", application_id)


# --- submission --------------------------------------------------------------------------------


def _identity_values(definition: ProcedureDefinition, answers: Mapping[str, Any]) -> dict[str, str]:
    identity = definition.identity
    return {
        role: str(answers.get(key) or "")
        for role, key in (
            ("name", identity.name),
            ("name_kana", identity.name_kana),
            ("birth_date", identity.birth_date),
            ("address", identity.address),
            ("email", identity.email),
            ("mynumber", identity.mynumber),
        )
        if key
    }


def _person_index(values: Mapping[str, str]) -> str:
    """Keyed hash of normalised name + birth date + address (empty when any is missing)."""
    name = normalize_for_search(values.get("name_kana") or values.get("name", ""))
    birth = values.get("birth_date", "")
    address = normalize_for_search(values.get("address", ""))
    if not (name and birth and address):
        return ""
    return blind_index(f"{name}|{birth}|{address}", purpose="application.person")


def validate_submission(
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> dict[str, Any]:
    """All answers cleaned, or SubmissionInvalid listing every failing field."""
    specs: tuple[FieldSpec, ...] = definition.fields
    cleaned, errors = validate_answers(specs, answers)
    for spec in specs:
        if spec.key not in errors and _has_surrogate(answers.get(spec.key)):
            errors[spec.key] = FieldInvalid(
                FieldErrorCode.CONTROL_CHARACTER,
                f"{spec.label_ja}に使えない文字が含まれています。入力し直してください。",
            )
    if errors:
        raise SubmissionInvalid(errors)
    return cleaned


def _has_surrogate(value: object) -> bool:
    """Text that cannot be encoded (lone surrogates, e.g. from a broken client) anywhere inside."""
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, Mapping):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_surrogate(v) for v in value)
    return False


def _file_refs(definition: ProcedureDefinition, cleaned: Mapping[str, Any]) -> list[str]:
    ids: list[str] = []
    for spec in definition.fields:
        value = cleaned.get(spec.key)
        if spec.type == "file" and isinstance(value, Mapping) and value.get("id"):
            ids.append(str(value["id"]))
    return ids


def application_submit(
    *,
    municipality: Municipality,
    version: ProcedureVersion,
    answers: Mapping[str, Any],
    channel: str,
    actor: AuditActor,
    owned_attachments: Collection[str] = (),
    idempotency_key: str | None = None,
    request_fingerprint: str = "",
    draft: Draft | None = None,
    secret: str | None = None,
    bundle: uuid.UUID | None = None,
) -> SubmitResult:
    """Validate and store an application; issue its receipt number and lookup secret.

    The same ``idempotency_key`` (or the same draft) submitted twice returns the first
    application, so a double click or a retried API call stores nothing twice. File answers
    must name attachments the caller has shown to be the submitter's (``owned_attachments``:
    the draft's uploads, or API uploads whose token was presented), not yet used elsewhere.
    """
    assert version.municipality_id == municipality.pk
    assert channel in Channel.values
    definition = definition_of(version)
    # The answers are checked before any earlier result is returned: a replay proves itself
    # by sending the same valid request, not by knowing the key.
    cleaned = validate_submission(definition, answers)
    request_fingerprint = request_fingerprint or _request_fingerprint(version, cleaned)
    replay = _replay(municipality, idempotency_key, request_fingerprint)
    if replay is not None:
        return replay
    department_id = _require_open(version, channel)
    return _submit_retrying(
        municipality=municipality,
        version=version,
        department_id=department_id,
        definition=definition,
        cleaned=cleaned,
        channel=channel,
        actor=actor,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        draft=draft,
        owned_attachments={str(a) for a in owned_attachments},
        secret=secret,
        bundle=bundle,
    )


def _submit_retrying(
    *,
    municipality: Municipality,
    version: ProcedureVersion,
    definition: ProcedureDefinition,
    cleaned: dict[str, Any],
    channel: str,
    actor: AuditActor,
    idempotency_key: str | None,
    request_fingerprint: str,
    draft: Draft | None,
    owned_attachments: set[str],
    secret: str | None = None,
    bundle: uuid.UUID | None = None,
    department_id: int | None = None,
) -> SubmitResult:
    """Store validated answers, drawing a new receipt number if the drawn one is taken."""
    # Everything that can be worked out before the transaction is: on SQLite the transaction
    # holds the single write lock from its first statement.
    derived = _derived_columns(_identity_values(definition, cleaned))
    if department_id is None:
        department_id = version.procedure.department_id
    # The duplicate check reads before the lock too; what commits meanwhile is caught by the
    # look again after commit (_duplicates_recheck), as for the paper import.
    candidates: list[_Candidate] | None = None
    id_counter: int | None = None
    if definition.uniqueness != Uniqueness.NONE:
        if connection.vendor == "sqlite":
            # Read before the look: see _submit_once for why the look again may be skipped.
            id_counter = application_id_counter()
        candidates = _duplicate_candidates(
            _DuplicateKeys(
                municipality_id=municipality.pk,
                procedure_id=version.procedure_id,
                mynumber_index=derived.mynumber_index,
                person_index=derived.person_index,
            ),
            exclude_pk=None,
        )
    for _attempt in range(_RECEIPT_ATTEMPTS):
        issued_secret = secret or lookup_secret_new()
        receipt = receipt_number_new()
        try:
            result = _submit_once(
                municipality=municipality,
                version=version,
                definition=definition,
                cleaned=cleaned,
                channel=channel,
                actor=actor,
                idempotency_key=idempotency_key,
                request_fingerprint=request_fingerprint,
                draft=draft,
                owned_attachments=owned_attachments,
                receipt=receipt,
                secret=issued_secret,
                secret_hash=lookup_secret_hash(receipt, issued_secret),
                derived=derived,
                duplicate_candidates=candidates,
                id_counter=id_counter,
                department_id=department_id,
                bundle=bundle,
            )
        except IntegrityError:
            # Rolled back (no savepoint under the lock for this rare case): a receipt number
            # drawn twice, or the idempotency key stored meanwhile by a concurrent request.
            if Application.objects.filter(receipt_number=receipt).exists():
                continue
            replay = _replay(municipality, idempotency_key, request_fingerprint)
            if replay is not None:
                return replay
            raise
        if result.created:
            # Asking the listeners whether they want it reads the database: after the write
            # transaction. Delivery still waits for the commit of any enclosing transaction.
            event_publish(
                DomainEvent(
                    municipality_id=municipality.pk,
                    type="application.submitted",
                    subject=f"applications/{receipt}",
                    data={
                        "receipt_number": receipt,
                        "procedure": definition.code,
                        "channel": channel,
                    },
                )
            )
        return result
    raise RuntimeError("could not find a free receipt number")  # about 1e-60 likely


@dataclass(frozen=True, slots=True)
class _DerivedColumns:
    """The searchable columns worked out from the identity answers (keyed hashes included)."""

    email: str | None
    name_search: str
    mynumber_index: str
    person_index: str


def _derived_columns(identity: Mapping[str, str]) -> _DerivedColumns:
    return _DerivedColumns(
        email=identity.get("email") or None,
        name_search="|".join(
            normalize_for_search(identity.get(role, ""))
            for role in ("name", "name_kana")
            if identity.get(role)
        )[:200],
        mynumber_index=(
            blind_index(normalize_digits(identity["mynumber"]), purpose="mynumber")
            if identity.get("mynumber")
            else ""
        ),
        person_index=_person_index(identity),
    )


def _request_fingerprint(version: ProcedureVersion, answers: Mapping[str, Any]) -> str:
    """SHA-256 of the procedure and the cleaned answers, to recognise a retried request (the
    same answers typed with 全角 digits or a 和暦 date are the same request)."""
    text = json.dumps(
        {"procedure": version.procedure_id, "answers": answers},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(
    municipality: Municipality, idempotency_key: str | None, request_fingerprint: str
) -> SubmitResult | None:
    """The application first stored under ``idempotency_key``, when this request is the same
    one (same fingerprint); IdempotencyKeyReused when the key was used for another request."""
    if not idempotency_key:
        return None
    earlier = Application.objects.filter(
        municipality=municipality, idempotency_key=idempotency_key
    ).first()
    if earlier is None:
        return None
    if not (
        request_fingerprint
        and hmac.compare_digest(earlier.idempotency_fingerprint, request_fingerprint)
    ):
        raise IdempotencyKeyReused(earlier.procedure_id)
    return SubmitResult(earlier, None, False)


def _require_open(version: ProcedureVersion, channel: str) -> int:
    """Residents (web, API) cannot apply to a withdrawn procedure; paper received earlier
    can still be entered by staff. The procedure's department (where the application lands)."""
    if channel == Channel.PAPER:
        return version.procedure.department_id
    department_id = procedure_open_department(procedure_id=version.procedure_id)
    if department_id is None:
        raise ProcedureWithdrawn(version.procedure_id)
    return department_id


@transaction.atomic
def _submit_once(
    *,
    municipality: Municipality,
    version: ProcedureVersion,
    definition: ProcedureDefinition,
    cleaned: dict[str, Any],
    channel: str,
    actor: AuditActor,
    idempotency_key: str | None,
    draft: Draft | None,
    owned_attachments: set[str],
    request_fingerprint: str,
    receipt: str,
    secret: str,
    secret_hash: str,
    derived: _DerivedColumns,
    duplicate_candidates: list[_Candidate] | None,
    department_id: int,
    id_counter: int | None = None,
    bundle: uuid.UUID | None = None,
) -> SubmitResult:
    if draft is not None:
        draft = Draft.objects.select_for_update().get(pk=draft.pk, municipality=municipality)
        if draft.application_id is not None:
            existing = Application.objects.get(pk=draft.application_id)
            return SubmitResult(existing, None, False)
    replay = _replay(municipality, idempotency_key, request_fingerprint)
    if replay is not None:
        return replay

    file_ids = [f for f in _file_refs(definition, cleaned) if f in owned_attachments]
    files = (
        list(
            Attachment.objects.select_for_update().filter(
                municipality=municipality, pk__in=file_ids, application__isnull=True
            )
        )
        if file_ids
        else []  # not even a query to build: this runs under the write lock
    )
    by_id = {str(f.pk): f for f in files}
    errors: ErrorMap = {}
    for spec in definition.fields:
        value = cleaned.get(spec.key)
        if spec.type != "file" or not isinstance(value, Mapping):
            continue
        stored = by_id.get(str(value.get("id")))
        # The file must be the submitter's, unused, and uploaded for this very field.
        if stored is None or stored.field_key not in {"", spec.key}:
            errors[spec.key] = FieldInvalid(
                FieldErrorCode.FILE_UNKNOWN,
                f"{spec.label_ja}のファイルが見つかりません。もう一度添付してください。",
            )
            continue
        # What the server checked, not what the client said, describes the file.
        cleaned[spec.key] = {
            "id": str(stored.pk),
            "content_type": stored.content_type,
            "size": stored.size,
            "name": stored.original_name,
        }
    if errors:
        raise SubmissionInvalid(errors)

    now = timezone.now()
    state = definition.initial_state
    application = Application.objects.create(
        municipality=municipality,
        procedure_id=version.procedure_id,
        version=version,
        department_id=department_id,
        receipt_number=receipt,
        secret_hash=secret_hash,
        channel=channel,
        state=state,
        state_changed_at=now,
        submitted_at=now,
        due_date=add_business_days(timezone.localdate(now), definition.processing_days),
        language=notify.resident_language(get_language()),
        answers=cleaned,
        email=derived.email,
        name_search=derived.name_search,
        mynumber_index=derived.mynumber_index,
        person_index=derived.person_index,
        idempotency_key=idempotency_key or None,
        idempotency_fingerprint=request_fingerprint if idempotency_key else "",
        bundle=bundle,
    )
    StateChange.objects.create(
        municipality=municipality,
        application=application,
        from_state="",
        to_state=state,
        changed_at=now,
        actor_label=actor.user_label,
    )
    if files:
        Attachment.objects.filter(pk__in=[f.pk for f in files]).update(application=application)
    if duplicate_candidates is not None:
        # Found before the lock; a submission by the same person committing meanwhile is
        # invisible here, so the check runs again after commit: whichever commits last sees
        # the other.
        keys = _duplicate_keys(application)
        _duplicates_record(keys, application.pk, duplicate_candidates)
        # On SQLite writers take turns, and ids come from one counter. If this application has
        # the id right after the last one given out before the look, nothing was stored
        # between the look and now, so the look saw every other submission: whichever later
        # submission it missed has not been made yet, and will see this one.
        if id_counter is None or application.pk != id_counter + 1:
            application_id = application.pk
            known = tuple(duplicate_candidates)
            transaction.on_commit(lambda: _duplicates_recheck(application_id, keys, known))
    if draft is not None:
        Draft.objects.filter(pk=draft.pk).update(application=application, raw={}, answers={})
    audit_event(
        municipality=municipality,
        action="application.submit",
        actor=actor,
        obj=application,
        data={"procedure": definition.code, "version": version.number, "channel": channel},
    )
    if application.email:
        _receipt_mail_on_commit(municipality, definition, application, secret)
    return SubmitResult(application, secret, True)


@dataclass(frozen=True, slots=True)
class BulkRow:
    """One validated application for :func:`applications_submit_bulk`: its answers exactly as
    they are stored, and its idempotency key."""

    answers: dict[str, Any]
    idempotency_key: str


def applications_submit_bulk(
    *,
    municipality: Municipality,
    version: ProcedureVersion,
    definition: ProcedureDefinition,
    rows: Sequence[BulkRow],
    channel: str,
    actor: AuditActor,
) -> list[SubmitResult]:
    """Store already validated applications together: the paper import's fast path.

    Each gets what application_submit gives one (receipt number and secret, the searchable
    columns, the first history row, duplicate flags, the ``application.submitted`` event, the
    receipt e-mail after commit), written with a few statements for the whole list. The audit
    entry is the caller's: one for the batch, listing the receipt numbers.

    Runs in the caller's transaction. When a receipt number or an idempotency key is taken
    meanwhile (a concurrent import), the insert raises IntegrityError and nothing of the list
    is stored; the caller then stores the rows one by one with application_submit.
    """
    assert version.municipality_id == municipality.pk
    assert channel in Channel.values
    if not rows:
        return []
    now = timezone.now()
    state = definition.initial_state
    due_date = add_business_days(timezone.localdate(now), definition.processing_days)
    language = notify.resident_language(get_language())
    receipts = _free_receipt_numbers(len(rows))
    issued = [lookup_secret_new() for _row in rows]
    applications = []
    for row, receipt, secret in zip(rows, receipts, issued, strict=True):
        derived = _derived_columns(_identity_values(definition, row.answers))
        applications.append(
            Application(
                municipality=municipality,
                procedure_id=version.procedure_id,
                version=version,
                department_id=version.procedure.department_id,
                receipt_number=receipt,
                secret_hash=lookup_secret_hash(receipt, secret),
                channel=channel,
                state=state,
                state_changed_at=now,
                submitted_at=now,
                due_date=due_date,
                language=language,
                answers=row.answers,
                email=derived.email,
                name_search=derived.name_search,
                mynumber_index=derived.mynumber_index,
                person_index=derived.person_index,
                idempotency_key=row.idempotency_key,
                idempotency_fingerprint=_request_fingerprint(version, row.answers),
            )
        )
    with transaction.atomic():
        Application.objects.bulk_create(applications)
    StateChange.objects.bulk_create(
        StateChange(
            municipality=municipality,
            application=application,
            from_state="",
            to_state=state,
            changed_at=now,
            actor_label=actor.user_label,
        )
        for application in applications
    )
    if definition.uniqueness != Uniqueness.NONE:
        _duplicates_flag_many(applications)
        # As for one submission: whichever commits last sees the other.
        ids = [application.pk for application in applications]
        transaction.on_commit(lambda: _duplicates_recheck_many(ids))
    event_publish_many(
        DomainEvent(
            municipality_id=municipality.pk,
            type="application.submitted",
            subject=f"applications/{application.receipt_number}",
            data={
                "receipt_number": application.receipt_number,
                "procedure": definition.code,
                "channel": channel,
            },
        )
        for application in applications
    )
    for application, secret in zip(applications, issued, strict=True):
        if application.email:
            _receipt_mail_on_commit(municipality, definition, application, secret)
    return [
        SubmitResult(application, secret, True)
        for application, secret in zip(applications, issued, strict=True)
    ]


def _free_receipt_numbers(count: int) -> list[str]:
    """``count`` distinct new receipt numbers that no stored application has (yet)."""
    chosen: set[str] = set()
    for _attempt in range(_RECEIPT_ATTEMPTS):
        drawn = {receipt_number_new() for _n in range(count - len(chosen))} - chosen
        taken = set(
            Application.objects.filter(receipt_number__in=drawn).values_list(
                "receipt_number", flat=True
            )
        )
        chosen |= drawn - taken
        if len(chosen) == count:
            return list(chosen)
    raise RuntimeError("could not find free receipt numbers")  # about 1e-60 likely


def _duplicates_flag_many(applications: Sequence[Application]) -> None:
    """:func:`duplicates_flag` for many new applications of one procedure, with one query per
    basis (and per 500 values) instead of one per application."""
    procedure_id = applications[0].procedure_id
    matches: list[DuplicateMatch] = []
    for basis, field in (
        (DuplicateMatch.Basis.MYNUMBER, "mynumber_index"),
        (DuplicateMatch.Basis.PERSON, "person_index"),
    ):
        values = sorted({getattr(a, field) for a in applications if getattr(a, field)})
        holders: dict[str, list[int]] = {}
        for start in range(0, len(values), 500):
            found = (
                Application.objects.filter(
                    procedure_id=procedure_id, **{f"{field}__in": values[start : start + 500]}
                )
                .exclude(state__in=["withdrawn", "cancelled"])  # 取下げ・取消し
                .values_list("pk", field)
            )
            for pk, value in found:
                holders.setdefault(value, []).append(pk)
        for application in applications:
            value = getattr(application, field)
            others = [pk for pk in holders.get(value, []) if pk != application.pk] if value else []
            matches.extend(
                DuplicateMatch(
                    municipality_id=application.municipality_id,
                    application=application,
                    other_id=other_id,
                    basis=basis,
                )
                for other_id in others[:20]
            )
    DuplicateMatch.objects.bulk_create(matches, ignore_conflicts=True)


def _duplicates_recheck_many(application_ids: list[int]) -> None:
    # As _duplicates_recheck: a late check must never fail the import that succeeded.
    try:
        applications = list(
            Application.objects.filter(pk__in=application_ids).only(
                "municipality_id", "procedure_id", "mynumber_index", "person_index"
            )
        )
        if applications:
            with transaction.atomic():
                _duplicates_flag_many(applications)
    except DatabaseError as error:
        logger.warning(
            "duplicate re-check failed for %s applications: %s", len(application_ids), error
        )
    except Exception:
        logger.exception("duplicate re-check failed for %s applications", len(application_ids))


def _receipt_mail_on_commit(
    municipality: Municipality,
    definition: ProcedureDefinition,
    application: Application,
    secret: str,
) -> None:
    """Send the receipt e-mail (receipt number and lookup secret) once the transaction commits."""
    email = application.email
    assert email
    receipt = application.receipt_number
    language = application.language
    procedure_name = (
        definition.name_en if language == "en" and definition.name_en else definition.name_ja
    )
    transaction.on_commit(
        lambda: notify.send_receipt(
            email=email,
            municipality=municipality,
            procedure_name=procedure_name,
            receipt_number=receipt,
            secret=secret,
            status_url=f"{settings.MADOGUCHI_SITE_URL}/{municipality.slug}/status/",
            language=language,
        )
    )


# --- requests for more information ------------------------------------------------------------


class InfoResponseInvalid(Exception):  # noqa: N818 - mirrors SubmissionInvalid
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def info_request_open(*, application: Application) -> InfoRequest | None:
    """The newest unanswered request for more information, if any."""
    return (
        InfoRequest.objects.filter(
            municipality_id=application.municipality_id,
            application=application,
            answered_at__isnull=True,
            closed_at__isnull=True,
        )
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def info_request_answer(
    *,
    municipality: Municipality,
    application_id: int,
    text: str,
    attachment_ids: Collection[str],
    actor: AuditActor,
) -> InfoRequest:
    """The resident's answer: text and/or files. The application returns to its department's
    queue marked as answered (its state stays until staff move it)."""
    application = (
        Application.objects.select_for_update()
        .filter(pk=application_id, municipality=municipality)
        .first()
    )
    if application is None:
        raise InfoResponseInvalid(_("この申請は見つかりません。"))
    request = info_request_open(application=application)
    if request is None:
        raise InfoResponseInvalid(_("回答をお願いしている事項はありません。"))
    if not text.strip() and not attachment_ids:
        raise InfoResponseInvalid(_("回答の内容を入力するか、書類を添付してください。"))
    now = timezone.now()
    request.answered_at = now
    request.response = text.strip()
    request.save(update_fields=["answered_at", "response"])
    Attachment.objects.filter(
        municipality=municipality, pk__in=list(attachment_ids), application__isnull=True
    ).update(application=application, field_key="info_request")
    application.answered_at = now
    application.save(update_fields=["answered_at"])
    audit_event(
        municipality=municipality,
        action="application.info_answered",
        actor=actor,
        obj=application,
        data={"files": len(attachment_ids)},
    )
    return request


# --- one-stop bundles --------------------------------------------------------------------------


@transaction.atomic
def bundle_submit(
    *,
    municipality: Municipality,
    version: ProcedureVersion,
    answers: Mapping[str, Any],
    channel: str,
    actor: AuditActor,
    owned_attachments: Collection[str] = (),
    draft: Draft | None = None,
) -> list[SubmitResult]:
    """Open one application per part of a one-stop bundle, all or none.

    Each part is validated with its own procedure's rules and lands in its own department
    with its own workflow; all parts share one lookup secret and a bundle id, so the
    resident's status page shows every part.
    """
    definition = definition_of(version)
    assert definition.is_bundle
    _require_open(version, channel)
    if draft is not None:
        draft = Draft.objects.select_for_update().get(pk=draft.pk, municipality=municipality)
        if draft.application_id is not None:
            first = Application.objects.get(pk=draft.application_id)
            siblings = Application.objects.filter(bundle=first.bundle).order_by("pk")
            return [SubmitResult(a, None, False) for a in siblings]
    parts: list[tuple[ProcedureVersion, dict[str, Any]]] = []
    errors: ErrorMap = {}
    for code in definition.parts:
        procedure = Procedure.objects.filter(municipality=municipality, code=code).first()
        if procedure is None or procedure.current_version is None:
            raise DefinitionError(f"part {code!r} is no longer published")
        part_definition = definition_of(procedure.current_version)
        keys = {f.key for f in part_definition.fields}
        part_answers = {k: v for k, v in answers.items() if k in keys}
        try:
            validate_submission(part_definition, part_answers)
        except SubmissionInvalid as exc:
            errors.update(exc.errors)
        parts.append((procedure.current_version, part_answers))
    if errors:
        raise SubmissionInvalid(errors)
    secret = lookup_secret_new()
    bundle = uuid.uuid4()
    results = [
        application_submit(
            municipality=municipality,
            version=part_version,
            answers=part_answers,
            channel=channel,
            actor=actor,
            owned_attachments=owned_attachments,
            secret=secret,
            bundle=bundle,
        )
        for part_version, part_answers in parts
    ]
    if draft is not None:
        Draft.objects.filter(pk=draft.pk).update(
            application=results[0].application, raw={}, answers={}
        )
    return results


# --- housekeeping ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CleanupResult:
    drafts: int
    attachments: int
    files: int


def drafts_and_uploads_cleanup(*, now: datetime.datetime | None = None) -> CleanupResult:
    """Delete expired drafts and uploads no application uses (a day old or more), with files.

    Residents' unfinished input is personal data too: it is kept only as long as the
    resume link works. Run daily (cron or a scheduler) with ``madoguchi procedures cleanup``.
    """
    now = now or timezone.now()
    expired = Draft.objects.filter(expires_at__lt=now, application__isnull=True)
    orphans = Attachment.objects.filter(
        application__isnull=True, created_at__lt=now - datetime.timedelta(days=1)
    ).filter(Q(draft__isnull=True) | Q(draft__in=expired))
    files = 0
    attachments = 0
    for attachment in orphans.iterator():
        if delete_stored(attachment.storage_name):
            files += 1
        attachment.delete()
        attachments += 1
    drafts, _ = expired.delete()
    return CleanupResult(drafts, attachments, files)
