"""Reading and verifying the audit log."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from madoguchi.audit.checkpoints import Checkpoint
from madoguchi.audit.hashing import (
    GENESIS_HASH,
    LEGACY_KEY_ID,
    UnknownAuditKeyError,
    entry_hash,
)
from madoguchi.audit.models import PLATFORM_CHAIN, AuditChainHead, AuditEntry

if TYPE_CHECKING:
    from madoguchi.tenants.models import Municipality

__all__ = [
    "ChainReport",
    "audit_chain_verify",
    "audit_chains",
    "audit_entries_for_municipality",
    "audit_entries_for_object",
]


@dataclass(frozen=True, slots=True)
class ChainReport:
    chain: str
    entries: int
    ok: bool
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    reason: str = ""
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    legacy: int = 0  # entries hashed with plain SHA-256, before keyed hashes
    proven_by: Checkpoint | None = None  # the newest checkpoint the chain matches
    missing: bool = False  # checkpoints name the chain, the database holds none of it
    unsealed: int = 0  # entries still waiting for the sealer (younger than the bound)


def audit_entries_for_municipality(
    *,
    municipality: Municipality,
    kind: str = "",
    action: str = "",
    actor: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEntry]:
    """The municipality's own entries, newest first, narrowed by the given filters.

    Ordered by id (insertion order), so that entries not yet sealed, which have no sequence
    number, are listed too.
    """
    entries = AuditEntry.objects.filter(chain=municipality.audit_chain_key)
    if kind:
        entries = entries.filter(kind=kind)
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if date_from:
        entries = entries.filter(created_at__date__gte=date_from)
    if date_to:
        entries = entries.filter(created_at__date__lte=date_to)
    return entries.order_by("-id")


def audit_entries_for_object(
    *, municipality: Municipality, object_type: str, object_id: str, kind: str = ""
) -> QuerySet[AuditEntry]:
    """Entries about one record of the municipality, oldest first (for "who looked").

    Ordered by id (insertion order), which includes entries not yet sealed.
    """
    entries = AuditEntry.objects.filter(
        chain=municipality.audit_chain_key, object_type=object_type, object_id=object_id
    )
    if kind:
        entries = entries.filter(kind=kind)
    return entries.order_by("id")


def audit_chains(*, municipality_code: str | None = None, also: Iterable[str] = ()) -> list[str]:
    """Chain keys present in the log (one municipality's, or all including ``platform``).

    ``also`` adds chains known from elsewhere (checkpoints), so that a chain removed from the
    database is still checked.
    """
    if municipality_code is not None:
        return [municipality_code]
    heads = set(AuditChainHead.objects.values_list("chain", flat=True))
    entries = set(AuditEntry.objects.values_list("chain", flat=True).distinct())
    return sorted(heads | entries | set(also), key=lambda c: (c == PLATFORM_CHAIN, c))


def audit_chain_verify(
    chain: str, *, checkpoints: Sequence[Checkpoint] = (), since: Checkpoint | None = None
) -> ChainReport:
    """Walk one chain from its first entry and report the first one that does not match.

    Each entry's hash is recomputed with its key, links and sequence numbers are followed,
    and every checkpoint of the chain must name an entry that is still there with the hash
    and the entry count it recorded. The walk stops at the chain head as read before it, so
    entries appended meanwhile (the log is live) are left for the next run.

    With ``since`` (one of ``checkpoints``) the walk starts at the entry that checkpoint names
    instead of the first: what ``audit checkpoint`` does every few minutes, leaving the whole
    walk to ``audit verify``.

    Entries not yet sealed are not part of the walk; one left unsealed for longer than
    MADOGUCHI_AUDIT_UNSEALED_MAX_AGE is a failure (the sealer is not running, or the entry was
    inserted behind its back), younger ones are counted in ``unsealed``.
    """
    by_seq: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_seq.setdefault(checkpoint.seq, []).append(checkpoint)
    expected_prev: str | None = GENESIS_HASH
    expected_seq = 1
    count = legacy = 0
    keyed_since = 0
    head = AuditChainHead.objects.filter(chain=chain).first()
    walked = AuditEntry.objects.filter(chain=chain, seq__isnull=False)
    if head is not None:
        walked = walked.filter(seq__lte=head.last_seq)
    if since is not None:
        # The link into the checkpointed entry was checked when the checkpoint was taken; its
        # own hash is compared with the checkpoint below.
        walked = walked.filter(seq__gte=since.seq)
        expected_prev, expected_seq, count = None, since.seq, since.entries - 1
    seen = 0
    for entry in walked.order_by("seq").iterator(chunk_size=2000):
        count += 1
        seen += 1
        reason = ""
        if entry.seq != expected_seq:
            reason = f"sequence gap: expected #{expected_seq}, found #{entry.seq}"
        elif expected_prev is not None and entry.prev_hash != expected_prev:
            reason = "previous-hash link does not match the entry before"
        elif entry.key_id == LEGACY_KEY_ID and keyed_since:
            reason = (
                f"hashed without a key although #{keyed_since} and later entries are keyed"
                " (the entry was rewritten and its hash recomputed)"
            )
        else:
            try:
                if entry_hash(entry) != entry.hash:
                    reason = "content does not match its hash (the entry was altered)"
            except UnknownAuditKeyError:
                reason = (
                    f"hashed with key id {entry.key_id!r}, which MADOGUCHI_AUDIT_KEYS does not"
                    " hold (add the key back to verify it)"
                )
        if not reason:
            # entry.seq == expected_seq here (else the gap was reported)
            reason = _checkpoint_mismatch(entry, count, by_seq.get(expected_seq, []))
        if reason:
            return ChainReport(chain, count, False, entry.seq, entry.pk, reason, legacy=legacy)
        if entry.key_id == LEGACY_KEY_ID:
            legacy += 1
        elif not keyed_since:
            keyed_since = expected_seq
        expected_prev = entry.hash
        expected_seq += 1
    if since is not None and not seen:
        # The checkpointed entry itself is gone: walk the whole chain to say what is left.
        return audit_chain_verify(chain, checkpoints=checkpoints)
    if head is not None and (beyond := _entry_beyond_head(chain, head.last_seq)) is not None:
        return ChainReport(
            chain,
            count,
            False,
            beyond.seq,
            beyond.pk,
            f"entry lies beyond the chain head #{head.last_seq} (it was inserted)",
            legacy=legacy,
        )
    if head is not None and head.last_seq != count:
        return ChainReport(
            chain,
            count,
            False,
            head.last_seq,
            None,
            f"chain ends at #{count} but its head records #{head.last_seq}"
            " (entries were removed from the end)",
            legacy=legacy,
        )
    if head is not None and head.last_hash != expected_prev:
        last = AuditEntry.objects.filter(chain=chain, seq=count).values_list("pk", flat=True)
        return ChainReport(
            chain,
            count,
            False,
            count,
            last[0] if last else None,
            "the last entry does not match the hash its chain head recorded"
            " (the entry was rewritten)",
            legacy=legacy,
        )
    latest = max(checkpoints, key=lambda cp: cp.order, default=None)
    end = expected_seq - 1
    if latest is not None and latest.seq > end:
        missing = end == 0
        if missing:
            reason = (
                f"the chain is missing from the database: the checkpoint of {latest.time}"
                f" recorded {latest.entries} entries up to #{latest.seq} (the chain was deleted)"
            )
        else:
            reason = (
                f"chain ends at #{end} but the checkpoint of {latest.time} recorded"
                f" #{latest.seq} (entries were removed from the end)"
            )
        return ChainReport(
            chain, count, False, end + 1, None, reason, legacy=legacy, missing=missing
        )
    unsealed = AuditEntry.objects.filter(chain=chain, sealed_at__isnull=True)
    bound = settings.AUDIT_UNSEALED_MAX_AGE
    stale = (
        unsealed.filter(created_at__lt=timezone.now() - datetime.timedelta(seconds=bound))
        .order_by("id")
        .first()
    )
    if stale is not None:
        return ChainReport(
            chain,
            count,
            False,
            None,
            stale.pk,
            f"not sealed into the chain since {stale.created_at.isoformat(timespec='seconds')},"
            f" longer than MADOGUCHI_AUDIT_UNSEALED_MAX_AGE ({bound} s): no sealer is running"
            " (start a task worker or run 'madoguchi audit seal'), or the entry was inserted"
            " behind the application's back",
            legacy=legacy,
        )
    return ChainReport(
        chain,
        count,
        True,
        last_seq=count,
        last_hash=expected_prev or GENESIS_HASH,
        legacy=legacy,
        proven_by=latest,
        unsealed=unsealed.count(),
    )


def _entry_beyond_head(chain: str, last_seq: int) -> AuditEntry | None:
    """An entry past the head that is not one appended since the head was read, if any."""
    beyond = AuditEntry.objects.filter(chain=chain, seq__gt=last_seq).order_by("seq").first()
    if beyond is None:
        return None
    now = AuditChainHead.objects.filter(chain=chain).values_list("last_seq", flat=True).first()
    # beyond.seq is set: NULL never compares greater than last_seq
    return beyond if now is None or (beyond.seq or 0) > now else None


def _checkpoint_mismatch(entry: AuditEntry, count: int, checkpoints: list[Checkpoint]) -> str:
    for checkpoint in checkpoints:
        if checkpoint.hash != entry.hash:
            return (
                f"hash differs from the checkpoint of {checkpoint.time} (#{checkpoint.seq}):"
                " this entry or one before it was rewritten and the hashes recomputed"
            )
        if checkpoint.entries != count:
            return (
                f"the checkpoint of {checkpoint.time} recorded {checkpoint.entries} entries up to"
                f" #{checkpoint.seq}, the database holds {count}"
            )
    return ""
