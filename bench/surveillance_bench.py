"""Benchmark the case register in process: self-report writes and the nurses' worklist.

    .venv/bin/python bench/surveillance_bench.py [--cases 5000] [--reports 2000]

1. A fresh SQLite database in a temporary folder gets 神戸市's health centre and ``--cases``
   active cases (bulk INSERT, encrypted as usual) with an open alert on every tenth.
2. ``--reports`` self-reports are written one after another through ``self_report_submit``
   (validation, encryption, alert rules); the rate and p50/p99 latency are printed against the
   issue's target (200 writes/s with p99 < 200 ms; that target is for HTTP with 2 workers,
   which this in-process figure does not cover).
3. The worklist page for all cases is rendered through the test client, signed in as a
   nurse (target: < 300 ms), median of 5.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from madoguchi.audit.services import AuditActor
    from madoguchi.surveillance.models import HealthCentre
    from madoguchi.tenants.models import Municipality

ROOT = Path(__file__).resolve().parent.parent
WRITE_TARGET_PER_S = 200.0
WRITE_P99_TARGET_MS = 200.0
WORKLIST_TARGET_MS = 300.0


def kobe_health_centre(actor: AuditActor) -> tuple[Municipality, HealthCentre]:
    """神戸市 (slug ``kobe``) and its 保健所 covering 281000, in a migrated database."""
    from madoguchi.surveillance.setup import health_centre_ensure
    from madoguchi.tenants.services import municipalities_load

    [kobe] = municipalities_load(codes=["281000"], activate=True, actor=actor)
    kobe.slug = "kobe"
    kobe.save(update_fields=["slug"])
    centre = health_centre_ensure(
        municipality=kobe,
        department_code="hokenjo",
        name="保健所",
        urgent_phone="078-000-0000",
        area_codes=["281000"],
        actor=actor,
    )
    return kobe, centre


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--reports", type=int, default=2000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    os.environ.update(
        MADOGUCHI_ENV="development",
        MADOGUCHI_DEBUG="0",
        MADOGUCHI_DATA_DIR=str(data_dir),
        MADOGUCHI_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="madoguchi.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from madoguchi.accounts.services import staff_user_create
    from madoguchi.audit.services import AuditActor
    from madoguchi.surveillance.models import Alert, Case, Category
    from madoguchi.surveillance.reports import report_link_issue, self_report_submit
    from madoguchi.tenants.models import Role
    from madoguchi.tenants.services import membership_grant

    call_command("migrate", verbosity=0)
    actor = AuditActor(label="bench")
    kobe, centre = kobe_health_centre(actor)
    today = timezone.localdate()
    start = time.perf_counter()
    Case.objects.bulk_create(
        Case(
            municipality=kobe,
            health_centre=centre,
            residence_code="281000",
            category=Category.PATIENT,
            age_band="30代",
            name=f"患者 {i}",
            name_kana="かんじゃ",
            birth_date=datetime.date(1990, 1, 1),
            phone=f"090{i:08d}",
            health={"symptomatic": True},
            day_zero=today - datetime.timedelta(days=2),
            observation_end=today + datetime.timedelta(days=5),
        )
        for i in range(args.cases)
    )
    cases = list(Case.objects.order_by("pk"))
    Alert.objects.bulk_create(
        Alert(municipality=kobe, case=c, rule_code="spo2_low", severity=2, day=today)
        for c in cases[::10]
    )
    print(f"setup: {args.cases} cases in {time.perf_counter() - start:.1f} s")

    token_cases = cases[: args.reports]
    for case in token_cases:
        report_link_issue(cases=[case], actor=actor)
    latencies = []
    start = time.perf_counter()
    for case in token_cases:
        assert case.report_link is not None
        t0 = time.perf_counter()
        self_report_submit(
            link=case.report_link,
            case=case,
            day=today,
            values={"temperature": "36.8", "spo2": "97"},
            urgent_signs=[],
        )
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - start
    rate = len(latencies) / elapsed
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(
        f"self-reports (1 thread, in process): {rate:.0f}/s (ratio to 200/s: "
        f"{rate / WRITE_TARGET_PER_S:.2f}), p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {p99:.1f} ms (ratio to 200 ms: {p99 / WRITE_P99_TARGET_MS:.2f})"
    )

    nurse = staff_user_create(username="bench-nurse", password="bench password 2026")  # noqa: S106 - throwaway database
    membership_grant(
        municipality=kobe, user=nurse, role=Role.CLERK, department=centre.department, actor=actor
    )
    device = TOTPDevice.objects.create(user=nurse, name="bench", confirmed=True)
    client = Client()
    client.force_login(nurse)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        response = client.get("/kobe/health/worklist/")
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    median = statistics.median(timings)
    print(
        f"worklist for {args.cases} active cases: {median:.0f} ms "
        f"(ratio to 300 ms: {median / WORKLIST_TARGET_MS:.2f})"
    )
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
