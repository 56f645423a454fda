"""How an audit entry is hashed. Changing this invalidates every existing chain.

New entries are hashed with HMAC-SHA256 under the newest key of MADOGUCHI_AUDIT_KEYS, and the
key's id is stored with the entry (and covered by the hash), so that keys can be rotated while
older entries keep verifying under theirs. Someone who can write to the database but does not
hold the key cannot recompute a valid hash. Entries written before keyed hashes carry an empty
key id and a plain SHA-256 of the same canonical text.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from madoguchi.audit.models import AuditEntry

GENESIS_HASH = "0" * 64
LEGACY_KEY_ID = ""


class UnknownAuditKeyError(LookupError):
    """The entry names a key id that MADOGUCHI_AUDIT_KEYS does not hold."""


@lru_cache(maxsize=1)
def audit_keys() -> dict[str, bytes]:
    """The HMAC keys by id, oldest first (cached; reset when tests override the setting)."""
    return {key.key_id: key.secret for key in settings.AUDIT_HASH_KEYS}


def newest_key_id() -> str:
    """The id of the key new entries are hashed with: the last one listed."""
    return next(reversed(audit_keys()))


def _canonical(entry: AuditEntry) -> bytes:
    created = entry.created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    payload = {
        "chain": entry.chain,
        "seq": entry.seq,
        "municipality_id": entry.municipality_id,
        "kind": entry.kind,
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "department_id": entry.department_id,
        "department_label": entry.department_label,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "purpose": entry.purpose,
        "ip": entry.ip,
        "data": entry.data,
        "created_at": created,
        "prev_hash": entry.prev_hash,
    }
    if entry.key_id != LEGACY_KEY_ID:
        payload["key_id"] = entry.key_id
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def entry_hash(entry: AuditEntry) -> str:
    """The entry's hash: HMAC-SHA256 under its key id, or SHA-256 for a legacy entry."""
    canonical = _canonical(entry)
    if entry.key_id == LEGACY_KEY_ID:
        return hashlib.sha256(canonical).hexdigest()
    key = audit_keys().get(entry.key_id)
    if key is None:
        raise UnknownAuditKeyError(entry.key_id)
    return hmac.digest(key, canonical, "sha256").hex()


@receiver(setting_changed)
def _reset_keys(*, setting: str, **kwargs: object) -> None:
    if setting == "AUDIT_HASH_KEYS":
        audit_keys.cache_clear()
