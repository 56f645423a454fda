"""What a submission does while it holds the database's write lock (SQLite has one writer).

The duplicate check reads before the write transaction and looks again after commit; only
the rows of the submission itself (and a match, when there is one) are written under the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from madoguchi.audit.models import AuditEntry
from madoguchi.procedures import services
from madoguchi.procedures.models import Application, Attachment, DuplicateMatch, StateChange
from madoguchi.procedures.selectors import definition_of, procedure_get_published
from madoguchi.procedures.services import SubmitResult
from tests.isolation import Tenant
from tests.procedures.conftest import (
    attachment_new,
    kyufukin_submit,
    publish,
)


@contextmanager
def statements() -> Iterator[list[tuple[str, bool]]]:
    """Every statement run on the connection, with whether a transaction was open."""
    seen: list[tuple[str, bool]] = []

    def record(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        seen.append((sql, connection.in_atomic_block))
        return execute(sql, *args)

    with connection.execute_wrapper(record):
        yield seen


def transactions(seen: list[tuple[str, bool]]) -> int:
    """How many separate transactions ran statements."""
    return sum(1 for i, (_sql, inside) in enumerate(seen) if inside and not (i and seen[i - 1][1]))


def duplicate_reads(seen: list[tuple[str, bool]]) -> list[bool]:
    return [
        inside
        for sql, inside in seen
        if sql.lstrip().upper().startswith("SELECT")
        and "procedures_application" in sql
        and "person_index" in sql.split("WHERE", 1)[-1]
    ]


@pytest.mark.django_db(transaction=True)
def test_a_submission_is_one_write_transaction_and_checks_duplicates_outside_it(
    tenant_a: Tenant,
) -> None:
    version = publish(tenant_a.municipality)
    attachment = str(attachment_new(tenant_a.municipality).pk)
    with statements() as seen:
        result = kyufukin_submit(tenant_a.municipality, version, attachment)
    assert result.created
    assert transactions(seen) == 1
    if connection.vendor == "sqlite":
        # Before the lock only: nothing was stored between that look and the insert (the
        # application has the id right after the last one given out then), so it saw all.
        assert duplicate_reads(seen) == [False]
    else:
        # Before the lock and again after commit, both outside any transaction.
        assert duplicate_reads(seen) == [False, False]
    assert not DuplicateMatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_application_stored_between_the_look_and_the_insert_makes_it_look_again(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same person's other submission is stored after this one's first look (as by another
    process while this one waited for the lock): neither look saw the other, and on every
    engine this submission looks again after its commit and flags the pair."""
    version = publish(tenant_a.municipality)
    attachments = [str(attachment_new(tenant_a.municipality).pk) for _ in range(2)]
    candidates = services._duplicate_candidates
    others: list[SubmitResult] = []
    started = threading.Event()

    def another_submission_meanwhile(*args: Any, **kwargs: Any) -> list[tuple[str, int]]:
        found = candidates(*args, **kwargs)
        if not started.is_set():  # once, after this submission's first look
            started.set()
            others.append(kyufukin_submit(tenant_a.municipality, version, attachments[1]))
        return found

    monkeypatch.setattr(services, "_duplicate_candidates", another_submission_meanwhile)
    with statements() as seen:
        result = kyufukin_submit(tenant_a.municipality, version, attachments[0])
    [other] = others
    assert result.created
    assert other.created
    assert list(DuplicateMatch.objects.values_list("application_id", "other_id", "basis")) == [
        (result.application.pk, other.application.pk, "person")
    ]
    # The look that found it ran after this submission's insert, outside any transaction.
    inserts = [
        i for i, (sql, _) in enumerate(seen) if 'INSERT INTO "procedures_application"' in sql
    ]
    looks = [i for i, (sql, inside) in enumerate(seen) if not inside and sql in _looks(seen)]
    assert looks[-1] > inserts[-1]


def _looks(seen: list[tuple[str, bool]]) -> set[str]:
    return {
        sql
        for sql, _ in seen
        if sql.lstrip().upper().startswith("SELECT")
        and "procedures_application" in sql
        and "person_index" in sql.split("WHERE", 1)[-1]
    }


@pytest.mark.django_db(transaction=True)
def test_a_match_found_before_the_lock_is_recorded_in_the_submission(tenant_a: Tenant) -> None:
    version = publish(tenant_a.municipality)
    results = []
    for _ in range(2):
        attachment = str(attachment_new(tenant_a.municipality).pk)
        with statements() as seen:
            results.append(kyufukin_submit(tenant_a.municipality, version, attachment))
    first, second = (r.application for r in results)
    # The second submission's one transaction wrote the match; the look after commit found
    # nothing new and wrote nothing.
    assert transactions(seen) == 1
    assert list(DuplicateMatch.objects.values_list("application_id", "other_id", "basis")) == [
        (second.pk, first.pk, "person")
    ]


@pytest.mark.django_db(transaction=True)
def test_a_person_submitting_again_after_the_first_look_is_flagged_after_commit(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first submission looks for duplicates (before the lock) and is held there while the
    same person's second submission runs to the end: the look after the first one's commit
    sees the second."""
    version = publish(tenant_a.municipality)
    attachments = [str(attachment_new(tenant_a.municipality).pk) for _ in range(2)]
    held, release = threading.Event(), threading.Event()
    candidates = services._duplicate_candidates
    looks: list[str] = []

    def holding_the_first_look(*args: Any, **kwargs: Any) -> list[tuple[str, int]]:
        found = candidates(*args, **kwargs)
        name = threading.current_thread().name
        if name == "first" and name not in looks:
            held.set()
            release.wait(10)
        looks.append(name)
        return found

    monkeypatch.setattr(services, "_duplicate_candidates", holding_the_first_look)
    results: dict[str, SubmitResult] = {}

    def submit(attachment_id: str) -> None:
        try:
            results[threading.current_thread().name] = kyufukin_submit(
                tenant_a.municipality, version, attachment_id, channel="web"
            )
        finally:
            connection.close()

    first = threading.Thread(target=submit, args=(attachments[0],), name="first")
    second = threading.Thread(target=submit, args=(attachments[1],), name="second")
    first.start()
    assert held.wait(10)
    second.start()
    second.join(10)
    release.set()
    first.join(10)

    assert sorted(results) == ["first", "second"]
    assert looks.count("first") == 2  # before the lock, then after commit
    pairs = list(DuplicateMatch.objects.values_list("application_id", "other_id"))
    assert pairs == [(results["first"].application.pk, results["second"].application.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_receipt_number_drawn_twice_is_drawn_again_and_stored_once(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The insert that meets a taken receipt number is rolled back whole (no savepoint under
    the lock) and the submission stored once under a new number."""
    version = publish(tenant_a.municipality)
    attachments = [str(attachment_new(tenant_a.municipality).pk) for _ in range(2)]

    def submit(attachment: str) -> SubmitResult:
        return kyufukin_submit(tenant_a.municipality, version, attachment)

    first = submit(attachments[0]).application
    draws = [first.receipt_number]
    real_draw = services.receipt_number_new

    def drawn_twice() -> str:
        return draws.pop() if draws else real_draw()

    monkeypatch.setattr(services, "receipt_number_new", drawn_twice)
    second = submit(attachments[1])

    assert second.created
    assert second.application.receipt_number != first.receipt_number
    assert not draws  # the taken number was drawn first
    stored = Application.objects.filter(procedure=version.procedure)
    assert stored.count() == 2
    assert StateChange.objects.filter(application__in=stored).count() == 2
    assert Attachment.objects.get(pk=attachments[1]).application_id == second.application.pk
    assert (
        AuditEntry.objects.filter(
            action="application.submit", object_id=str(second.application.pk)
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_the_published_procedure_is_found_without_decoding_its_definition(
    tenant_a: Tenant,
) -> None:
    """Each submission looks the procedure up; the definition JSON is parsed once per process
    (definition_of), so the lookup leaves it unread, and the definition is still there."""
    version = publish(tenant_a.municipality)
    procedure = procedure_get_published(
        municipality=tenant_a.municipality, code=version.procedure.code
    )
    assert procedure is not None
    assert procedure.current_version is not None
    assert {"definition", "source"} <= procedure.current_version.get_deferred_fields()
    assert definition_of(procedure.current_version).code == version.procedure.code
