"""Benchmark the open-data dashboard with 1,000,000 patient records.

    .venv/bin/python bench/opendata_dashboard.py [--patients 1000000] [--seconds 10]

1. A fresh SQLite database in a temporary folder gets 神戸市 with a million 陽性患者属性 rows
   (bulk INSERT), about three years of the four daily datasets and a year of procedure
   statistics.
2. Every dashboard series is recomputed from the records, uncached (target: <= 2 s), and the
   prefecture view's series too.
3. ``madoguchi serve --workers 2`` serves the cached dashboard on 127.0.0.1 and ``wrk`` drives
   it (target: >= 2,000 requests/s). The server is stopped by its own process id.

Figures are printed with their ratio to the target.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RECOMPUTE_TARGET_S = 2.0
THROUGHPUT_TARGET = 2000.0
FIRST_DAY = datetime.date(2020, 1, 15)
DAYS = 1000


def environment(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MADOGUCHI_ENV": "development",
        "MADOGUCHI_DEBUG": "0",
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
    }


def populate(patients: int) -> None:
    """Load the municipalities and insert the records (in this process)."""
    from django.db import connection, transaction

    from madoguchi.audit.services import AuditActor
    from madoguchi.opendata.formats import FORMATS
    from madoguchi.opendata.models import AgeGroup, Condition, Sex
    from madoguchi.opendata.services import dataset_import
    from madoguchi.tenants.services import municipalities_load

    actor = AuditActor(label="bench")
    kobe, _sayo = municipalities_load(codes=["281000", "285013"], activate=True, actor=actor)
    kobe.slug = "kobe"
    kobe.save(update_fields=["slug"])
    rng = random.Random(281000)
    ages = [*AgeGroup.values, ""]
    sexes = [*Sex.values, ""]
    conditions = [*Condition.values, ""]
    # A wave every ~120 days on top of a baseline, summing to `patients`.
    weights = [1.2 + (1 + (d % 120) / 30) ** 2 for d in range(DAYS)]
    total = sum(weights)
    per_day = [int(patients * w / total) for w in weights]
    per_day[-1] += patients - sum(per_day)

    started = time.perf_counter()
    sql = (
        "INSERT INTO opendata_patientrecord (municipality_id, number, published_on, onset_on,"
        " residence, age_group, sex, occupation, condition, symptoms, travel_history,"
        " discharged, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    number = 0
    batch: list[tuple[object, ...]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for offset, count in enumerate(per_day):
            day = FIRST_DAY + datetime.timedelta(days=offset)
            for _ in range(count):
                number += 1
                batch.append(
                    (
                        kobe.pk,
                        str(number),
                        day,
                        day - datetime.timedelta(days=rng.randint(1, 5)),
                        "神戸市",
                        rng.choice(ages),
                        rng.choice(sexes),
                        "",
                        rng.choice(conditions),
                        "発熱;咳",
                        False,
                        offset < DAYS - 14,
                        "",
                    )
                )
            if len(batch) >= 50_000:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
    inserted = time.perf_counter() - started
    print(f"inserted {number:,} patient records in {inserted:.1f} s")

    place = ["281000", "兵庫県", "神戸市"]
    for dataset in ("test_people", "test_count", "confirm_negative", "call_center"):
        header = FORMATS[dataset].names[:5]
        lines = [",".join(header)]
        for offset, count in enumerate(per_day):
            day = FIRST_DAY + datetime.timedelta(days=offset)
            lines.append(",".join([day.isoformat(), *place, str(count * 7 + rng.randint(0, 99))]))
        report = dataset_import(
            municipality=kobe, dataset=dataset, data="\n".join(lines).encode(), actor=actor
        )
        assert report.imported, report.lines()

    from madoguchi.opendata.models import ProcedureDailyStat

    stats = []
    for code in ("juminhyo", "jido-teate", "sodai-gomi", "teigaku-kyufukin"):
        still_open = 0
        for offset in range(365):
            received, completed = rng.randint(0, 40), rng.randint(0, 40)
            completed = min(completed, still_open + received)
            still_open += received - completed
            stats.append(
                ProcedureDailyStat(
                    municipality=kobe,
                    procedure_code=code,
                    procedure_name=code,
                    date=datetime.date(2025, 1, 1) + datetime.timedelta(days=offset),
                    received=received,
                    completed=completed,
                    open=still_open,
                )
            )
    ProcedureDailyStat.objects.bulk_create(stats, batch_size=500)
    connection.cursor().execute("ANALYZE")


def time_recompute(repeats: int) -> tuple[float, float, float, float]:
    """Seconds to recompute every series of the dashboard (best, median), to render the
    dashboard's body from scratch (median), and to recompute the prefecture view's series."""
    from django.core.cache import cache

    from madoguchi.opendata import pages, selectors
    from madoguchi.opendata.dashboard import dashboard_cards
    from madoguchi.opendata.prefecture import prefecture_cards
    from madoguchi.tenants.models import Municipality

    kobe = Municipality.objects.get(code="281000")
    hyogo = Municipality.objects.get(code="280003")
    members = selectors.prefecture_members(prefecture=hyogo)
    timings, prefecture_timings, render_timings = [], [], []
    for _ in range(repeats):
        cache.clear()
        started = time.perf_counter()
        pages.dashboard_body(municipality=kobe)
        render_timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        cards = dashboard_cards(municipality=kobe)
        timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        prefecture_cards(prefecture=hyogo, members=members)
        prefecture_timings.append(time.perf_counter() - started)
    assert cards[0].figures, "the patients card is empty"
    return (
        min(timings),
        statistics.median(timings),
        statistics.median(render_timings),
        statistics.median(prefecture_timings),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_and_load(
    env: dict[str, str], seconds: int, connections: int, threads: int
) -> tuple[float, float, str]:
    """Requests/s of the cached dashboard and, for scale, of ``/healthz`` (``SELECT 1``)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "madoguchi"), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/kobe/dashboard/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start within 30 s") from None
                time.sleep(0.2)
        for _ in range(20):  # every worker renders and caches the body once
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.status == 200
        result = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
        floor = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                url.replace("/kobe/dashboard/", "/healthz"),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own process group only
        server.wait(timeout=30)
    if "Non-2xx" in result.stdout:
        raise SystemExit("some responses were errors:\n" + result.stdout)
    return _rate(result.stdout), _rate(floor.stdout), result.stdout


def _rate(wrk_output: str) -> float:
    match = re.search(r"Requests/sec:\s+([\d.]+)", wrk_output)
    assert match, wrk_output
    return float(match.group(1))


def wait_for_quiet(seconds: int, threshold: float = 1.0) -> None:
    """Wait up to ``seconds`` for the 1-minute load average to drop below ``threshold``.

    The machine's CPUs are shared by wrk and the server; another process running at the same
    time lowers the figure, so the run waits for a quiet moment (and says when it found none).
    """
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)
    if os.getloadavg()[0] >= threshold:
        print(f"the machine did not get quiet (load {os.getloadavg()[0]:.1f}); measuring anyway")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (they share the CPUs with the server)"
    )
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=0,
        metavar="SECONDS",
        help="before serving, wait this long at most for the load average to drop below 1",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as folder:
        env = environment(Path(folder))
        os.environ.update(env)
        subprocess.run([str(BIN / "madoguchi"), "migrate", "-v", "0"], env=env, check=True)
        import django

        django.setup()
        populate(args.patients)
        best, median, rendered, prefecture = time_recompute(repeats=5)
        print(
            f"recompute every dashboard series ({args.patients:,} patients): best {best:.3f} s,"
            f" median {median:.3f} s (target <= {RECOMPUTE_TARGET_S:.0f} s:"
            f" {median / RECOMPUTE_TARGET_S:.2f} of the budget)"
        )
        print(f"recompute and render the dashboard's body (uncached): median {rendered:.3f} s")
        print(f"recompute the prefecture view's series: median {prefecture:.3f} s")
        from django.db import connections

        connections.close_all()
        wait_for_quiet(args.quiet_wait)
        rate, floor, report = serve_and_load(env, args.seconds, args.connections, args.threads)
        print(report.rstrip())
        print(
            f"cached dashboard, madoguchi serve --workers 2, wrk -t{args.threads}"
            f" -c{args.connections}:"
            f" {rate:,.0f} requests/s (target >= {THROUGHPUT_TARGET:,.0f}:"
            f" {rate / THROUGHPUT_TARGET:.2f}x)"
        )
        print(
            f"for scale, /healthz (middleware and SELECT 1) on the same server: {floor:,.0f}"
            f" requests/s; the dashboard reaches {rate / floor:.2f} of it"
        )
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(
            f"machine: {os.cpu_count()} CPUs shared by wrk and both workers;"
            f" load average {load}; Python {sys.version.split()[0]}"
        )
        ok = median <= RECOMPUTE_TARGET_S and rate >= THROUGHPUT_TARGET
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
