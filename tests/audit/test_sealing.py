"""Entries inserted unsealed and sealed into the chain in batches (madoguchi.audit.sealing).

The tests that need the sealer to run after a real commit use ``transaction=True`` and
``MADOGUCHI_AUDIT_SEAL=after-commit`` (what ``auto`` picks on PostgreSQL; the default seals
inside the writer's transaction), so that they exercise the after-commit path on both engines.
"""

from __future__ import annotations

import datetime
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from madoguchi.audit.models import AppendOnlyError, AuditChainHead, AuditEntry
from madoguchi.audit.sealing import audit_seal, audit_seal_all, unsealed_chains
from madoguchi.audit.selectors import audit_chain_verify
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.management.commands.task_worker import audit_seal_sweep
from madoguchi.tenants.models import Municipality
from tests.isolation import snapshot
from tests.tenants.factories import MunicipalityFactory
from tests.test_settings import run_madoguchi

ACTOR = AuditActor(label="tester", ip="192.0.2.1")
AFTER_COMMIT = override_settings(AUDIT_SEAL="after-commit")
WRITERS = 16
PER_WRITER = 8


class WriterCrashedError(Exception):
    """Stands for a process that died right after its commit."""


def verify(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def raw_sql(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def record(municipality: Municipality, action: str, **data: Any) -> AuditEntry:
    return audit_event(municipality=municipality, action=action, actor=ACTOR, data=data)


def committed_then_crashed(municipality: Municipality, action: str) -> int:
    """Write an entry in a transaction that commits, then die before the sealer runs.

    The crash is an on_commit callback registered before the entry's, that raises: Django
    runs the callbacks in order and drops the rest when one raises, as a process killed
    right after its commit would never have run them.
    """

    def crash() -> None:
        raise WriterCrashedError

    written: list[AuditEntry] = []

    def write() -> None:
        with transaction.atomic():
            transaction.on_commit(crash)
            written.append(record(municipality, action))

    with pytest.raises(WriterCrashedError):
        write()
    return written[0].pk


@pytest.fixture
def kobe(db: None) -> Municipality:
    return MunicipalityFactory(code="281000", name="神戸市", slug="kobe")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["in-transaction", "auto", "after-commit"])
def test_sixteen_concurrent_writers_in_one_municipality_all_land_sealed_and_verify_ok(
    mode: str,
) -> None:
    """16 threads (one connection each) append to one chain at once; nothing is lost.

    "in-transaction" (the default) seals inside each writer's transaction. On PostgreSQL "auto"
    and "after-commit" seal after commit (the writers never lock the chain head); on SQLite
    "auto" seals inside the writer's transaction and "after-commit" after it.
    """
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    start = threading.Barrier(WRITERS)
    errors: list[str] = []

    def writer(index: int) -> None:
        try:
            start.wait(30)
            for n in range(PER_WRITER):
                with transaction.atomic():
                    record(kobe, "test.concurrent", writer=index, n=n)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connections.close_all()

    with override_settings(AUDIT_SEAL=mode):
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

    assert errors == []
    entries = list(AuditEntry.objects.filter(chain=kobe.audit_chain_key).order_by("seq"))
    assert len(entries) == WRITERS * PER_WRITER
    assert all(entry.sealed_at is not None for entry in entries)
    assert [entry.seq for entry in entries] == list(range(1, WRITERS * PER_WRITER + 1))
    written = {(entry.data["writer"], entry.data["n"]) for entry in entries}
    assert written == {(w, n) for w in range(WRITERS) for n in range(PER_WRITER)}
    head = AuditChainHead.objects.get(chain=kobe.audit_chain_key)
    assert (head.last_seq, head.last_hash) == (entries[-1].seq, entries[-1].hash)
    report = audit_chain_verify(kobe.audit_chain_key)
    assert report.ok, report.reason
    assert (report.entries, report.unsealed) == (WRITERS * PER_WRITER, 0)
    out, error = verify()
    assert error is None, out
    assert f"chain 281000: ok ({WRITERS * PER_WRITER} entries)" in out


@pytest.mark.django_db(transaction=True)
@AFTER_COMMIT
def test_entries_are_inserted_unsealed_and_sealed_right_after_the_commit() -> None:
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    with transaction.atomic():
        first = record(kobe, "test.one")
        second = record(kobe, "test.two")
        # inside the writer's transaction the entries wait, without a place in the chain
        rows = AuditEntry.objects.filter(pk__in=[first.pk, second.pk]).order_by("id")
        assert [(e.seq, e.hash, e.sealed_at) for e in rows] == [(None, "", None)] * 2
        assert not AuditChainHead.objects.filter(chain="281000").exists()
    rows = AuditEntry.objects.filter(pk__in=[first.pk, second.pk]).order_by("id")
    assert [(e.seq, e.action) for e in rows] == [(1, "test.one"), (2, "test.two")]
    assert all(e.sealed_at is not None and len(e.hash) == 64 for e in rows)
    assert audit_chain_verify("281000").ok


@pytest.mark.django_db(transaction=True)
@AFTER_COMMIT
def test_verify_names_a_tampered_sealed_entry() -> None:
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    for action in ("test.a", "test.b", "test.c"):
        record(kobe, action)
    second = AuditEntry.objects.get(chain="281000", seq=2)
    raw_sql("UPDATE audit_auditentry SET purpose = %s WHERE id = %s", ["改ざん", second.pk])
    out, error = verify()
    assert error is not None
    assert (
        f"chain 281000: BROKEN at entry #2 (id {second.pk}): content does not match its hash" in out
    )


@pytest.mark.django_db(transaction=True)
@AFTER_COMMIT
def test_verify_names_a_removed_sealed_entry() -> None:
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    for action in ("test.a", "test.b", "test.c"):
        record(kobe, action)
    raw_sql("DELETE FROM audit_auditentry WHERE chain = %s AND seq = 2", ["281000"])
    out, error = verify()
    assert error is not None
    assert "chain 281000: BROKEN at entry #3" in out
    assert "sequence gap: expected #2, found #3" in out


@pytest.mark.django_db(transaction=True)
@AFTER_COMMIT
@override_settings(AUDIT_UNSEALED_MAX_AGE=60)
def test_verify_fails_on_an_entry_left_unsealed_beyond_the_bound() -> None:
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    record(kobe, "test.sealed")
    young = committed_then_crashed(kobe, "test.young")

    # younger than the bound: waiting is normal, verify passes and says so
    out, error = verify()
    assert error is None, out
    assert "chain 281000: ok (1 entries, 1 more waiting to be sealed)" in out

    old = timezone.now() - datetime.timedelta(seconds=61)
    raw_sql("UPDATE audit_auditentry SET created_at = %s WHERE id = %s", [old, young])
    out, error = verify()
    assert error is not None
    assert "1 of 1 chain(s) failed verification" in str(error)
    assert f"chain 281000: BROKEN at unsealed entry (id {young}): not sealed into the chain" in out
    assert "longer than MADOGUCHI_AUDIT_UNSEALED_MAX_AGE (60 s)" in out


@pytest.mark.django_db(transaction=True)
@AFTER_COMMIT
def test_a_crash_between_commit_and_seal_is_sealed_by_the_task_workers_sweep() -> None:
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    sayo = MunicipalityFactory(code="285013", name="佐用町", slug="sayo")
    record(kobe, "test.before")
    lost = [committed_then_crashed(kobe, "test.lost"), committed_then_crashed(sayo, "test.lost")]

    assert list(AuditEntry.objects.filter(pk__in=lost, sealed_at__isnull=True)) != []
    assert AuditEntry.objects.filter(pk__in=lost, sealed_at__isnull=True).count() == 2
    assert unsealed_chains() == ["281000", "285013"]

    assert audit_seal_sweep() == 2

    assert unsealed_chains() == []
    assert [(e.chain, e.seq) for e in AuditEntry.objects.filter(pk__in=lost).order_by("id")] == [
        ("281000", 2),
        ("285013", 1),
    ]
    out, error = verify()
    assert error is None, out
    assert "chain 281000: ok (2 entries)" in out
    assert "chain 285013: ok (1 entries)" in out


@pytest.mark.django_db(transaction=True)
@AFTER_COMMIT
def test_the_seal_command_seals_what_is_left() -> None:
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    lost = committed_then_crashed(kobe, "test.lost")
    out = StringIO()
    call_command("audit", "seal", stdout=out)
    assert out.getvalue().strip() == "sealed 1 entries"
    assert AuditEntry.objects.get(pk=lost).seq == 1


@pytest.mark.django_db(transaction=True)
@AFTER_COMMIT
def test_sealing_twice_changes_nothing() -> None:
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    record(kobe, "test.a")
    committed_then_crashed(kobe, "test.b")
    assert [e.action for e in audit_seal("281000")] == ["test.b"]
    before = snapshot(AuditEntry.objects.all()), snapshot(AuditChainHead.objects.all())

    assert audit_seal("281000") == []
    assert audit_seal_all() == 0
    assert audit_seal_sweep() == 0

    after = snapshot(AuditEntry.objects.all()), snapshot(AuditChainHead.objects.all())
    assert after == before
    assert audit_chain_verify("281000").ok


@AFTER_COMMIT
def test_a_sealed_entry_cannot_be_updated_through_the_orm(kobe: Municipality) -> None:
    """The append-only guard: sealing is the one update; the ORM refuses every other."""
    entry = record(kobe, "test.a")
    [sealed] = audit_seal("281000")
    assert sealed.pk == entry.pk
    before = snapshot(AuditEntry.objects.all())
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(seq=None, sealed_at=None)
    with pytest.raises(AppendOnlyError):
        sealed.save()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_update([sealed], ["purpose"])
    unsealed = record(kobe, "test.b")
    with pytest.raises(AppendOnlyError):  # nor can an unsealed one be given a place by hand
        AuditEntry.objects.filter(pk=unsealed.pk).update(seq=2)
    assert snapshot(AuditEntry.objects.exclude(pk=unsealed.pk)) == before
    assert AuditEntry.objects.get(pk=unsealed.pk).seq is None


def test_in_transaction_mode_seals_before_the_writer_commits(kobe: Municipality) -> None:
    with override_settings(AUDIT_SEAL="in-transaction"):
        entry = record(kobe, "test.a")
    assert (entry.seq, entry.sealed_at is not None) == (1, True)
    assert AuditEntry.objects.get(pk=entry.pk).hash == entry.hash


@pytest.mark.django_db(transaction=True)
def test_an_in_transaction_writer_seals_what_was_left_unsealed_before_its_own_entries() -> None:
    """Entries an after-commit writer left unsealed (it died, or the mode was changed) come
    first: the next in-transaction writer seals them, then appends its own after them."""
    kobe = MunicipalityFactory(code="281000", name="神戸市", slug="kobe")
    with AFTER_COMMIT:
        record(kobe, "test.sealed")
        lost = [committed_then_crashed(kobe, "test.lost") for _ in range(2)]
    assert AuditEntry.objects.filter(pk__in=lost, sealed_at__isnull=True).count() == 2

    with override_settings(AUDIT_SEAL="in-transaction"), transaction.atomic():
        entry = record(kobe, "test.new")
        assert entry.seq == 4  # sealed before the commit, after the two left behind

    assert unsealed_chains() == []
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", "action")) == [
        (1, "test.sealed"),
        (2, "test.lost"),
        (3, "test.lost"),
        (4, "test.new"),
    ]
    head = AuditChainHead.objects.get(chain="281000")
    assert (head.last_seq, head.last_hash) == (4, entry.hash)
    out, error = verify()
    assert error is None, out
    assert "chain 281000: ok (4 entries)" in out


def test_a_head_made_by_another_writer_meanwhile_is_locked_not_missed(kobe: Municipality) -> None:
    """A chain's first entries: another writer makes the chain head just after this writer
    looked for it and found none. The writer must lock that head and seal, not go on without
    one (on PostgreSQL sixteen writers starting a chain together met this)."""
    reads: list[str] = []

    def head_made_meanwhile(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if sql.lstrip().startswith("SELECT") and AuditChainHead._meta.db_table in sql:
            reads.append(sql)
            if len(reads) == 2:  # after the look for the head to lock, before anything else
                AuditChainHead.objects.create(chain=kobe.audit_chain_key, last_hash="0" * 64)
        return result

    with override_settings(AUDIT_SEAL="in-transaction"), transaction.atomic():
        with connection.execute_wrapper(head_made_meanwhile):
            entry = record(kobe, "test.first")
        assert entry.seq == 1

    head = AuditChainHead.objects.get(chain=kobe.audit_chain_key)
    assert (head.last_seq, head.last_hash) == (1, entry.hash)
    assert audit_chain_verify(kobe.audit_chain_key).ok


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MADOGUCHI_AUDIT_SEAL": "later"},
            "MADOGUCHI_AUDIT_SEAL must be auto, after-commit or in-transaction, not 'later'",
        ),
        (
            {"MADOGUCHI_AUDIT_UNSEALED_MAX_AGE": "0"},
            "MADOGUCHI_AUDIT_SEAL_INTERVAL and MADOGUCHI_AUDIT_UNSEALED_MAX_AGE must be at least 1",
        ),
        (
            {"MADOGUCHI_AUDIT_SEAL_INTERVAL": "soon"},
            "MADOGUCHI_AUDIT_SEAL_INTERVAL must be an integer, got 'soon'",
        ),
    ],
)
def test_bad_sealing_settings_are_refused_with_a_reason(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = run_madoguchi("check", env={"MADOGUCHI_ENV": "test", **env}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
