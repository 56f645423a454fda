"""The morning burst of self-reports over HTTP: ``madoguchi serve`` with 2 workers, driven by wrk.

    .venv/bin/python -m bench.surveillance_http [--cases 8000] [--duration 15] [--connections 8]
    .venv/bin/python -m bench.surveillance_http --postgres    # a throwaway cluster (run as root)

1. A fresh database (SQLite in a temporary folder, or with ``--postgres`` a PostgreSQL cluster
   this script initialises on a free 127.0.0.1 port and removes afterwards) gets 神戸市's
   health centre and ``--cases`` active cases, each with its own report link.
2. The server starts as in production (granian, ``--workers``), on 127.0.0.1 only.
3. wrk posts the patients' form (``POST /kobe/health/report/<token>/``: CSRF cookie and token,
   temperature, SpO2, the yes/no items; 8 % with a fever, 2 % with an urgent sign, so the alert
   rules run) for ``--duration`` seconds after a short warm-up; each request is a different
   patient until every patient has reported once.
4. Printed: writes/s and p50/p90/p99 against the issue's target (hold 200 writes/s with p99
   under 200 ms), the status codes, the CPU used by the server, wrk and everything else, and
   whether every report answered 200 is stored (rows counted in the database afterwards).

wrk is closed-loop: the rate it reaches with ``--connections`` requests in flight is the most
the server sustains at that latency; an offered load of 200/s below it waits no longer.
Figures are printed, never asserted. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.status_and_submit import (
    ROOT,
    VENV_BIN,
    Server,
    _children,
    describe,
    free_port,
    log,
    run_wrk,
    wait_for_quiet,
)
from bench.surveillance_bench import kobe_health_centre

FORM_SCRIPT = ROOT / "bench" / "post_forms.lua"
SLUG = "kobe"
WRITE_TARGET_PER_S = 200.0
WRITE_P99_TARGET_MS = 200.0


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port (the recipe of .ci/run); yields its URL."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise SystemExit("PostgreSQL is not installed (apt-get install -y postgresql)")
    bin_dir = versions[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-bench-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
         "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200"
    subprocess.run(
        [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l",
         str(folder / "server.log"), "-o", options, "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    log(f"PostgreSQL ({bin_dir.parent.name}) on 127.0.0.1:{port}")
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast",
             "-w", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def environment(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        "MADOGUCHI_ENV": "development",
        "MADOGUCHI_DEBUG": "0",
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def prepare(cases: int) -> list[str]:
    """Migrate, create the health centre and ``cases`` active cases; return their tokens."""
    import datetime

    from django.core.management import call_command
    from django.utils import timezone

    from madoguchi.audit.services import AuditActor
    from madoguchi.surveillance.models import Case, Category
    from madoguchi.surveillance.reports import report_link_issue

    call_command("migrate", verbosity=0)
    actor = AuditActor(label="bench")
    kobe, centre = kobe_health_centre(actor)
    today = timezone.localdate()
    started = time.perf_counter()
    Case.objects.bulk_create(
        (
            Case(
                municipality=kobe,
                health_centre=centre,
                residence_code="281000",
                category=Category.PATIENT,
                age_band=f"{20 + (i % 6) * 10}代",
                name=f"患者 {i}",
                name_kana="かんじゃ",
                birth_date=datetime.date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
                phone=f"090{i:08d}",
                health={"symptomatic": True},
                day_zero=today - datetime.timedelta(days=i % 5),
                observation_end=today + datetime.timedelta(days=7 - i % 5),
            )
            for i in range(cases)
        ),
        batch_size=1000,
    )
    tokens = [
        report_link_issue(cases=[case], actor=actor)
        for case in Case.objects.filter(municipality=kobe).order_by("pk")
    ]
    log(f"{cases:,} cases with report links in {time.perf_counter() - started:.1f} s")
    return tokens


def write_requests(path: Path, tokens: list[str], seed: int) -> None:
    """One form post per patient, in random order, after the CSRF line."""
    from madoguchi.surveillance.rules import REPORT_ITEMS, URGENT_SIGNS

    rng = random.Random(seed)
    secret = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
    lines = [f"csrftoken\t{secret}"]
    order = list(range(len(tokens)))
    rng.shuffle(order)
    for number in order:
        roll = rng.random()
        fields: list[tuple[str, str]] = [
            ("csrfmiddlewaretoken", secret),
            ("temperature", f"{38.6 + rng.random():.1f}" if roll < 0.08 else "36.8"),
            ("spo2", str(rng.choice([95, 96, 97, 98, 99]))),
            ("message", ""),
        ]
        fields += [(key, "no") for key, _label in REPORT_ITEMS]
        if roll > 0.98:
            fields.append(("urgent_signs", rng.choice(URGENT_SIGNS)[0]))
        body = urllib.parse.urlencode(fields)
        lines.append(f"/{SLUG}/health/report/{tokens[number]}/\t{body}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_server(env: dict[str, str], run_dir: Path, workers: int) -> Server:
    port = free_port()
    argv = [
        str(VENV_BIN / "madoguchi"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip
    log_path, out_path = run_dir / "server.stderr.log", run_dir / "server.stdout.log"
    with log_path.open("wb") as err, out_path.open("wb") as out:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=err
        )
    server = Server(process, port, workers, log_path, out_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=2):  # noqa: S310
                break
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    else:
        server.stop()
        raise SystemExit("the server did not answer /healthz within 90 s")
    server.worker_pids = _children(process.pid)
    log(f"server ready at {server.base}, {workers} workers (pids {server.worker_pids})")
    return server


def count_reports() -> int:
    from madoguchi.surveillance.models import SelfReport

    return SelfReport.objects.count()


def run(args: argparse.Namespace, database_url: str | None) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="madoguchi-bench-http-"))
    env = environment(data_dir, database_url)
    os.environ.update(env)
    if not database_url:
        os.environ.pop("DATABASE_URL", None)
    for path in (str(ROOT), str(ROOT / "src")):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()
    from django.db import connection

    log(f"database: {connection.vendor}")
    tokens = prepare(args.cases)
    requests = data_dir / "requests.tsv"
    write_requests(requests, tokens, args.seed)
    warmup = data_dir / "warmup.tsv"
    lines = requests.read_text(encoding="utf-8").splitlines()
    # The warm-up reports for the last patients of the file, which the measured run reaches last.
    warmup.write_text("\n".join([lines[0], *lines[-200:]]) + "\n", encoding="utf-8")
    connection.close()
    server = start_server(env, data_dir, args.workers)
    try:
        run_wrk(
            "warm-up", server.base, warmup, duration=2, connections=4, threads=1,
            script=FORM_SCRIPT,
        )  # fmt: skip
        before = count_reports()
        if args.wait_quiet:
            log(f"other processes use {wait_for_quiet(args.wait_quiet):.2f} cores")
        result = run_wrk(
            "self-reports",
            server.base,
            requests,
            duration=args.duration,
            connections=args.connections,
            threads=2,
            server_pids=server.worker_pids,
            script=FORM_SCRIPT,
        )
    finally:
        server.stop()
    stored = count_reports() - before
    answered = result.codes.get(200, 0)
    print(describe(result))
    print(
        f"  self-reports over HTTP ({connection.vendor}, {args.workers} workers, "
        f"{args.connections} connections): {result.rps:,.0f} writes/s (ratio to 200/s: "
        f"{result.rps / WRITE_TARGET_PER_S:.2f}), p99 {result.p99_ms:.0f} ms (ratio to 200 ms: "
        f"{result.p99_ms / WRITE_P99_TARGET_MS:.2f})"
    )
    note = "" if not result.wrapped else " (some patients reported twice: edits replace)"
    print(f"  answered 200: {answered:,}; new reports stored: {stored:,}{note}")
    connection.close()
    shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=8000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL")
    parser.add_argument(
        "--wait-quiet", type=float, default=60, help="wait up to this many s for an idle machine"
    )
    args = parser.parse_args()
    if args.postgres:
        with postgres_cluster() as url:
            run(args, url)
    else:
        run(args, None)


if __name__ == "__main__":
    main()
