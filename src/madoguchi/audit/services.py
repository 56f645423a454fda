"""Writing to the audit log. Nothing else creates audit entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from madoguchi.audit.models import PLATFORM_CHAIN, AuditEntry, EntryKind
from madoguchi.audit.sealing import audit_insert_sealed, audit_seal_soon, seal_after_commit

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenants.models import Department, Municipality

__all__ = ["AuditActor", "audit_access", "audit_access_many", "audit_event"]


@dataclass(frozen=True, slots=True)
class AuditActor:
    """Who acts, as recorded: the user (if any), the client address and their department."""

    user: User | None = None
    ip: str = ""
    department: Department | None = None
    label: str = ""  # for actors without an account, e.g. "cli" or a failed username

    @property
    def user_label(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return self.label


def _object_ref(obj: models.Model | None, object_type: str, object_id: str) -> tuple[str, str]:
    if obj is not None:
        return obj._meta.label_lower, str(obj.pk)
    return object_type, object_id


@dataclass(frozen=True, slots=True)
class _Record:
    """One entry to append, before its place in the chain is known."""

    kind: str
    action: str
    actor: AuditActor
    object_type: str
    object_id: str
    purpose: str
    data: dict[str, Any]


def _append_all(
    *, municipality: Municipality | None, records: Sequence[_Record]
) -> list[AuditEntry]:
    """Insert the records in order, as the next entries of the municipality's chain.

    By default (``MADOGUCHI_AUDIT_SEAL=in-transaction``) they are inserted sealed, under the
    chain head's lock, inside the caller's transaction. In after-commit mode no lock is taken:
    they are inserted unsealed and get their sequence numbers and hashes from the sealer
    (``madoguchi.audit.sealing``) right after the caller's transaction commits; the returned
    entries are then not yet sealed.
    """
    chain = municipality.audit_chain_key if municipality is not None else PLATFORM_CHAIN
    now = timezone.now()
    entries: list[AuditEntry] = []
    for record in records:
        department = record.actor.department
        entries.append(
            AuditEntry(
                chain=chain,
                municipality=municipality,
                kind=record.kind,
                action=record.action,
                actor_id=record.actor.user.pk if record.actor.user is not None else None,
                actor_label=record.actor.user_label[:150],
                department_id=department.pk if department is not None else None,
                department_label=department.name[:100] if department is not None else "",
                object_type=record.object_type[:64],
                object_id=record.object_id[:64],
                purpose=record.purpose[:200],
                ip=record.actor.ip[:45],
                data=record.data,
                created_at=now,
            )
        )
    if not entries:
        return entries
    # A savepoint when nested, as before sealing: an append refused (read-only mode, a full
    # disk) must leave the caller's transaction usable for the answer it then gives.
    with transaction.atomic():
        if not seal_after_commit():
            audit_insert_sealed(chain, entries)
            return entries
        if len(entries) == 1:
            entries[0].save()
        else:
            AuditEntry.objects.bulk_create(entries)
        audit_seal_soon(chain)
    return entries


def _append(*, municipality: Municipality | None, **fields: Any) -> AuditEntry:
    [entry] = _append_all(municipality=municipality, records=[_Record(**fields)])
    return entry


def audit_event(
    *,
    municipality: Municipality | None,
    action: str,
    actor: AuditActor,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that ``actor`` did ``action`` (e.g. ``auth.login``) to a record.

    ``data`` must be JSON-serialisable and must not hold secrets or My Numbers.
    """
    object_type, object_id = _object_ref(obj, object_type, object_id)
    return _append(
        municipality=municipality,
        kind=EntryKind.EVENT,
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        purpose="",
        data=data or {},
    )


def audit_access(
    *,
    municipality: Municipality,
    actor: AuditActor,
    purpose: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    action: str = "view",
) -> AuditEntry:
    """Record that a staff member looked at a record holding personal data, and why."""
    object_type, object_id = _object_ref(obj, object_type, object_id)
    return _append(
        municipality=municipality,
        kind=EntryKind.ACCESS,
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        data={},
    )


def audit_access_many(
    *,
    municipality: Municipality,
    purpose: str,
    accesses: Sequence[tuple[AuditActor, models.Model]],
    action: str = "view",
) -> list[AuditEntry]:
    """Record one look per record, e.g. each row of a list page showing names.

    One entry per (actor, record), in order, inserted together and sealed in one batch: a page
    of 50 rows costs a few queries, not 50 appends.
    """
    return _append_all(
        municipality=municipality,
        records=[
            _Record(
                kind=EntryKind.ACCESS,
                action=action,
                actor=actor,
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                purpose=purpose,
                data={},
            )
            for actor, obj in accesses
        ],
    )
