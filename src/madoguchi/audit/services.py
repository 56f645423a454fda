"""Writing to the audit log. Nothing else creates audit entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from madoguchi.audit.hashing import GENESIS_HASH, entry_hash, newest_key_id
from madoguchi.audit.models import PLATFORM_CHAIN, AuditChainHead, AuditEntry, EntryKind

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenants.models import Department, Municipality

__all__ = ["AuditActor", "audit_access", "audit_event"]


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


def _append(
    *,
    municipality: Municipality | None,
    kind: str,
    action: str,
    actor: AuditActor,
    object_type: str,
    object_id: str,
    purpose: str,
    data: dict[str, Any],
) -> AuditEntry:
    chain = municipality.audit_chain_key if municipality is not None else PLATFORM_CHAIN
    department = actor.department
    with transaction.atomic():
        head, _ = AuditChainHead.objects.get_or_create(
            chain=chain, defaults={"last_hash": GENESIS_HASH}
        )
        head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
        entry = AuditEntry(
            chain=chain,
            seq=head.last_seq + 1,
            municipality=municipality,
            kind=kind,
            action=action,
            actor_id=actor.user.pk if actor.user is not None else None,
            actor_label=actor.user_label[:150],
            department_id=department.pk if department is not None else None,
            department_label=department.name[:100] if department is not None else "",
            object_type=object_type[:64],
            object_id=object_id[:64],
            purpose=purpose[:200],
            ip=actor.ip[:45],
            data=data,
            created_at=timezone.now(),
            prev_hash=head.last_hash,
            key_id=newest_key_id(),
        )
        entry.hash = entry_hash(entry)
        entry.save()
        AuditChainHead.objects.filter(pk=head.pk).update(last_seq=entry.seq, last_hash=entry.hash)
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
