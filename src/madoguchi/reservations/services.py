"""Writes of reservations: slots, bookings, cancellations, changes, attendance, waiting list.

A seat is taken only by :func:`_seat_take`: one conditional UPDATE of the slot's counter
(``booked < capacity``) that the database applies atomically, so under any crowd a slot never
holds more bookings than seats, with no read-then-write. The UPDATE also locks the slot's row
(PostgreSQL) or the database (SQLite, IMMEDIATE transactions) until commit, which makes the
following choice of the lowest free seat number safe; a partial unique constraint on
(slot, seat) backs it up.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.businessdays import is_business_day
from madoguchi.core.ratelimit import ratelimit_hit
from madoguchi.procedures.receipts import (
    ReceiptFormatError,
    lookup_secret_hash,
    lookup_secret_matches,
    lookup_secret_new,
    receipt_number_new,
    receipt_number_parse,
)
from madoguchi.reservations.errors import ErrorCode, ReservationError
from madoguchi.reservations.models import (
    LIVE,
    Booking,
    BookingStatus,
    ClosedDay,
    Resource,
    Slot,
    WaitlistEntry,
)
from madoguchi.tenants.models import Municipality

__all__ = [
    "BookingResult",
    "age_on",
    "booking_cancel",
    "booking_change",
    "booking_create",
    "booking_lookup",
    "booking_mark",
    "closed_day_add",
    "closed_day_remove",
    "eligibility_check",
    "resources_load",
    "slots_generate",
    "slots_import_csv",
    "waitlist_join",
]


@dataclass(frozen=True, slots=True)
class BookingResult:
    booking: Booking
    secret: str  # shown once to the resident, stored only as a keyed hash


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Age in full years on ``day`` (満年齢)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def eligibility_check(
    *, resource: Resource, day: datetime.date, birth_date: datetime.date | None, district: str
) -> None:
    """Refuse a resident outside the resource's age range or districts."""
    if resource.min_age is not None or resource.max_age is not None:
        if birth_date is None:
            raise ReservationError(ErrorCode.NOT_ELIGIBLE_AGE, field="birth_date")
        age = age_on(birth_date, day)
        if (resource.min_age is not None and age < resource.min_age) or (
            resource.max_age is not None and age > resource.max_age
        ):
            raise ReservationError(ErrorCode.NOT_ELIGIBLE_AGE, field="birth_date")
    if resource.districts and district not in resource.districts:
        raise ReservationError(ErrorCode.NOT_ELIGIBLE_DISTRICT, field="district")


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def _day_closed(*, resource: Resource, day: datetime.date) -> bool:
    """Whether ``day`` is a closed day of the resource or of its whole municipality."""
    return (
        ClosedDay.objects.filter(municipality_id=resource.municipality_id, day=day)
        .filter(Q(resource=resource) | Q(resource__isnull=True))
        .exists()
    )


def _seat_take(*, municipality: Municipality, slot_id: int) -> tuple[Slot, int]:
    """Take one seat of the slot or raise FULL (SLOT_UNKNOWN, SLOT_PAST); inside a transaction.

    The UPDATE names only the slot's own columns. A condition through a join (e.g. on the
    resource) makes Django write ``WHERE id IN (SELECT ...)``, whose subquery PostgreSQL does
    not re-check against the row a concurrent transaction just committed, so ``booked <
    capacity`` would be tested on a stale row (the check constraint then refuses the write).
    """
    found = (
        Slot.objects.select_related("resource")
        .filter(pk=slot_id, municipality=municipality, resource__active=True)
        .first()
    )
    if found is None:
        raise ReservationError(ErrorCode.SLOT_UNKNOWN, field="slot")
    now = timezone.now()
    if found.starts_at <= now:
        raise ReservationError(ErrorCode.SLOT_PAST, field="slot")
    if _day_closed(resource=found.resource, day=_local_day(found.starts_at)):
        raise ReservationError(ErrorCode.DAY_CLOSED, field="slot")
    try:
        with transaction.atomic():
            taken = Slot.objects.filter(
                pk=slot_id, municipality_id=municipality.pk, booked__lt=F("capacity")
            ).update(booked=F("booked") + 1)
    except IntegrityError:  # the check constraint: full, whatever the query above saw
        taken = 0
    if not taken:
        raise ReservationError(ErrorCode.FULL, field="slot")
    used = set(
        Booking.objects.filter(slot_id=slot_id)
        .exclude(status=BookingStatus.CANCELLED)
        .values_list("seat", flat=True)
    )
    seat = next(n for n in range(1, found.capacity + 1) if n not in used)
    return found, seat


def _seat_release(*, slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _booking_insert(*, slot: Slot, seat: int, fields: dict[str, object]) -> BookingResult:
    """Insert the booking with a fresh receipt number (retried on the rare collision)."""
    for _attempt in range(5):
        number = receipt_number_new()
        secret = lookup_secret_new()
        try:
            with transaction.atomic():
                booking = Booking.objects.create(
                    municipality_id=slot.municipality_id,
                    resource_id=slot.resource_id,
                    slot=slot,
                    seat=seat,
                    receipt_number=number,
                    secret_hash=lookup_secret_hash(number, secret),
                    **fields,
                )
        except IntegrityError:
            if Booking.objects.filter(receipt_number=number).exists():
                continue
            raise
        return BookingResult(booking, secret)
    raise RuntimeError("no free receipt number after 5 attempts")


def booking_create(
    *,
    municipality: Municipality,
    slot_id: int,
    name: str,
    email: str = "",
    phone: str = "",
    birth_date: datetime.date | None = None,
    district: str = "",
    language: str = "ja",
    channel: str = "web",
    line_user_id: str = "",
    actor: AuditActor,
) -> BookingResult:
    """Book one seat of the slot for a resident without an account.

    Raises ReservationError (FULL when the last seat went to someone else first).
    """
    slot = Slot.objects.select_related("resource").filter(pk=slot_id, municipality=municipality)
    found = slot.first()
    if found is None:
        raise ReservationError(ErrorCode.SLOT_UNKNOWN, field="slot")
    eligibility_check(
        resource=found.resource,
        day=_local_day(found.starts_at),
        birth_date=birth_date,
        district=district,
    )
    with transaction.atomic():
        taken, seat = _seat_take(municipality=municipality, slot_id=slot_id)
        result = _booking_insert(
            slot=taken,
            seat=seat,
            fields={
                "name": name,
                "email": email,
                "phone": phone,
                "birth_date": birth_date,
                "district": district,
                "language": language,
                "channel": channel,
                "line_user_id": line_user_id,
            },
        )
        audit_event(
            municipality=municipality,
            action="reservations.booking.create",
            actor=actor,
            obj=result.booking,
            data={"slot": taken.pk, "seat": seat, "channel": channel},
        )
    if email:
        from madoguchi.reservations import notify

        booking = result.booking
        secret = result.secret
        transaction.on_commit(lambda: notify.send_booked(booking=booking, secret=secret))
    return result


def booking_lookup(
    *, municipality: Municipality, receipt_text: str, secret_text: str, client: str
) -> Booking:
    """The booking proven by its receipt number and code, or LOOKUP_FAILED / RATE_LIMITED."""
    limit = ratelimit_hit(
        f"reservations:lookup:{client}",
        limit=settings.STATUS_LOOKUP_RATE_PER_CLIENT,
        window_seconds=60,
    )
    if not limit.allowed:
        raise ReservationError(ErrorCode.RATE_LIMITED)
    try:
        number = receipt_number_parse(receipt_text)
    except ReceiptFormatError:
        raise ReservationError(ErrorCode.LOOKUP_FAILED, field="receipt_number") from None
    booking = (
        Booking.objects.select_related("slot", "resource")
        .filter(municipality=municipality, receipt_number=number)
        .first()
    )
    if booking is None or not lookup_secret_matches(number, secret_text, booking.secret_hash):
        raise ReservationError(ErrorCode.LOOKUP_FAILED, field="secret")
    return booking


def _waitlist_offer(*, municipality: Municipality, slot_id: int, actor: AuditActor) -> None:
    """Give a freed seat to the first resident waiting for the slot, if any (same transaction)."""
    entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(municipality=municipality, slot_id=slot_id, booking__isnull=True)
        .order_by("created_at", "pk")
        .first()
    )
    if entry is None:
        return
    try:
        taken, seat = _seat_take(municipality=municipality, slot_id=slot_id)
    except ReservationError:
        return
    result = _booking_insert(
        slot=taken,
        seat=seat,
        fields={
            "name": entry.name,
            "email": entry.email,
            "language": entry.language,
            "channel": "waitlist",
        },
    )
    entry.booking = result.booking
    entry.save(update_fields=["booking"])
    audit_event(
        municipality=municipality,
        action="reservations.waitlist.offer",
        actor=actor,
        obj=result.booking,
        data={"slot": slot_id, "seat": seat, "waitlist": entry.pk},
    )
    from madoguchi.reservations import notify

    booking = result.booking
    secret = result.secret
    transaction.on_commit(lambda: notify.send_booked(booking=booking, secret=secret))


def booking_cancel(*, municipality: Municipality, booking_id: int, actor: AuditActor) -> Booking:
    """Cancel a live booking and free its seat (offered to the waiting list first)."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update()
            .filter(pk=booking_id, municipality=municipality)
            .first()
        )
        if booking is None or booking.status != BookingStatus.BOOKED:
            raise ReservationError(ErrorCode.NOT_LIVE)
        booking.status = BookingStatus.CANCELLED
        booking.save(update_fields=["status", "changed_at"])
        _seat_release(slot_id=booking.slot_id)
        audit_event(
            municipality=municipality,
            action="reservations.booking.cancel",
            actor=actor,
            obj=booking,
            data={"slot": booking.slot_id, "seat": booking.seat},
        )
        _waitlist_offer(municipality=municipality, slot_id=booking.slot_id, actor=actor)
    return booking


def booking_change(
    *, municipality: Municipality, booking_id: int, slot_id: int, actor: AuditActor
) -> Booking:
    """Move a live booking to another slot of the same resource, keeping its receipt number.

    The new seat is taken before the old one is freed, so a full target leaves the booking as
    it was.
    """
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update()
            .select_related("resource")
            .filter(pk=booking_id, municipality=municipality)
            .first()
        )
        if booking is None or booking.status != BookingStatus.BOOKED:
            raise ReservationError(ErrorCode.NOT_LIVE)
        if slot_id == booking.slot_id:
            raise ReservationError(ErrorCode.SAME_SLOT, field="slot")
        target = Slot.objects.filter(
            pk=slot_id, municipality=municipality, resource_id=booking.resource_id
        ).first()
        if target is None:
            raise ReservationError(ErrorCode.SLOT_UNKNOWN, field="slot")
        eligibility_check(
            resource=booking.resource,
            day=_local_day(target.starts_at),
            birth_date=booking.birth_date,
            district=booking.district,
        )
        taken, seat = _seat_take(municipality=municipality, slot_id=slot_id)
        old_slot, old_seat = booking.slot_id, booking.seat
        booking.slot = taken
        booking.seat = seat
        booking.reminded_at = None
        booking.save(update_fields=["slot", "seat", "reminded_at", "changed_at"])
        _seat_release(slot_id=old_slot)
        audit_event(
            municipality=municipality,
            action="reservations.booking.change",
            actor=actor,
            obj=booking,
            data={"from_slot": old_slot, "from_seat": old_seat, "slot": slot_id, "seat": seat},
        )
        _waitlist_offer(municipality=municipality, slot_id=old_slot, actor=actor)
    return booking


def booking_mark(
    *, municipality: Municipality, booking_id: int, status: str, actor: AuditActor
) -> Booking:
    """Staff mark attendance: attended, no-show, or back to booked (a mistaken click)."""
    if status not in LIVE:
        raise ReservationError(ErrorCode.NOT_LIVE)
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update()
            .filter(pk=booking_id, municipality=municipality)
            .first()
        )
        if booking is None or booking.status == BookingStatus.CANCELLED:
            raise ReservationError(ErrorCode.NOT_LIVE)
        before = booking.status
        booking.status = status
        booking.save(update_fields=["status", "changed_at"])
        audit_event(
            municipality=municipality,
            action="reservations.booking.mark",
            actor=actor,
            obj=booking,
            data={"from": before, "to": status},
        )
    return booking


def waitlist_join(
    *,
    municipality: Municipality,
    slot_id: int,
    name: str,
    email: str,
    birth_date: datetime.date | None = None,
    district: str = "",
    language: str = "ja",
    actor: AuditActor,
) -> WaitlistEntry:
    """Queue for a full slot; a freed seat goes to the first in the queue."""
    slot = Slot.objects.select_related("resource").filter(pk=slot_id, municipality=municipality)
    found = slot.first()
    if found is None or not found.resource.active:
        raise ReservationError(ErrorCode.SLOT_UNKNOWN, field="slot")
    if not found.resource.waitlist_enabled:
        raise ReservationError(ErrorCode.WAITLIST_OFF)
    if found.starts_at <= timezone.now():
        raise ReservationError(ErrorCode.SLOT_PAST, field="slot")
    if _day_closed(resource=found.resource, day=_local_day(found.starts_at)):
        raise ReservationError(ErrorCode.DAY_CLOSED, field="slot")
    if found.free > 0:
        raise ReservationError(ErrorCode.NOT_FULL, field="slot")
    eligibility_check(
        resource=found.resource,
        day=_local_day(found.starts_at),
        birth_date=birth_date,
        district=district,
    )
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(
            municipality=municipality, slot=found, name=name, email=email, language=language
        )
        audit_event(
            municipality=municipality,
            action="reservations.waitlist.join",
            actor=actor,
            obj=entry,
            data={"slot": slot_id},
        )
    return entry


def closed_day_add(
    *,
    municipality: Municipality,
    resource_id: int | None,
    day: datetime.date,
    note: str = "",
    actor: AuditActor,
) -> ClosedDay:
    """Close ``day`` for one resource, or for every resource (``resource_id`` None).

    The day's slots are no longer offered nor bookable. Bookings already made for that day are
    kept, not cancelled: staff see them on the closed-days page and the day's list and contact
    the residents (a silent cancellation would leave someone standing at a closed door).
    """
    resource = None
    if resource_id is not None:
        resource = Resource.objects.filter(municipality=municipality, pk=resource_id).first()
        if resource is None:
            raise ReservationError(ErrorCode.RESOURCE_UNKNOWN, field="resource")
    if day < timezone.localdate():
        raise ReservationError(ErrorCode.CLOSED_DAY_PAST, field="day")
    with transaction.atomic():
        try:
            with transaction.atomic():
                closed = ClosedDay.objects.create(
                    municipality=municipality, resource=resource, day=day, note=note.strip()
                )
        except IntegrityError:
            raise ReservationError(ErrorCode.CLOSED_DAY_EXISTS, field="day") from None
        audit_event(
            municipality=municipality,
            action="reservations.closed_day.create",
            actor=actor,
            obj=closed,
            data={
                "day": day.isoformat(),
                "resource": resource.code if resource is not None else "",
                "note": closed.note,
            },
        )
    return closed


def closed_day_remove(*, municipality: Municipality, closed_day_id: int, actor: AuditActor) -> None:
    """Open a closed day again: its slots, kept all along, are offered again."""
    with transaction.atomic():
        closed = (
            ClosedDay.objects.select_for_update(of=("self",))
            .select_related("resource")
            .filter(municipality=municipality, pk=closed_day_id)
            .first()
        )
        if closed is None:
            raise ReservationError(ErrorCode.CLOSED_DAY_UNKNOWN)
        audit_event(
            municipality=municipality,
            action="reservations.closed_day.delete",
            actor=actor,
            obj=closed,
            data={
                "day": closed.day.isoformat(),
                "resource": closed.resource.code if closed.resource is not None else "",
            },
        )
        closed.delete()


def slots_generate(
    *, resource: Resource, start: datetime.date, end: datetime.date, actor: AuditActor
) -> int:
    """Create the slots of the weekly rules from ``start`` to ``end`` (inclusive).

    Closed days of the office (土日祝, 年末年始) are skipped unless the resource opens on
    holidays, and so are the resource's own closed days. Existing slots are kept as they are.
    Returns the number of new slots.
    """
    closed = set(
        ClosedDay.objects.filter(municipality_id=resource.municipality_id, day__range=(start, end))
        .filter(Q(resource=resource) | Q(resource__isnull=True))
        .values_list("day", flat=True)
    )
    rules = list(resource.rules.all())
    zone = timezone.get_current_timezone()
    new: list[Slot] = []
    day = start
    while day <= end:
        if day not in closed and (resource.open_on_holidays or is_business_day(day)):
            for rule in rules:
                if rule.weekday != day.weekday():
                    continue
                moment = datetime.datetime.combine(day, rule.start, tzinfo=zone)
                finish = datetime.datetime.combine(day, rule.end, tzinfo=zone)
                step = datetime.timedelta(minutes=rule.slot_minutes)
                while moment + step <= finish:
                    new.append(
                        Slot(
                            municipality_id=resource.municipality_id,
                            resource=resource,
                            starts_at=moment,
                            ends_at=moment + step,
                            capacity=rule.capacity,
                        )
                    )
                    moment += step
        day += datetime.timedelta(days=1)
    return _slots_store(resource=resource, slots=new, actor=actor, source="weekly")


def _slots_store(*, resource: Resource, slots: list[Slot], actor: AuditActor, source: str) -> int:
    with transaction.atomic():
        before = Slot.objects.filter(resource=resource).count()
        Slot.objects.bulk_create(slots, ignore_conflicts=True)
        created = Slot.objects.filter(resource=resource).count() - before
        if not created:
            return 0  # nothing changed: nothing to record (the demo loads again idempotently)
        audit_event(
            municipality=resource.municipality,
            action="reservations.slots.create",
            actor=actor,
            obj=resource,
            data={"source": source, "created": created},
        )
    return created


def _line(number: int) -> str:
    return _("（%(line)s行目）") % {"line": number}


def slots_import_csv(*, resource: Resource, text: str, actor: AuditActor) -> int:
    """Create slots from CSV lines ``date,start,end,capacity`` (2026-12-07,09:00,09:30,4).

    A header line is allowed. Any wrong line refuses the whole file (CSV_INVALID with the
    line number), so nothing is half imported.
    """
    zone = timezone.get_current_timezone()
    slots: list[Slot] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (number == 1 and row[0].strip().lower() in {"date", "日付"}):
            continue
        try:
            day_text, start_text, end_text, capacity_text = (cell.strip() for cell in row)
            day = datetime.date.fromisoformat(day_text)
            starts = datetime.datetime.combine(
                day, datetime.time.fromisoformat(start_text), tzinfo=zone
            )
            ends = datetime.datetime.combine(
                day, datetime.time.fromisoformat(end_text), tzinfo=zone
            )
            capacity = int(capacity_text)
        except ValueError:
            raise ReservationError(
                ErrorCode.CSV_INVALID, field="file", detail=_line(number)
            ) from None
        if ends <= starts or not 1 <= capacity <= 10_000:
            raise ReservationError(ErrorCode.CSV_INVALID, field="file", detail=_line(number))
        slots.append(
            Slot(
                municipality_id=resource.municipality_id,
                resource=resource,
                starts_at=starts,
                ends_at=ends,
                capacity=capacity,
            )
        )
    if not slots:
        raise ReservationError(ErrorCode.CSV_INVALID, field="file")
    return _slots_store(resource=resource, slots=slots, actor=actor, source="csv")


def resources_load(
    *, municipality: Municipality, data: list[dict[str, Any]], actor: AuditActor
) -> int:
    """Create or update resources with their weekly rules and closed days from plain data.

    Each item: ``code``, ``name``, ``kind`` and optionally ``name_en``, ``place``,
    ``description``, ``department`` (a department code), ``min_age``, ``max_age``,
    ``districts``, ``waitlist``, ``open_on_holidays``, ``weekly`` (a list of
    ``{"weekdays": [0, 1], "start": "09:00", "end": "12:00", "minutes": 30, "capacity": 2}``)
    and ``closed`` (ISO dates). The weekly rules given replace the resource's rules. Returns the
    number of resources written; any invalid item refuses the whole load (ValueError).
    """
    from madoguchi.reservations.models import ResourceKind, WeeklyRule
    from madoguchi.tenants.models import Department

    with transaction.atomic():
        for item in data:
            department = None
            if item.get("department"):
                department = Department.objects.filter(
                    municipality=municipality, code=item["department"]
                ).first()
                if department is None:
                    raise ValueError(f"unknown department {item['department']!r}")
            if item.get("kind") not in ResourceKind.values:
                raise ValueError(f"unknown kind {item.get('kind')!r}")
            resource, _created = Resource.objects.update_or_create(
                municipality=municipality,
                code=str(item["code"]),
                defaults={
                    "name": str(item["name"]),
                    "name_en": str(item.get("name_en", "")),
                    "kind": item["kind"],
                    "place": str(item.get("place", "")),
                    "description": str(item.get("description", "")),
                    "department": department,
                    "min_age": item.get("min_age"),
                    "max_age": item.get("max_age"),
                    "districts": [str(d) for d in item.get("districts", [])],
                    "waitlist_enabled": bool(item.get("waitlist", False)),
                    "open_on_holidays": bool(item.get("open_on_holidays", False)),
                    "active": bool(item.get("active", True)),
                },
            )
            if "weekly" in item:
                resource.rules.all().delete()
                for rule in item["weekly"]:
                    start = datetime.time.fromisoformat(rule["start"])
                    end = datetime.time.fromisoformat(rule["end"])
                    minutes = int(rule.get("minutes", 30))
                    capacity = int(rule.get("capacity", 1))
                    if end <= start or not 5 <= minutes <= 480 or capacity < 1:
                        raise ValueError(f"bad weekly rule {rule!r}")
                    for weekday in rule["weekdays"]:
                        if not 0 <= int(weekday) <= 6:
                            raise ValueError(f"bad weekday {weekday!r}")
                        WeeklyRule.objects.create(
                            resource=resource,
                            weekday=int(weekday),
                            start=start,
                            end=end,
                            slot_minutes=minutes,
                            capacity=capacity,
                        )
            for day in item.get("closed", []):
                ClosedDay.objects.get_or_create(
                    resource=resource,
                    day=datetime.date.fromisoformat(day),
                    defaults={"municipality": municipality},
                )
            audit_event(
                municipality=municipality,
                action="reservations.resource.save",
                actor=actor,
                obj=resource,
                data={"code": resource.code},
            )
    return len(data)
