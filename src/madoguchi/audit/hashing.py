"""How an audit entry is hashed. Changing this invalidates every existing chain."""

from __future__ import annotations

import datetime
import hashlib
import json

from madoguchi.audit.models import AuditEntry

GENESIS_HASH = "0" * 64


def entry_hash(entry: AuditEntry) -> str:
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
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
