"""200 processes race for the 50 seats of one slot (SQLite file or PostgreSQL, see DATABASE_URL).

Each process is forked from the test after Django is set up, opens its own connection, waits
for the start signal and books once through booking_create. Exactly 50 must get a booking,
each on its own seat, and the other 150 the "full" refusal with its Japanese message.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import pytest
from django.db import OperationalError, connections

from madoguchi.audit.services import AuditActor
from madoguchi.reservations.errors import ErrorCode, ReservationError, error_message
from madoguchi.reservations.models import Booking, Slot
from madoguchi.reservations.services import booking_create
from tests.isolation import Tenant
from tests.reservations.conftest import resource_new, slot_new

PROCESSES = 200
SEATS = 50
TIME_LIMIT = 60.0


def _book(
    slot_id: int, municipality_id: int, n: int, go: Event, out: Queue[tuple[str, ...]]
) -> None:
    from madoguchi.tenants.models import Municipality

    go.wait(30)
    deadline = time.monotonic() + TIME_LIMIT
    while True:
        try:
            municipality = Municipality.objects.get(pk=municipality_id)
            result = booking_create(
                municipality=municipality,
                slot_id=slot_id,
                name=f"住民{n}",
                actor=AuditActor(label=f"racer-{n}"),
            )
        except ReservationError as refused:
            out.put(("refused", str(refused.code), refused.message))
        except OperationalError as exc:
            # PostgreSQL refuses connections past max_connections: try again, as a browser would.
            connections.close_all()
            if time.monotonic() > deadline:
                out.put(("error", type(exc).__name__, str(exc)))
            else:
                time.sleep(0.05 + (n % 10) * 0.01)
                continue
        except Exception as exc:
            out.put(("error", type(exc).__name__, str(exc)))
        else:
            out.put(("booked", result.booking.receipt_number, str(result.booking.seat)))
        connections.close_all()
        return


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_200_processes_race_for_50_seats_and_exactly_50_get_one_each(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), capacity=SEATS)
    context = multiprocessing.get_context("fork")
    go = context.Event()
    out: Queue[tuple[str, ...]] = context.Queue()
    connections.close_all()
    gc.freeze()  # fewer copied pages per child
    racers = [
        context.Process(target=_book, args=(slot.pk, tenant_a.municipality.pk, n, go, out))
        for n in range(PROCESSES)
    ]
    for racer in racers:
        racer.start()
    started = time.monotonic()
    go.set()
    results = [out.get(timeout=TIME_LIMIT + 30) for _ in range(PROCESSES)]
    for racer in racers:
        racer.join(10)
    gc.unfreeze()
    elapsed = time.monotonic() - started

    booked = [r for r in results if r[0] == "booked"]
    refused = [r for r in results if r[0] == "refused"]
    assert [r for r in results if r[0] == "error"] == []
    assert len(booked) == SEATS
    assert len(refused) == PROCESSES - SEATS
    assert {r[1] for r in refused} == {ErrorCode.FULL.value}
    assert {r[2] for r in refused} == {error_message(ErrorCode.FULL)}
    assert "満員" in refused[0][2]
    assert sorted(int(r[2]) for r in booked) == list(range(1, SEATS + 1))
    stored = Booking.objects.filter(slot=slot)
    assert stored.count() == SEATS
    assert sorted(stored.values_list("seat", flat=True)) == list(range(1, SEATS + 1))
    assert set(stored.values_list("receipt_number", flat=True)) == {r[1] for r in booked}
    assert Slot.objects.get(pk=slot.pk).booked == SEATS
    assert elapsed < TIME_LIMIT
