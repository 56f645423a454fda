"""Benchmark: CPU time of one API submission in one process, and where it goes.

    .venv/bin/python bench/submit_cpu.py [--applications 20000] [--submissions 300]
        [--reuse DIR] [--profile N]

Builds (or reuses) a SQLite database the way ``bench/status_and_submit.py`` does, then sends
``jido-teate`` submissions through Django's whole request handling (middleware, the API layer,
validation, encryption, the write transaction, the audit append) with the test client, in this
one process: no server, no HTTP parsing, no other process sharing the cores. Prints the process
CPU time per submission (after a warm-up of 50), which is what the server would spend on each,
and with ``--profile N`` the N functions with the most cumulative time under cProfile (a second,
profiled pass; profiling roughly doubles the time of Python-heavy code).

Figures are printed, never asserted. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "src"),
]

from bench import status_and_submit as bench  # noqa: E402 - after the path is set

WARMUP = 50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=20_000)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--reuse", type=Path, help="keep the database in DIR and reuse it")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="madoguchi-submit-cpu-") as scratch:
        data_dir = args.reuse or Path(scratch) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        bench.configure_django(data_dir)
        bench.prepare_database(data_dir, args.applications, 200, 7)
        run_dir = Path(scratch) / "run"
        run_dir.mkdir()
        return _measure(args, run_dir)


def _measure(args: argparse.Namespace, run_dir: Path) -> int:
    from django.db import connection
    from django.test import Client

    from madoguchi.procedures.models import Application

    count = args.submissions
    # New people each run (a seed from the clock), so that no duplicate check matches.
    bodies = (
        bench.write_submission_bodies(run_dir, WARMUP + 2 * count, str(time.time_ns()))
        .read_text(encoding="utf-8")
        .splitlines()
    )
    client = Client(HTTP_HOST="127.0.0.1")

    def submit(body: str) -> None:
        response = client.post(
            bench.SUBMIT_PATH,
            data=body,
            content_type="application/json",
            HTTP_ACCEPT="application/json",
        )
        if response.status_code != 201:
            raise SystemExit(
                f"submission answered {response.status_code}: {response.content[:300]!r}"
            )

    for body in bodies[:WARMUP]:
        submit(body)
    started = time.process_time()
    for body in bodies[WARMUP : WARMUP + count]:
        submit(body)
    per_submission = (time.process_time() - started) / count * 1000

    print(f"madoguchi submission CPU — {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"database: {connection.vendor}, {Application.objects.count():,} applications")
    print(f"{count} API submissions of jido-teate in one process, after {WARMUP} for warm-up")
    print(f"CPU per submission: {per_submission:.2f} ms (= {1000 / per_submission:.0f}/s per core)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for body in bodies[WARMUP + count :]:
            submit(body)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
