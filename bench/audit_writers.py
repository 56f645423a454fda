"""Benchmark: the audit chain under many writers on PostgreSQL.

    .venv/bin/python bench/audit_writers.py [--writers 16] [--duration 15]

Starts a private PostgreSQL cluster on a free loopback port (``bench.servers.postgres_server``:
initdb as the ``postgres`` user when run as root, fsync off), migrates it, creates 神戸市 and
16 other bodies with the test kit's staff and publishes ``jido-teate``, then runs, each for
``--duration`` seconds with ``--writers`` threads (one database connection each):

1. submissions (``application_submit``, the API's path without HTTP) all in one municipality;
2. bare audit appends (``audit_event``) all on one municipality's chain;
3. bare audit appends spread over as many chains as writers (no shared chain head).

During each run it samples ``pg_stat_activity`` every 0.1 s and reports how many writers, on
average, were waiting on a row lock. 1 against 3 shows what the one chain head costs; 2's
waiters show whether the head's row lock is what caps 1. A fourth run is 1 with one writer.
After each run it counts the entries still waiting to be sealed (the sealer runs after each
commit; none should be left once the writers have stopped). Figures are printed, never asserted.
The cluster is stopped and removed at the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _run(
    label: str, writers: int, duration: float, work: Callable[[int, int], None]
) -> tuple[int, float, float]:
    """Run ``work(writer, n)`` in ``writers`` threads for ``duration`` s: (done, per s, waiting)."""
    from django.db import connection, connections

    stop = threading.Event()
    counts = [0] * writers
    errors: list[str] = []

    def writer(index: int) -> None:
        try:
            while not stop.is_set():
                work(index, counts[index])
                counts[index] += 1
        except Exception as exc:  # reported, the run goes on
            errors.append(repr(exc))
        finally:
            connections.close_all()

    samples: list[int] = []
    on_head: list[int] = []
    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(writers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    with connection.cursor() as cursor:
        while time.monotonic() - started < duration:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE query ILIKE '%%audit_auditchainhead%%')"
                " FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            samples.append(int(row[0]))
            on_head.append(int(row[1]))
            time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    done = sum(counts)
    from madoguchi.audit.models import AuditEntry

    # Entries still waiting to be sealed once every writer has returned (after commit + seal).
    if any(f.name == "sealed_at" for f in AuditEntry._meta.get_fields()):
        waiting_seal = AuditEntry.objects.filter(sealed_at__isnull=True).count()
        unsealed = f"   unsealed after the run: {waiting_seal}"
    else:
        unsealed = ""
    waiting = sum(samples) / max(1, len(samples))
    head = sum(on_head) / max(1, len(on_head))
    print(
        f"{label:<42} {done:>6} in {elapsed:4.1f} s = {done / elapsed:6.1f}/s"
        f"   waiting on a lock: {waiting:4.1f} of {writers} ({head:4.1f} on the chain head)"
        + unsealed
        + (f"   errors: {len(errors)} ({errors[0][:80]})" if errors else ""),
        flush=True,
    )
    return done, done / elapsed, waiting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty PostgreSQL database to use instead of a private cluster (e.g. fsync on)",
    )
    args = parser.parse_args(argv)

    from bench.servers import postgres_server

    with (
        postgres_server(args.database_url or None, max_connections=100) as url,
        tempfile.TemporaryDirectory(prefix="madoguchi-audit-bench-") as data_dir,
    ):
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
                "MADOGUCHI_ENV": "test",
                "DATABASE_URL": url,
                "MADOGUCHI_DATA_DIR": data_dir,
                "MADOGUCHI_CONSULTATION_EMBEDDER": "none",
                "MADOGUCHI_DB_CONN_MAX_AGE": "600",
            }
        )
        return _bench(args)


def _bench(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from tests.isolation import make_tenant
    from tests.procedures.backoffice_fixtures import publish_catalogue

    from bench.status_and_submit import submission_answers
    from madoguchi.audit.services import AuditActor, audit_event
    from madoguchi.procedures.services import application_submit
    from madoguchi.tenants.models import Municipality
    from madoguchi.tenants.services import municipalities_load

    kobe = make_tenant("281000", "kobe")
    version = publish_catalogue(kobe.municipality, "jido-teate", "welfare")
    municipalities_load(codes=None, actor=AuditActor(label="bench"))
    others = list(Municipality.objects.exclude(pk=kobe.municipality.pk).order_by("code"))
    others = others[: args.writers]
    actor = AuditActor(label="bench", ip="127.0.0.1")

    server = connection.cursor().connection.info.server_version
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python"
        f" {platform.python_version()}, PostgreSQL {server}; load before: {_load()}",
        flush=True,
    )
    print(f"{args.writers} writers (threads, one connection each), {args.duration:.0f} s a run")
    seed = random.Random(7)
    offset = seed.randrange(10**6)

    def submit(writer: int, n: int) -> None:
        index = offset + writer * 1_000_000 + n
        application_submit(
            municipality=kobe.municipality,
            version=version,
            answers=submission_answers(index, random.Random(index)),
            channel="api",
            actor=actor,
        )

    def one_chain(writer: int, n: int) -> None:
        audit_event(
            municipality=kobe.municipality, action="bench.append", actor=actor, data={"n": n}
        )

    def many_chains(writer: int, n: int) -> None:
        audit_event(
            municipality=others[writer % len(others)],
            action="bench.append",
            actor=actor,
            data={"n": n},
        )

    _run("submissions, one municipality", args.writers, args.duration, submit)
    _run("audit appends, one chain", args.writers, args.duration, one_chain)
    _run(f"audit appends, {len(others)} chains", args.writers, args.duration, many_chains)
    _run("submissions, one municipality, 1 writer", 1, args.duration, submit)
    print(f"load after: {_load()}")
    from io import StringIO

    out = StringIO()
    call_command("audit", "verify", stdout=out, stderr=StringIO())
    chains = [line for line in out.getvalue().splitlines() if line.startswith("chain ")]
    broken = [line for line in chains if ": ok " not in line]
    print(f"audit verify: {len(chains) - len(broken)} chains ok, {len(broken)} not: {broken[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
