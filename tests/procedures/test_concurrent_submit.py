"""Submissions from several processes at once: every receipt unique, every application stored.

The processes share the test database (SQLite file or PostgreSQL, whichever the suite runs on,
see DATABASE_URL) and submit through application_submit as fast as they can, all starting
together, so that receipt numbers, the audit chain and the database's locking are contended.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from madoguchi.audit.models import AuditEntry
from madoguchi.audit.selectors import audit_chain_verify
from madoguchi.audit.services import audit_event
from madoguchi.procedures.models import Application, Attachment, DuplicateMatch, StateChange
from madoguchi.procedures.receipts import lookup_secret_matches, receipt_number_parse
from madoguchi.procedures.services import SubmitResult
from tests.isolation import Tenant
from tests.procedures.conftest import (
    attachment_new,
    kyufukin_answers,
    kyufukin_submit,
    publish,
)

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
PER_PROCESS = 50

# Runs in each child: wait for the start signal, submit every job, report receipts and errors.
WORKER = """
import json, os, sys, time
import django

django.setup()

from madoguchi.audit.services import AuditActor
from madoguchi.procedures.models import ProcedureVersion
from madoguchi.procedures.services import application_submit

with open(sys.argv[1], encoding="utf-8") as job_file:
    job = json.load(job_file)
version = ProcedureVersion.objects.select_related("municipality", "procedure").get(
    pk=job["version"]
)
actor = AuditActor(label="worker-" + str(job["worker"]))
open(job["ready"], "w").close()
deadline = time.monotonic() + 20
while not os.path.exists(job["go"]) and time.monotonic() < deadline:
    time.sleep(0.002)
receipts, errors = [], []
for attachment_id, answers in job["submissions"]:
    try:
        result = application_submit(
            municipality=version.municipality,
            version=version,
            answers=answers,
            channel="api",
            actor=actor,
            owned_attachments=[attachment_id],
        )
        receipts.append([result.application.receipt_number, result.secret, result.created])
    except Exception as exc:
        errors.append(type(exc).__name__ + ": " + str(exc))
print(json.dumps({"receipts": receipts, "errors": errors}))
"""


def database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        assert name != ":memory:", "the workers need a database file"
        assert "mode=memory" not in name, "the workers need a database file"
        return f"sqlite:///{Path(name).resolve()}"
    assert connection.vendor == "postgresql", connection.vendor
    user = quote(str(db["USER"] or ""), safe="")
    password = quote(str(db["PASSWORD"] or ""), safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{credentials}{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_from_several_processes_are_all_stored_with_unique_receipts(
    tenant_a: Tenant, tmp_path: Path
) -> None:
    """4 processes x 50 submissions: 200 applications, 200 distinct valid receipts, no errors."""
    version = publish(tenant_a.municipality)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "MADOGUCHI_ENV": "test",
        "DATABASE_URL": database_url(),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    go = tmp_path / "go"
    workers = []
    for worker in range(PROCESSES):
        attachments = [str(attachment_new(tenant_a.municipality).pk) for _ in range(PER_PROCESS)]
        job = {
            "version": version.pk,
            "worker": worker,
            "ready": str(tmp_path / f"ready-{worker}"),
            "go": str(go),
            "submissions": [
                # 200 different households, so that no duplicate check matches
                [a, kyufukin_answers(a, email="", address=f"神戸市中央区加納町{worker}-{n}")]
                for n, a in enumerate(attachments)
            ],
        }
        job_path = tmp_path / f"job-{worker}.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(job_path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        workers.append(process)

    deadline = time.monotonic() + 20
    while not all((tmp_path / f"ready-{w}").exists() for w in range(PROCESSES)):
        assert time.monotonic() < deadline, "the workers did not start"
        for process in workers:
            if process.poll() is not None:
                pytest.fail(f"a worker exited before starting: {process.communicate()[1]}")
        time.sleep(0.01)
    started = time.monotonic()
    go.touch()
    reports = []
    for process in workers:
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    elapsed = time.monotonic() - started

    assert [r["errors"] for r in reports] == [[]] * PROCESSES
    issued = [tuple(receipt) for r in reports for receipt in r["receipts"]]
    assert len(issued) == PROCESSES * PER_PROCESS
    assert all(created is True for _number, _secret, created in issued)
    numbers = [number for number, _secret, _created in issued]
    assert len(set(numbers)) == 200
    assert all(receipt_number_parse(n) == n for n in numbers)

    stored = dict(
        Application.objects.filter(municipality=tenant_a.municipality).values_list(
            "receipt_number", "secret_hash"
        )
    )
    assert sorted(stored) == sorted(numbers)
    assert all(lookup_secret_matches(n, secret, stored[n]) for n, secret, _created in issued)
    assert StateChange.objects.count() == 200
    assert Attachment.objects.filter(application__isnull=True).count() == 0
    assert Attachment.objects.values("application").distinct().count() == 200
    assert AuditEntry.objects.filter(chain="281000", action="application.submit").count() == 200
    report = audit_chain_verify("281000")
    assert (report.ok, report.reason) == (True, "")
    assert elapsed < 30, f"200 submissions took {elapsed:.1f} s"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_applications_of_one_person_are_flagged_as_duplicates(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """特別定額給付金 is one per household: overlapping submissions are matched all the same.

    The first submission is held just before it records its audit event (after its duplicate
    check, before commit) while the second one runs to the end.
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite admits one writer at a time (BEGIN IMMEDIATE): no overlap to test")
    version = publish(tenant_a.municipality)
    attachments = [str(attachment_new(tenant_a.municipality).pk) for _ in range(2)]
    held, release = threading.Event(), threading.Event()

    def audit_event_holding_the_first(**kwargs: Any) -> AuditEntry:
        if threading.current_thread().name == "first":
            held.set()
            release.wait(10)
        return audit_event(**kwargs)

    monkeypatch.setattr("madoguchi.procedures.services.audit_event", audit_event_holding_the_first)
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
    pairs = {
        frozenset(pair)
        for pair in DuplicateMatch.objects.filter(basis="person").values_list(
            "application_id", "other_id"
        )
    }
    assert pairs == {frozenset(r.application.pk for r in results.values())}
