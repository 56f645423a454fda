"""Sealing audit entries into their chain, in batches, after the writers have committed.

In after-commit mode writers insert entries unsealed (``seq``, ``prev_hash`` and ``hash``
empty, ``sealed_at`` NULL) and never touch the chain head, so that sixteen writers of one
municipality do not queue on one row lock for the length of their transactions.
``audit_seal`` then takes the chain head's row lock once for a batch, gives the chain's
committed unsealed entries their sequence numbers in id order, links and hashes them exactly
as a single append would, records the new head and commits: up to ``SEAL_BATCH`` entries per
lock.

It runs right after each commit that wrote entries (``transaction.on_commit``), and every
``MADOGUCHI_AUDIT_SEAL_INTERVAL`` seconds in each task worker as the safety net for a process
that died between its commit and the seal. Only one sealer works on a chain at a time: on
PostgreSQL a sealer that finds the head locked leaves the work to the one holding it, which
looks again for unsealed entries after its commit, so every committed entry is sealed by
someone without writers waiting on each other. ``madoguchi audit verify`` reports an entry
left unsealed longer than ``MADOGUCHI_AUDIT_UNSEALED_MAX_AGE`` as a failure.

By default (``MADOGUCHI_AUDIT_SEAL=in-transaction``) the writer seals inside its own
transaction instead (``audit_insert_sealed``): it locks the head, seals whatever is still
unsealed, then inserts its own entries already sealed. That saves a second write transaction
per commit: on a quiet machine it was the faster choice unless many writers share one chain
(docs/benchmarks.md). ``after-commit`` turns the batches on; ``auto`` does so on PostgreSQL
only, since SQLite's single write lock serialises writers anyway. See ``seal_after_commit``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from madoguchi.audit.hashing import GENESIS_HASH, entry_hash, newest_key_id
from madoguchi.audit.models import AuditChainHead, AuditEntry
from madoguchi.core.prepared import PreparedValues

logger = logging.getLogger(__name__)

__all__ = [
    "SEAL_BATCH",
    "audit_insert_sealed",
    "audit_seal",
    "audit_seal_all",
    "audit_seal_soon",
    "seal_after_commit",
    "unsealed_chains",
]

SEAL_BATCH = 500
# How many times one sealer looks again for entries committed while it held the lock.
_ROUNDS = 20


def seal_after_commit() -> bool:
    """Whether entries are sealed after the writer's commit (else inside its transaction)."""
    mode: str = settings.AUDIT_SEAL
    if mode == "auto":
        return connection.vendor != "sqlite"
    return mode == "after-commit"


def unsealed_chains() -> list[str]:
    """The chains that hold committed entries not yet sealed."""
    return sorted(
        AuditEntry.objects.filter(sealed_at__isnull=True)
        .values_list("chain", flat=True)
        .distinct()
        .order_by()
    )


def _link(head: AuditChainHead, entries: Sequence[AuditEntry], now: datetime.datetime) -> None:
    """Give the entries the chain's next places after the head, and move the head past them."""
    seq, prev_hash = head.last_seq, head.last_hash
    key_id = newest_key_id()
    for entry in entries:
        seq += 1
        entry.seq, entry.prev_hash, entry.key_id, entry.sealed_at = seq, prev_hash, key_id, now
        entry.hash = prev_hash = entry_hash(entry)
    head.last_seq, head.last_hash = seq, prev_hash


def _seal_batch(head: AuditChainHead) -> list[AuditEntry]:
    """Seal up to SEAL_BATCH of the chain's unsealed entries; the head is locked by the caller."""
    entries = list(
        AuditEntry.objects.filter(chain=head.chain, sealed_at__isnull=True).order_by("id")[
            :SEAL_BATCH
        ]
    )
    if not entries:
        return entries
    now = timezone.now()
    _link(head, entries, now)
    stored_now = connection.ops.adapt_datetimefield_value(now)
    rows = [
        (entry.seq, entry.prev_hash, entry.hash, entry.key_id, stored_now, entry.pk)
        for entry in entries
    ]
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        # The one update an audit entry ever receives, and only while it is unsealed: the
        # ORM refuses every update (AuditEntryQuerySet), so this is the only path that writes.
        cursor.executemany(
            f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s, key_id = %s,"  # noqa: S608
            " sealed_at = %s WHERE id = %s AND sealed_at IS NULL",
            rows,
        )
    _head_move(head)
    return entries


# The head of the chain, locked (waiting for the lock): taken by every in-transaction writer.
_HEAD_LOCKED = PreparedValues(
    "audit_head_locked",
    lambda chain: (
        AuditChainHead.objects.select_for_update()
        .filter(chain=chain)
        .values_list("pk", "last_seq", "last_hash")[:1]
    ),
    chain=str,
)


def _locked_head(chain: str, *, wait: bool) -> AuditChainHead | None:
    """The chain's head row, locked; None if there is none (or, without ``wait``, if another
    sealer holds it)."""
    if not wait:
        return (
            AuditChainHead.objects.select_for_update(skip_locked=True).filter(chain=chain).first()
        )
    row = _HEAD_LOCKED.first(chain=chain)
    if row is None:
        return None
    pk, last_seq, last_hash = row
    return AuditChainHead.from_db(
        connection.alias, ["id", "chain", "last_seq", "last_hash"], [pk, chain, last_seq, last_hash]
    )


def _head_move(head: AuditChainHead) -> None:
    """Record the head's new last entry (the head is locked by the caller)."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = %s, last_hash = %s WHERE id = %s",  # noqa: S608
            [head.last_seq, head.last_hash, head.pk],
        )


def _lock_head(chain: str, *, wait: bool) -> AuditChainHead | None:
    """The chain's head, locked; None when another sealer holds it and ``wait`` is false."""
    head = _locked_head(chain, wait=wait)
    # Without the lock held by another (waiting), no row means the chain has no head yet, even
    # if one was committed since. Without waiting, it may mean another sealer holds the head.
    if head is None and (wait or not AuditChainHead.objects.filter(chain=chain).exists()):
        # The chain's first seal. Two sealers creating it at once: one of them waits here
        # on the unique row and then finds it (get_or_create), then locks it.
        AuditChainHead.objects.get_or_create(chain=chain, defaults={"last_hash": GENESIS_HASH})
        head = _locked_head(chain, wait=wait)
    return head


def _seal_locked(chain: str, *, wait: bool) -> list[AuditEntry] | None:
    """Lock the head and seal every unsealed entry of the chain (in batches); None if busy."""
    sealed: list[AuditEntry] = []
    # No savepoint inside the writer's transaction: an error there fails the writer anyway.
    with transaction.atomic(savepoint=False):
        head = _lock_head(chain, wait=wait)
        if head is None:
            return None
        while batch := _seal_batch(head):
            sealed += batch
            if len(batch) < SEAL_BATCH:
                break
    return sealed


def audit_seal(chain: str, *, wait: bool = False) -> list[AuditEntry]:
    """Seal the chain's committed unsealed entries; returns those this call sealed.

    Inside a transaction (the in-transaction mode, or a caller that wants entries sealed
    before it reads them) the entries it can see are sealed there. Otherwise each round is its
    own transaction, and the sealer looks again after each commit for entries committed while
    it held the lock. Without ``wait``, a sealer that finds the head locked by another returns
    at once: the one holding it looks again after its commit.
    """
    if connection.in_atomic_block:
        return _seal_locked(chain, wait=True) or []
    sealed: list[AuditEntry] = []
    for _round in range(_ROUNDS):
        if not AuditEntry.objects.filter(chain=chain, sealed_at__isnull=True).exists():
            break
        done = _seal_locked(chain, wait=wait)
        if not done:
            break
        sealed += done
    return sealed


def audit_seal_all(*, chains: Iterable[str] | None = None) -> int:
    """Seal every chain's unsealed entries, waiting for each head (the task worker's sweep)."""
    total = 0
    for chain in unsealed_chains() if chains is None else chains:
        total += len(audit_seal(chain, wait=True))
    return total


def _seal_committed(chain: str) -> None:
    try:
        audit_seal(chain)
    except Exception:  # the entries are committed; the task worker's sweep seals them
        logger.warning("could not seal the audit chain %s; the sweep will", chain, exc_info=True)


_UNSEALED = PreparedValues(
    "audit_unsealed",
    lambda chain: (
        AuditEntry.objects.filter(chain=chain, sealed_at__isnull=True)
        .order_by()
        .values_list("pk")[:1]
    ),
    chain=str,
)


def audit_insert_sealed(chain: str, entries: Sequence[AuditEntry]) -> None:
    """Insert new entries already sealed, inside the caller's transaction (in-transaction mode).

    The chain's head is locked; entries still unsealed (written in after-commit mode, or left by
    a process that died) are sealed first, so that the new ones follow them. Saves the update of
    each new entry that inserting it unsealed and sealing it at once would cost.
    """
    with transaction.atomic(savepoint=False):
        head = _lock_head(chain, wait=True)
        assert head is not None  # waited for, and made if missing
        if _UNSEALED.first(chain=chain) is not None:
            while len(_seal_batch(head)) == SEAL_BATCH:
                pass
        _link(head, entries, timezone.now())
        if len(entries) == 1:
            entries[0].save()
        else:
            AuditEntry.objects.bulk_create(entries)
        _head_move(head)


def audit_seal_soon(chain: str) -> None:
    """Seal the chain's new entries right after the current transaction commits (after-commit
    mode; the task workers' sweep seals them if this process dies first)."""
    transaction.on_commit(lambda: _seal_committed(chain), robust=True)
