"""Tests for the hash chain of madoguchi.audit: appending, append-only, ``audit verify``."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from madoguchi.audit.hashing import GENESIS_HASH, entry_hash
from madoguchi.audit.models import PLATFORM_CHAIN, AppendOnlyError, AuditChainHead, AuditEntry
from madoguchi.audit.services import AuditActor, audit_access, audit_event
from madoguchi.tenants.models import Municipality
from tests.isolation import snapshot
from tests.tenants.factories import MunicipalityFactory

ACTOR = AuditActor(label="tester", ip="192.0.2.1")


@pytest.fixture
def kobe(db: None) -> Municipality:
    return MunicipalityFactory(code="281000", name="神戸市", slug="kobe")


@pytest.fixture
def sayo(db: None) -> Municipality:
    return MunicipalityFactory(code="285013", name="佐用町", slug="sayo")


def record(municipality: Municipality | None, action: str, **data: Any) -> AuditEntry:
    return audit_event(municipality=municipality, action=action, actor=ACTOR, data=data)


def chain_rows(chain: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(chain=chain).order_by("seq"))


def audit_state() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return snapshot(AuditEntry.objects.all()), snapshot(AuditChainHead.objects.all())


def verify(*args: str) -> tuple[str, CommandError | None]:
    """Run ``audit verify``; return its output and the CommandError it raised, if any."""
    out = StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def raw_sql(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def three_chains(kobe: Municipality, sayo: Municipality) -> dict[str, list[AuditEntry]]:
    """神戸市 with 4 entries, 佐用町 with 2 and the platform with 1, appended interleaved."""
    record(kobe, "case.create", n=1)
    record(sayo, "case.create", n=1)
    record(kobe, "case.update", n=2)
    record(None, "municipality.load", n=1)
    record(kobe, "case.update", n=3)
    record(sayo, "case.close", n=2)
    record(kobe, "case.close", n=4)
    return {chain: chain_rows(chain) for chain in ("281000", "285013", PLATFORM_CHAIN)}


# --- the chain -------------------------------------------------------------------------------


def test_entries_of_a_municipality_form_a_chain(
    three_chains: dict[str, list[AuditEntry]],
) -> None:
    """Seqs run 1..n, the first entry links to the genesis hash, each later to its predecessor."""
    entries = three_chains["281000"]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [e.action for e in entries] == [
        "case.create",
        "case.update",
        "case.update",
        "case.close",
    ]
    assert entries[0].prev_hash == GENESIS_HASH == "0" * 64
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert [e.hash for e in entries] == [entry_hash(e) for e in entries]
    assert len({e.hash for e in entries}) == 4
    head = AuditChainHead.objects.get(chain="281000")
    assert (head.last_seq, head.last_hash) == (4, entries[-1].hash)


def test_chains_of_two_municipalities_are_independent(
    three_chains: dict[str, list[AuditEntry]], kobe: Municipality, sayo: Municipality
) -> None:
    """佐用町's entries have their own seqs and links, however they interleave with 神戸市's."""
    entries = three_chains["285013"]
    assert [(e.seq, e.action, e.data) for e in entries] == [
        (1, "case.create", {"n": 1}),
        (2, "case.close", {"n": 2}),
    ]
    assert entries[0].prev_hash == GENESIS_HASH
    assert entries[1].prev_hash == entries[0].hash
    assert {e.municipality_id for e in entries} == {sayo.pk}
    assert {e.municipality_id for e in three_chains["281000"]} == {kobe.pk}


def test_entries_without_a_municipality_go_to_the_platform_chain(
    three_chains: dict[str, list[AuditEntry]],
) -> None:
    """An operator's action outside any municipality starts the ``platform`` chain."""
    [entry] = three_chains[PLATFORM_CHAIN]
    assert (entry.chain, entry.seq, entry.municipality_id) == ("platform", 1, None)
    assert (entry.action, entry.actor_label, entry.ip) == (
        "municipality.load",
        "tester",
        "192.0.2.1",
    )
    assert entry.prev_hash == GENESIS_HASH


def test_access_entries_share_the_chain_of_events(kobe: Municipality) -> None:
    """A record of who looked at personal data is linked into the same chain as events."""
    first = record(kobe, "case.create")
    access = audit_access(
        municipality=kobe, actor=ACTOR, purpose="本人確認", object_type="case", object_id="42"
    )
    assert (access.seq, access.kind, access.action, access.purpose) == (
        2,
        "access",
        "view",
        "本人確認",
    )
    assert (access.object_type, access.object_id, access.prev_hash) == ("case", "42", first.hash)


def test_twenty_events_appended_in_a_row_get_consecutive_seqs(kobe: Municipality) -> None:
    """No seq is skipped or repeated when entries are appended one after the other."""
    for n in range(20):
        record(kobe, "case.update", n=n)
    entries = chain_rows("281000")
    assert [e.seq for e in entries] == list(range(1, 21))
    assert [e.data["n"] for e in entries] == list(range(20))
    assert AuditChainHead.objects.get(chain="281000").last_seq == 20
    assert verify("--municipality", "281000") == ("chain 281000: ok (20 entries)\n", None)


# --- append-only through the ORM -------------------------------------------------------------


def _save_changed(entry: AuditEntry) -> None:
    entry.action = "case.forged"
    entry.save()


APPEND_ONLY_VIOLATIONS = {
    "instance save": _save_changed,
    "instance delete": lambda entry: entry.delete(),
    "queryset update": lambda entry: AuditEntry.objects.filter(pk=entry.pk).update(action="x"),
    "queryset delete": lambda entry: AuditEntry.objects.filter(pk=entry.pk).delete(),
    "manager update": lambda entry: AuditEntry.objects.update(action="x"),
    "manager delete": lambda entry: AuditEntry.objects.all().delete(),
    "bulk_update": lambda entry: AuditEntry.objects.bulk_update([entry], ["action"]),
}


@pytest.mark.parametrize("violation", APPEND_ONLY_VIOLATIONS.values(), ids=APPEND_ONLY_VIOLATIONS)
def test_entries_cannot_be_changed_or_deleted_through_the_orm(
    kobe: Municipality, violation: Any
) -> None:
    """Every ORM path that would rewrite or remove an entry raises and leaves the log as it was."""
    record(kobe, "case.create")
    entry = record(kobe, "case.update")
    before = audit_state()
    with pytest.raises(AppendOnlyError):
        violation(entry)
    assert audit_state() == before


def test_a_new_instance_with_an_existing_pk_cannot_overwrite_an_entry(kobe: Municipality) -> None:
    """Saving a fresh AuditEntry that reuses an entry's id is refused; the entry is unchanged.

    Django would otherwise run an UPDATE for an instance whose pk is set (Model._do_update uses
    QuerySet._update, which the append-only queryset does not cover).
    """
    entry = record(kobe, "case.create")
    before = audit_state()
    forged = AuditEntry(
        pk=entry.pk,
        chain=entry.chain,
        seq=entry.seq,
        municipality=kobe,
        kind=entry.kind,
        action="case.forged",
        data={},
        created_at=entry.created_at,
        prev_hash=entry.prev_hash,
    )
    forged.hash = entry_hash(forged)
    with pytest.raises(AppendOnlyError):
        forged.save()
    assert audit_state() == before


# --- madoguchi audit verify ------------------------------------------------------------------


def test_verify_passes_on_untouched_chains(three_chains: dict[str, list[AuditEntry]]) -> None:
    """Every chain is listed as ok with its number of entries, platform last."""
    output, error = verify()
    assert error is None
    assert output.splitlines() == [
        "chain 281000: ok (4 entries)",
        "chain 285013: ok (2 entries)",
        "chain platform: ok (1 entries)",
    ]


def test_verify_without_entries_says_so(db: None) -> None:
    """An empty log is reported as such, not as an error."""
    assert verify() == ("no audit entries yet\n", None)


TAMPERING = {
    "action": ("UPDATE audit_auditentry SET action = %s WHERE id = %s", "case.delete"),
    "data": ("UPDATE audit_auditentry SET data = %s WHERE id = %s", json.dumps({"n": 99})),
    "actor_label": ("UPDATE audit_auditentry SET actor_label = %s WHERE id = %s", "someone"),
}


@pytest.mark.parametrize(("sql", "value"), TAMPERING.values(), ids=TAMPERING)
def test_verify_names_an_entry_changed_with_raw_sql(
    three_chains: dict[str, list[AuditEntry]], sql: str, value: str
) -> None:
    """The altered entry is named by chain, seq and id; the other chains still pass."""
    target = three_chains["281000"][1]
    raw_sql(sql, [value, target.pk])

    output, error = verify()

    assert str(error) == "1 of 3 chain(s) failed verification"
    assert output.splitlines() == [
        f"chain 281000: BROKEN at entry #2 (id {target.pk}): "
        "content does not match its hash (the entry was altered)",
        "chain 285013: ok (2 entries)",
        "chain platform: ok (1 entries)",
    ]


def test_verify_detects_a_deleted_middle_entry(
    three_chains: dict[str, list[AuditEntry]],
) -> None:
    """Removing entry #2 leaves a gap that is reported at the entry after it."""
    removed, after = three_chains["281000"][1], three_chains["281000"][2]
    raw_sql("DELETE FROM audit_auditentry WHERE id = %s", [removed.pk])

    output, error = verify("--municipality", "281000")

    assert str(error) == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 281000: BROKEN at entry #3 (id {after.pk}): sequence gap: expected #2, found #3\n"
    )


def test_verify_detects_a_deleted_last_entry(three_chains: dict[str, list[AuditEntry]]) -> None:
    """Removing the newest entry no longer matches the chain head."""
    last = three_chains["281000"][-1]
    raw_sql("DELETE FROM audit_auditentry WHERE id = %s", [last.pk])

    output, error = verify("--municipality", "281000")

    assert str(error) == "1 of 1 chain(s) failed verification"
    assert output == (
        "chain 281000: BROKEN at entry #4: chain ends at #3 but its head records #4"
        " (entries were removed from the end)\n"
    )


def _rewrite_with_valid_hash(entry: AuditEntry, action: str) -> None:
    """What an attacker with database access does: change an entry and recompute its hash."""
    entry.action = action
    raw_sql(
        "UPDATE audit_auditentry SET action = %s, hash = %s WHERE id = %s",
        [action, entry_hash(entry), entry.pk],
    )


def test_verify_detects_an_entry_rewritten_with_a_recomputed_hash(
    three_chains: dict[str, list[AuditEntry]],
) -> None:
    """The rewritten entry hashes correctly, but the next entry's link to it no longer matches."""
    rewritten, after = three_chains["281000"][1], three_chains["281000"][2]
    _rewrite_with_valid_hash(rewritten, "case.delete")

    output, error = verify("--municipality", "281000")

    assert str(error) == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 281000: BROKEN at entry #3 (id {after.pk}): "
        "previous-hash link does not match the entry before\n"
    )


def test_verify_names_a_rewritten_last_entry(three_chains: dict[str, list[AuditEntry]]) -> None:
    """With no entry after it, a rewritten newest entry is caught by the chain head's hash."""
    last = three_chains["281000"][-1]
    _rewrite_with_valid_hash(last, "case.delete")

    output, error = verify("--municipality", "281000")

    assert str(error) == "1 of 1 chain(s) failed verification"
    assert output == (
        f"chain 281000: BROKEN at entry #4 (id {last.pk}): the last entry does not match the "
        "hash its chain head recorded (the entry was rewritten)\n"
    )


def test_verify_of_one_municipality_checks_only_its_chain(
    three_chains: dict[str, list[AuditEntry]],
) -> None:
    """``--municipality 281000`` passes although 佐用町's chain is broken."""
    raw_sql(
        "UPDATE audit_auditentry SET action = %s WHERE id = %s",
        ["case.delete", three_chains["285013"][0].pk],
    )
    assert verify("--municipality", "281000") == ("chain 281000: ok (4 entries)\n", None)
    output, error = verify("--municipality", "285013")
    assert error is not None
    assert output.startswith("chain 285013: BROKEN at entry #1 ")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "281001",
            "--municipality: 全国地方公共団体コードが正しくありません。"
            "入力内容を確認してください。",
        ),
        ("abc", "--municipality: 全国地方公共団体コードは6桁の数字で入力してください。"),
    ],
)
def test_verify_refuses_a_malformed_municipality_code(
    three_chains: dict[str, list[AuditEntry]], code: str, message: str
) -> None:
    """A code with a wrong check digit or not of digits is refused before anything is read."""
    before = audit_state()
    output, error = verify("--municipality", code)
    assert (output, str(error)) == ("", message)
    assert audit_state() == before


def test_many_accesses_are_appended_in_order_as_one_valid_chain(kobe: Municipality) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from madoguchi.audit.selectors import audit_chain_verify
    from madoguchi.audit.services import audit_access_many

    before = record(kobe, "before")
    targets = [MunicipalityFactory(code=f"2{i:04d}0", slug=f"t{i}") for i in range(5)]
    with CaptureQueriesContext(connection) as queries:
        entries = audit_access_many(
            municipality=kobe, purpose="一覧", accesses=[(ACTOR, t) for t in targets], action="list"
        )
    rows = chain_rows(kobe.audit_chain_key)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[1].prev_hash == before.hash
    assert [(r.kind, r.action, r.object_id, r.purpose) for r in rows[1:]] == [
        ("access", "list", str(t.pk), "一覧") for t in targets
    ]
    assert [e.hash for e in entries] == [r.hash for r in rows[1:]]
    assert audit_chain_verify(kobe.audit_chain_key).ok
    assert len(queries) <= 8  # not one append per record
    assert AuditChainHead.objects.get(chain=kobe.audit_chain_key).last_hash == rows[-1].hash
