"""Benchmark: booking throughput and p99 while 1,000 seats are contested.

    .venv/bin/python bench/reservations_benchmark.py [--clients 64] [--slots 20] [--seats 50]
        [--duration 60] [--workers 2]

In one run it

1. builds a fresh SQLite database in a temporary MADOGUCHI_DATA_DIR (never var/): migrate,
   神戸市 (slug kobe) and one counter with ``--slots`` slots of ``--seats`` seats each
   (1,000 seats by default);
2. serves it with ``madoguchi serve --workers 2`` (granian) on a free 127.0.0.1 port;
3. starts ``--clients`` threads at once; each fetches the booking form once (CSRF cookie and
   token, as a browser would) and then books a random slot that is not yet known to be full,
   again and again, until every slot has answered 409 (full) or ``--duration`` has passed;
4. prints the 201 throughput, p50 and p99 of every answer and of the 201s, the count of each
   status, and checks against the database that every 201 matches exactly one stored booking
   (same receipt number), that no slot holds more bookings than seats and that no seat is
   taken twice.

Only 127.0.0.1 is loaded, the run is bounded in time, and the server is stopped by its own PID.
Not part of the test suite. Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.status_and_submit import configure_django, log, start_server  # noqa: E402

SLUG = "kobe"
RECEIPT = re.compile(r'id="receipt-number">([0-9]{5}-[0-9]{5})<')
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Outcome:
    status: int
    seconds: float
    receipt: str = ""


@dataclass
class Shared:
    slots: list[int]
    full: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: list[Outcome] = field(default_factory=list)


def prepare(slots: int, seats: int) -> list[int]:
    from django.core.management import call_command
    from django.utils import timezone

    from madoguchi.audit.services import AuditActor
    from madoguchi.reservations.models import Resource, ResourceKind, Slot
    from madoguchi.tenants.services import municipalities_load

    call_command("migrate", verbosity=0)
    [municipality] = municipalities_load(
        codes=["281000"], activate=True, actor=AuditActor(label="bench")
    )
    municipality.slug = SLUG
    municipality.save(update_fields=["slug"])
    resource = Resource.objects.create(
        municipality=municipality, code="vaccine", name="集団接種", kind=ResourceKind.CLINIC
    )
    start = datetime.datetime.combine(
        timezone.localdate() + datetime.timedelta(days=1),
        datetime.time(9, 0),
        tzinfo=timezone.get_current_timezone(),
    )
    step = datetime.timedelta(minutes=15)
    created = Slot.objects.bulk_create(
        Slot(
            municipality=municipality,
            resource=resource,
            starts_at=start + n * step,
            ends_at=start + (n + 1) * step,
            capacity=seats,
        )
        for n in range(slots)
    )
    return [s.pk for s in created]


def client(port: int, shared: Shared, deadline: float, go: threading.Event, n: int) -> None:
    rng = random.Random(n)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = f"/{SLUG}/reservations/vaccine/{shared.slots[0]}/"
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read().decode()
    cookies = [
        header.split(";", 1)[0]
        for name, header in response.getheaders()
        if name.lower() == "set-cookie"
    ]
    match = TOKEN.search(body)
    assert match, "no CSRF token on the booking form"
    token = match.group(1)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(cookies),
    }
    go.wait()
    while time.monotonic() < deadline:
        with shared.lock:
            open_slots = [s for s in shared.slots if s not in shared.full]
        if not open_slots:
            return
        slot = rng.choice(open_slots)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "name": f"住民 {n}-{rng.randrange(10**6)}"}
        )
        started = time.perf_counter()
        try:
            connection.request(
                "POST", f"/{SLUG}/reservations/vaccine/{slot}/", body=form, headers=headers
            )
            response = connection.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with shared.lock:
                shared.outcomes.append(Outcome(0, time.perf_counter() - started))
            continue
        elapsed = time.perf_counter() - started
        found = RECEIPT.search(text) if response.status == 201 else None
        with shared.lock:
            shared.outcomes.append(
                Outcome(response.status, elapsed, found.group(1).replace("-", "") if found else "")
            )
            if response.status == 409:
                shared.full.add(slot)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def check(shared: Shared, seats: int) -> list[str]:
    from django.db.models import Count

    from madoguchi.reservations.models import Booking, Slot

    problems = []
    created = [o.receipt for o in shared.outcomes if o.status == 201]
    stored = set(Booking.objects.values_list("receipt_number", flat=True))
    if "" in created:
        problems.append("a 201 without a receipt number in its page")
    if len(created) != len(set(created)):
        problems.append("the same receipt number answered twice")
    if set(created) != stored:
        problems.append(
            f"201 receipts {len(set(created))} != stored bookings {len(stored)} "
            f"(missing {len(set(created) - stored)}, extra {len(stored - set(created))})"
        )
    for slot in Slot.objects.all():
        count = Booking.objects.filter(slot=slot).count()
        if count > seats or count != slot.booked:
            problems.append(f"slot {slot.pk}: {count} bookings, counter {slot.booked}")
    doubled = Booking.objects.values("slot", "seat").annotate(n=Count("pk")).filter(n__gt=1).count()
    if doubled:
        problems.append(f"{doubled} seats booked twice")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--slots", type=int, default=20)
    parser.add_argument("--seats", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as folder:
        data_dir = Path(folder) / "data"
        run_dir = Path(folder) / "run"
        data_dir.mkdir()
        run_dir.mkdir()
        configure_django(data_dir)
        slots = prepare(args.slots, args.seats)
        log(f"{args.slots} slots x {args.seats} seats = {args.slots * args.seats} seats")
        server = start_server(data_dir, run_dir, args.workers)
        try:
            shared = Shared(slots)
            go = threading.Event()
            deadline = time.monotonic() + args.duration + 30
            threads = [
                threading.Thread(
                    target=client, args=(server.port, shared, deadline, go, n), daemon=True
                )
                for n in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            time.sleep(1)
            started = time.monotonic()
            deadline_run = started + args.duration
            go.set()
            for thread in threads:
                thread.join(max(0.0, deadline_run - time.monotonic()) + 35)
            elapsed = time.monotonic() - started
        finally:
            server.stop()
        statuses = Counter(o.status for o in shared.outcomes)
        created = [o.seconds for o in shared.outcomes if o.status == 201]
        every = [o.seconds for o in shared.outcomes]
        problems = check(shared, args.seats)
        print(
            f"clients {args.clients}, workers {args.workers}, seats {args.slots * args.seats}\n"
            f"elapsed {elapsed:.1f} s, requests {len(every)}, statuses {dict(statuses)}\n"
            f"bookings (201) {len(created)}: {len(created) / elapsed:.1f}/s\n"
            f"all answers: p50 {1000 * percentile(every, 50):.0f} ms, "
            f"p99 {1000 * percentile(every, 99):.0f} ms\n"
            f"201 answers: p50 {1000 * percentile(created, 50):.0f} ms, "
            f"p99 {1000 * percentile(created, 99):.0f} ms, "
            f"mean {1000 * (statistics.mean(created) if created else 0):.0f} ms\n"
            f"checks: {problems or 'every 201 matches one stored booking; no seat twice'}"
        )
        return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
