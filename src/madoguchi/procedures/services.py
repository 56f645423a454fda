"""Writing procedures and applications: definitions, drafts, submission."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.businessdays import add_business_days
from madoguchi.core.crypto import blind_index
from madoguchi.core.japanese import normalize_digits, normalize_for_search
from madoguchi.procedures import notify
from madoguchi.procedures.definitions import DefinitionError, ProcedureDefinition
from madoguchi.procedures.fieldtypes import FieldInvalid, FieldSpec, GroupInvalid, validate_answers
from madoguchi.procedures.models import (
    Application,
    Attachment,
    Channel,
    Draft,
    Procedure,
    ProcedureVersion,
    StateChange,
)
from madoguchi.procedures.receipts import (
    lookup_secret_hash,
    lookup_secret_new,
    receipt_number_new,
)
from madoguchi.procedures.selectors import definition_of
from madoguchi.tenants.models import Department, Municipality

__all__ = [
    "SubmissionInvalid",
    "SubmitResult",
    "application_submit",
    "draft_issue_resume_link",
    "draft_resume",
    "draft_save_step",
    "draft_start",
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


@dataclass(frozen=True, slots=True)
class SubmitResult:
    application: Application
    secret: str | None  # None when an earlier identical submission was returned
    created: bool


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@transaction.atomic
def procedure_publish(
    *, municipality: Municipality, data: Mapping[str, Any], actor: AuditActor
) -> ProcedureVersion:
    """Check a definition and make it the procedure's current version.

    A definition identical to the current one changes nothing (loading is idempotent);
    a changed one becomes a new version, while applications keep the version they used.
    Raises DefinitionError for a malformed definition or an unknown department.
    """
    definition = ProcedureDefinition.from_dict(data)
    department = Department.objects.filter(
        municipality=municipality, code=definition.department
    ).first()
    if department is None:
        raise DefinitionError(
            f"department {definition.department!r} does not exist in {municipality.code}"
        )
    procedure, _ = Procedure.objects.select_for_update().get_or_create(
        municipality=municipality, code=definition.code, defaults={"department": department}
    )
    digest = _digest(data)
    current = procedure.current_version
    if (
        current is not None
        and current.digest == digest
        and procedure.department_id == (department.pk)
    ):
        return current
    number = (
        procedure.versions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    version = ProcedureVersion.objects.create(
        municipality=municipality,
        procedure=procedure,
        number=number,
        definition=json.loads(json.dumps(data, ensure_ascii=False)),
        digest=digest,
        created_by=actor.user_label,
    )
    procedure.current_version = version
    procedure.department = department
    procedure.save(update_fields=["current_version", "department"])
    audit_event(
        municipality=municipality,
        action="procedure.publish",
        actor=actor,
        obj=procedure,
        data={"code": definition.code, "version": number},
    )
    return version


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
    transaction.on_commit(
        lambda: notify.send_resume_link(
            email=email,
            municipality_name=draft.municipality.name,
            procedure_name=definition.name_ja,
            link=link,
            expires_at=draft.expires_at,
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
    if errors:
        raise SubmissionInvalid(errors)
    return cleaned


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
    draft: Draft | None = None,
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
    cleaned = validate_submission(definition, answers)
    for _ in range(_RECEIPT_ATTEMPTS):
        try:
            return _submit_once(
                municipality=municipality,
                version=version,
                definition=definition,
                cleaned=cleaned,
                channel=channel,
                actor=actor,
                idempotency_key=idempotency_key,
                draft=draft,
                owned_attachments={str(a) for a in owned_attachments},
            )
        except _ReceiptTakenError:
            continue
    raise RuntimeError("could not find a free receipt number")  # about 1e-60 likely


class _ReceiptTakenError(Exception):
    pass


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
) -> SubmitResult:
    if draft is not None:
        draft = Draft.objects.select_for_update().get(pk=draft.pk, municipality=municipality)
        if draft.application_id is not None:
            existing = Application.objects.get(pk=draft.application_id)
            return SubmitResult(existing, None, False)
    if idempotency_key:
        existing_app = Application.objects.filter(
            municipality=municipality, idempotency_key=idempotency_key
        ).first()
        if existing_app is not None:
            return SubmitResult(existing_app, None, False)

    file_ids = [f for f in _file_refs(definition, cleaned) if f in owned_attachments]
    files = list(
        Attachment.objects.select_for_update().filter(
            municipality=municipality, pk__in=file_ids, application__isnull=True
        )
    )
    file_ids = _file_refs(definition, cleaned)
    if len(files) != len(set(file_ids)):
        missing = {str(f.pk) for f in files} ^ set(file_ids)
        errors: ErrorMap = {}
        for spec in definition.fields:
            value = cleaned.get(spec.key)
            if isinstance(value, Mapping) and str(value.get("id")) in missing:
                errors[spec.key] = FieldInvalid(
                    "file_unknown",
                    f"{spec.label_ja}のファイルが見つかりません。もう一度添付してください。",
                )
        raise SubmissionInvalid(errors)

    now = timezone.now()
    identity = _identity_values(definition, cleaned)
    secret = lookup_secret_new()
    receipt = receipt_number_new()
    state = definition.initial_state
    try:
        with transaction.atomic():
            application = Application.objects.create(
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
                due_date=add_business_days(timezone.localdate(now), definition.processing_days),
                answers=cleaned,
                email=identity.get("email") or None,
                name_search=normalize_for_search(identity.get("name", ""))[:200],
                mynumber_index=(
                    blind_index(normalize_digits(identity["mynumber"]), purpose="mynumber")
                    if identity.get("mynumber")
                    else ""
                ),
                person_index=_person_index(identity),
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        if Application.objects.filter(receipt_number=receipt).exists():
            raise _ReceiptTakenError from None
        if idempotency_key:
            existing_app = Application.objects.filter(
                municipality=municipality, idempotency_key=idempotency_key
            ).first()
            if existing_app is not None:
                return SubmitResult(existing_app, None, False)
        raise
    StateChange.objects.create(
        municipality=municipality,
        application=application,
        from_state="",
        to_state=state,
        changed_at=now,
        actor_label=actor.user_label,
    )
    Attachment.objects.filter(pk__in=[f.pk for f in files]).update(application=application)
    if draft is not None:
        Draft.objects.filter(pk=draft.pk).update(application=application, raw={}, answers={})
    audit_event(
        municipality=municipality,
        action="application.submit",
        actor=actor,
        obj=application,
        data={"procedure": definition.code, "version": version.number, "channel": channel},
    )
    email = identity.get("email")
    if email:
        transaction.on_commit(
            lambda: notify.send_receipt(
                email=email,
                municipality_name=municipality.name,
                procedure_name=definition.name_ja,
                receipt_number=receipt,
                secret=secret,
                status_url=f"{settings.MADOGUCHI_SITE_URL}/{municipality.slug}/status/",
            )
        )
    return SubmitResult(application, secret, True)
