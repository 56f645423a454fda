"""Reads of reservations, always for one municipality."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from madoguchi.core.crypto import blind_index
from madoguchi.reservations.models import Booking, BookingStatus, ClosedDay, Resource, Slot
from madoguchi.tenants.models import Municipality

__all__ = [
    "ClosedDayRow",
    "UsageRow",
    "booking_get",
    "booking_of_line_user",
    "bookings_of_day",
    "bookings_of_line_user",
    "bookings_to_remind",
    "closed_dates",
    "closed_day_of",
    "closed_days_ahead",
    "line_user_key",
    "resource_get",
    "resource_list",
    "slot_get",
    "slots_open",
    "usage_report",
]


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    return start, start + datetime.timedelta(days=1)


def resource_list(*, municipality: Municipality) -> QuerySet[Resource]:
    return Resource.objects.filter(municipality=municipality, active=True).order_by("name")


def resource_get(*, municipality: Municipality, code: str) -> Resource | None:
    return Resource.objects.filter(municipality=municipality, code=code, active=True).first()


def slot_get(*, municipality: Municipality, slot_id: int) -> Slot | None:
    return (
        Slot.objects.select_related("resource")
        .filter(pk=slot_id, municipality=municipality, resource__active=True)
        .first()
    )


def slots_open(
    *, resource: Resource, start: datetime.date, days: int = 14, exclude: int | None = None
) -> list[Slot]:
    """The future slots of ``days`` days from ``start`` (full ones too, to show them as full)."""
    begin, _ = _day_bounds(start)
    end = begin + datetime.timedelta(days=days)
    slots = Slot.objects.filter(
        municipality_id=resource.municipality_id,
        resource=resource,
        starts_at__gte=max(begin, timezone.now()),
        starts_at__lt=end,
    ).order_by("starts_at")
    if exclude is not None:
        slots = slots.exclude(pk=exclude)
    closed = closed_dates(resource=resource, start=start, end=start + datetime.timedelta(days=days))
    return [s for s in slots if timezone.localtime(s.starts_at).date() not in closed]


def closed_dates(
    *, resource: Resource, start: datetime.date, end: datetime.date
) -> set[datetime.date]:
    """The closed days of the resource and of its whole municipality in ``start``..``end``."""
    return set(
        ClosedDay.objects.filter(municipality_id=resource.municipality_id, day__range=(start, end))
        .filter(Q(resource=resource) | Q(resource__isnull=True))
        .values_list("day", flat=True)
    )


def closed_day_of(*, resource: Resource, day: datetime.date) -> ClosedDay | None:
    """The closed day covering ``day`` for the resource (its own first), if any."""
    return (
        ClosedDay.objects.filter(municipality_id=resource.municipality_id, day=day)
        .filter(Q(resource=resource) | Q(resource__isnull=True))
        .order_by(F("resource").asc(nulls_last=True))
        .first()
    )


@dataclass(frozen=True, slots=True)
class ClosedDayRow:
    """A closed day with the live bookings still standing on it, per resource."""

    closed: ClosedDay
    bookings: list[tuple[Resource, int]]

    @property
    def total(self) -> int:
        return sum(n for _resource, n in self.bookings)


def closed_days_ahead(*, municipality: Municipality, start: datetime.date) -> list[ClosedDayRow]:
    """Closed days from ``start`` on, each with the count of bookings (予約中) on it per
    resource: bookings made before the day was closed, which staff must follow up."""
    rows: list[ClosedDayRow] = []
    closed_days = ClosedDay.objects.filter(municipality=municipality, day__gte=start)
    for closed in closed_days.select_related("resource").order_by("day", "resource__name"):
        begin, end = _day_bounds(closed.day)
        live = Booking.objects.filter(
            municipality=municipality,
            status=BookingStatus.BOOKED,
            slot__starts_at__gte=begin,
            slot__starts_at__lt=end,
        )
        if closed.resource_id is not None:
            live = live.filter(resource_id=closed.resource_id)
        counts = {
            row["resource"]: row["n"]
            for row in live.values("resource").annotate(n=Count("pk")).order_by()
        }
        resources = Resource.objects.filter(pk__in=counts).order_by("name")
        rows.append(ClosedDayRow(closed, [(r, counts[r.pk]) for r in resources]))
    return rows


def booking_get(*, municipality: Municipality, booking_id: int) -> Booking | None:
    return (
        Booking.objects.select_related("slot", "resource")
        .filter(pk=booking_id, municipality=municipality)
        .first()
    )


def line_user_key(user_id: str) -> str:
    """The blind index of a LINE user id as stored on bookings and drafts."""
    return blind_index(user_id, purpose="reservations.line_user")


def bookings_of_line_user(
    *, municipality: Municipality, line_user_id: str, limit: int = 12
) -> list[Booking]:
    """The LINE user's live bookings still to come, soonest first."""
    return list(
        Booking.objects.select_related("slot", "resource")
        .filter(
            municipality=municipality,
            line_user_key=line_user_key(line_user_id),
            status=BookingStatus.BOOKED,
            slot__starts_at__gt=timezone.now(),
        )
        .order_by("slot__starts_at", "pk")[:limit]
    )


def booking_of_line_user(
    *, municipality: Municipality, line_user_id: str, booking_id: int
) -> Booking | None:
    """One booking, only when this LINE user made it on this municipality's account."""
    return (
        Booking.objects.select_related("slot", "resource")
        .filter(pk=booking_id, municipality=municipality, line_user_key=line_user_key(line_user_id))
        .first()
    )


def bookings_of_day(
    *, municipality: Municipality, resource: Resource, day: datetime.date
) -> QuerySet[Booking]:
    """Every booking of the day (cancelled ones last), for the staff list."""
    start, end = _day_bounds(day)
    return (
        Booking.objects.select_related("slot")
        .filter(
            municipality=municipality,
            resource=resource,
            slot__starts_at__gte=start,
            slot__starts_at__lt=end,
        )
        .order_by("slot__starts_at", "seat", "pk")
    )


def bookings_to_remind(*, day: datetime.date) -> QuerySet[Booking]:
    """Live bookings of ``day`` not reminded yet that have an e-mail address or a LINE user.

    A booking standing on a day closed after it was made gets no "see you tomorrow": staff
    contact those residents (the closed-days page lists them).
    """
    start, end = _day_bounds(day)
    closed = ClosedDay.objects.filter(municipality_id=OuterRef("municipality_id"), day=day).filter(
        Q(resource_id=OuterRef("resource_id")) | Q(resource__isnull=True)
    )
    return (
        Booking.objects.select_related("slot", "resource", "municipality")
        .filter(
            status=BookingStatus.BOOKED,
            slot__starts_at__gte=start,
            slot__starts_at__lt=end,
            reminded_at__isnull=True,
        )
        .exclude(email="", line_user_key__isnull=True)
        .exclude(Exists(closed))
        .order_by("pk")
    )


@dataclass(frozen=True, slots=True)
class UsageRow:
    resource: Resource
    capacity: int
    booked: int
    attended: int
    no_show: int
    closed_days: int = 0  # closed days in the period, whose slots are left out

    @property
    def use_percent(self) -> int:
        return round(100 * self.booked / self.capacity) if self.capacity else 0

    @property
    def no_show_percent(self) -> int:
        marked = self.attended + self.no_show
        return round(100 * self.no_show / marked) if marked else 0


def usage_report(
    *, municipality: Municipality, start: datetime.date, end: datetime.date
) -> list[UsageRow]:
    """Capacity, bookings, attendance and no-shows per resource for ``start``..``end``.

    The slots of closed days are left out (their seats were never on offer, and their bookings
    are followed up on the closed-days page), so the rate of use is that of the open days.
    """
    begin, _ = _day_bounds(start)
    _, finish = _day_bounds(end)
    rows: list[UsageRow] = []
    for resource in Resource.objects.filter(municipality=municipality).order_by("name"):
        closed = closed_dates(resource=resource, start=start, end=end)
        slots = Slot.objects.filter(resource=resource, starts_at__gte=begin, starts_at__lt=finish)
        bookings = Booking.objects.filter(
            resource=resource, slot__starts_at__gte=begin, slot__starts_at__lt=finish
        )
        if closed:
            slots = slots.exclude(starts_at__date__in=closed)
            bookings = bookings.exclude(slot__starts_at__date__in=closed)
        sums = slots.aggregate(capacity=Sum("capacity"), booked=Sum("booked"))
        marks = bookings.aggregate(
            attended=Count("pk", filter=Q(status=BookingStatus.ATTENDED)),
            no_show=Count("pk", filter=Q(status=BookingStatus.NO_SHOW)),
        )
        rows.append(
            UsageRow(
                resource,
                sums["capacity"] or 0,
                sums["booked"] or 0,
                marks["attended"],
                marks["no_show"],
                len(closed),
            )
        )
    return rows
