"""``audit verify`` detects what someone with write access to the database does to the log.

The attacker here can run any SQL but holds neither MADOGUCHI_AUDIT_KEYS nor the checkpoints
already written outside the database. Each attack passed ``audit verify`` when entries were
chained with a plain SHA-256 and no checkpoints existed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from madoguchi.audit.models import PLATFORM_CHAIN, AuditChainHead, AuditEntry
from madoguchi.audit.selectors import audit_chain_verify
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.tenants.models import Municipality
from tests.tenants.factories import MunicipalityFactory

ACTOR = AuditActor(label="tester", ip="192.0.2.1")


@pytest.fixture
def kobe(db: None) -> Municipality:
    return MunicipalityFactory(code="281000", name="神戸市", slug="kobe")


@pytest.fixture
def sayo(db: None) -> Municipality:
    return MunicipalityFactory(code="285013", name="佐用町", slug="sayo")


@pytest.fixture
def checkpoint_dir(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_DIR = str(folder)
    settings.AUDIT_CHECKPOINT_EMAIL = []
    return folder


@pytest.fixture
def chains(kobe: Municipality, sayo: Municipality) -> None:
    """神戸市 with 5 entries, 佐用町 with 2, the platform with 1."""
    for n in range(1, 6):
        audit_event(municipality=kobe, action="case.update", actor=ACTOR, data={"n": n})
    for n in range(1, 3):
        audit_event(municipality=sayo, action="case.update", actor=ACTOR, data={"n": n})
    audit_event(municipality=None, action="municipality.load", actor=ACTOR)


def run(*args: str) -> tuple[str, str | None]:
    """Run ``madoguchi audit ...``; return its output and its error message, if any."""
    out = StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def checkpoint_time(folder: Path) -> str:
    [file] = folder.glob("*.jsonl")
    times = {json.loads(line)["time"] for line in file.read_text().splitlines()}
    assert len(times) == 1
    return times.pop()


def sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def plain_sha256(entry: AuditEntry) -> str:
    """The published hash of an entry without a key: what anyone can compute."""
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
        "created_at": entry.created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        "prev_hash": entry.prev_hash,
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rewrite_and_rehash(chain: str, seq: int, action: str, *, drop_key_id: bool) -> None:
    """Change entry ``seq``'s action and recompute its hash and every later one, and the head.

    With ``drop_key_id`` the rewritten entries are also marked as written before keyed hashes,
    so that their plain SHA-256 is what a verifier would expect.
    """
    entries = list(AuditEntry.objects.filter(chain=chain, seq__gte=seq).order_by("seq"))
    prev = entries[0].prev_hash
    for entry in entries:
        if entry.seq == seq:
            entry.action = action
        entry.prev_hash = prev
        if drop_key_id:
            sql("UPDATE audit_auditentry SET key_id = '' WHERE id = %s", [entry.pk])
        entry.hash = plain_sha256(entry)
        sql(
            "UPDATE audit_auditentry SET action = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.action, entry.prev_hash, entry.hash, entry.pk],
        )
        prev = entry.hash
    sql("UPDATE audit_auditchainhead SET last_hash = %s WHERE chain = %s", [prev, chain])


def delete_tail(chain: str, keep: int) -> None:
    """Delete every entry after #``keep`` and set the chain head to #``keep``."""
    last = AuditEntry.objects.get(chain=chain, seq=keep)
    sql("DELETE FROM audit_auditentry WHERE chain = %s AND seq > %s", [chain, keep])
    sql(
        "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE chain = %s",
        [keep, last.hash, chain],
    )


def delete_chain(chain: str) -> None:
    sql("DELETE FROM audit_auditentry WHERE chain = %s", [chain])
    sql("DELETE FROM audit_auditchainhead WHERE chain = %s", [chain])


# --- without the key, rewriting an entry is caught by the hashes alone -------------------------


@pytest.mark.usefixtures("chains")
def test_a_middle_entry_rewritten_with_recomputed_plain_hashes_is_detected() -> None:
    """#2 changed and #2..#5 re-hashed with SHA-256 (the key unknown): #2 is named."""
    target = AuditEntry.objects.get(chain="281000", seq=2)
    rewrite_and_rehash("281000", 2, "case.delete", drop_key_id=False)

    output, error = run("verify")

    assert error == "1 of 3 chain(s) failed verification"
    assert output.splitlines()[0] == (
        f"chain 281000: BROKEN at entry #2 (id {target.pk}): "
        "content does not match its hash (the entry was altered)"
    )
    assert output.splitlines()[1:] == [
        "chain 285013: ok (2 entries)",
        "chain platform: ok (1 entries)",
    ]


@pytest.mark.usefixtures("chains")
def test_rewritten_entries_passed_off_as_written_before_keyed_hashes_are_detected() -> None:
    """Marking the rewritten entries as unkeyed (legacy) does not help: #1 is keyed."""
    target = AuditEntry.objects.get(chain="281000", seq=3)
    rewrite_and_rehash("281000", 3, "case.delete", drop_key_id=True)

    output, error = run("verify", "--municipality", "281000")

    assert error == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 281000: BROKEN at entry #3 (id {target.pk}): hashed without a key although #1"
        " and later entries are keyed (the entry was rewritten and its hash recomputed)\n"
    )


# --- with checkpoints outside the database -----------------------------------------------------


@pytest.mark.usefixtures("chains")
def test_deleting_the_tail_together_with_the_chain_head_is_detected(checkpoint_dir: Path) -> None:
    """#4 and #5 removed and the head moved to #3: the checkpoint still names #5."""
    assert run("checkpoint")[1] is None
    time = checkpoint_time(checkpoint_dir)
    delete_tail("281000", keep=3)

    output, error = run("verify")

    assert error == "1 of 3 chain(s) failed verification"
    assert output.splitlines() == [
        f"chain 281000: BROKEN at entry #4: chain ends at #3 but the checkpoint of {time}"
        " recorded #5 (entries were removed from the end)",
        f"chain 285013: ok (2 entries), proven up to the checkpoint of {time} (#2)",
        f"chain platform: ok (1 entries), proven up to the checkpoint of {time} (#1)",
        f"checkpoints: 3 read from 1 file(s) at {checkpoint_dir}",
    ]


@pytest.mark.usefixtures("chains")
def test_deleting_a_whole_chain_is_detected(checkpoint_dir: Path) -> None:
    """佐用町's entries and head are gone from the database; its checkpoint still names it."""
    assert run("checkpoint")[1] is None
    time = checkpoint_time(checkpoint_dir)
    delete_chain("285013")

    output, error = run("verify")

    assert error == "1 of 3 chain(s) failed verification"
    assert output.splitlines()[1] == (
        f"chain 285013: MISSING: the chain is missing from the database: the checkpoint of"
        f" {time} recorded 2 entries up to #2 (the chain was deleted)"
    )
    assert output.splitlines()[0].startswith("chain 281000: ok (5 entries), proven up to")


@pytest.mark.usefixtures("chains")
def test_deleting_the_platform_chain_is_detected(checkpoint_dir: Path) -> None:
    """The operators' chain is covered like a municipality's."""
    assert run("checkpoint")[1] is None
    delete_chain(PLATFORM_CHAIN)

    output, error = run("verify")

    assert error == "1 of 3 chain(s) failed verification"
    assert output.splitlines()[2].startswith("chain platform: MISSING: ")


@pytest.mark.usefixtures("chains")
def test_a_whole_chain_rewritten_without_a_key_is_caught_by_the_checkpoint(
    checkpoint_dir: Path,
) -> None:
    """Every entry re-hashed as unkeyed from #1 passes the hash walk, not the checkpoint."""
    assert run("checkpoint")[1] is None
    time = checkpoint_time(checkpoint_dir)
    last = AuditEntry.objects.get(chain="281000", seq=5)
    rewrite_and_rehash("281000", 1, "case.delete", drop_key_id=True)

    output, error = run("verify", "--municipality", "281000")

    assert error == "1 of 1 chain(s) failed verification"
    assert output.splitlines()[0] == (
        f"chain 281000: BROKEN at entry #5 (id {last.pk}): hash differs from the checkpoint of"
        f" {time} (#5): this entry or one before it was rewritten and the hashes recomputed"
    )


@pytest.mark.usefixtures("chains")
def test_an_entry_rewritten_by_someone_holding_the_key_is_caught_by_the_checkpoint(
    checkpoint_dir: Path,
) -> None:
    """Even with the HMAC key, rewriting #2 changes #5's hash, which the checkpoint signed."""
    from madoguchi.audit.hashing import entry_hash

    assert run("checkpoint")[1] is None
    time = checkpoint_time(checkpoint_dir)
    entries = list(AuditEntry.objects.filter(chain="281000", seq__gte=2).order_by("seq"))
    prev = entries[0].prev_hash
    for entry in entries:
        entry.action = "case.delete" if entry.seq == 2 else entry.action
        entry.prev_hash = prev
        entry.hash = entry_hash(entry)
        sql(
            "UPDATE audit_auditentry SET action = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.action, entry.prev_hash, entry.hash, entry.pk],
        )
        prev = entry.hash
    sql("UPDATE audit_auditchainhead SET last_hash = %s WHERE chain = '281000'", [prev])

    output, error = run("verify", "--municipality", "281000")

    assert error == "1 of 1 chain(s) failed verification"
    assert output.splitlines()[0] == (
        f"chain 281000: BROKEN at entry #5 (id {entries[-1].pk}): hash differs from the"
        f" checkpoint of {time} (#5): this entry or one before it was rewritten and the hashes"
        " recomputed"
    )


@pytest.mark.usefixtures("chains")
def test_untouched_chains_are_proven_up_to_their_checkpoint(checkpoint_dir: Path) -> None:
    """Without tampering every chain is ok, and newer entries are counted as not yet covered."""
    assert run("checkpoint")[1] is None
    time = checkpoint_time(checkpoint_dir)
    audit_event(
        municipality=Municipality.objects.get(code="281000"), action="case.close", actor=ACTOR
    )

    output, error = run("verify")

    assert error is None
    assert output.splitlines() == [
        f"chain 281000: ok (6 entries), proven up to the checkpoint of {time} (#5);"
        " 1 newer entries not yet in a checkpoint",
        f"chain 285013: ok (2 entries), proven up to the checkpoint of {time} (#2)",
        f"chain platform: ok (1 entries), proven up to the checkpoint of {time} (#1)",
        f"checkpoints: 3 read from 1 file(s) at {checkpoint_dir}",
    ]
    assert AuditChainHead.objects.get(chain="281000").last_seq == 6


@pytest.mark.usefixtures("chains")
def test_an_entry_inserted_beyond_the_chain_head_is_detected() -> None:
    """A row past the head, which no append is writing, is named even with a valid link."""
    last = AuditEntry.objects.get(chain="285013", seq=2)
    forged = AuditEntry(
        chain="285013",
        seq=3,
        municipality_id=last.municipality_id,
        kind="event",
        action="case.create",
        actor_label="tester",
        data={},
        created_at=last.created_at,
        prev_hash=last.hash,
    )
    forged.hash = plain_sha256(forged)
    forged.save()

    output, error = run("verify", "--municipality", "285013")

    assert error == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 285013: BROKEN at entry #3 (id {forged.pk}): entry lies beyond the chain head #2"
        " (it was inserted)\n"
    )


@pytest.mark.django_db(transaction=True)
def test_a_chain_appended_to_while_it_is_verified_is_not_reported_as_tampered() -> None:
    """The walk stops at the head read before it: live appends are left for the next run."""
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    audit_event(municipality=kobe, action="case.create", actor=ACTOR)
    done = threading.Event()
    errors: list[BaseException] = []

    def append() -> None:
        try:
            for n in range(150):
                audit_event(municipality=kobe, action="case.update", actor=ACTOR, data={"n": n})
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            done.set()
            connections.close_all()

    writer = threading.Thread(target=append)
    writer.start()
    reports = []
    while not done.is_set():
        reports.append(audit_chain_verify("281000"))
    writer.join(10)

    assert errors == []
    assert len(reports) >= 2
    assert [(r.reason, r.ok) for r in reports if not r.ok] == []
    assert audit_chain_verify("281000").entries == 151
