"""Booking, cancelling, changing, attendance, waiting list, slot generation and the reminder."""

from __future__ import annotations

import datetime
import email
from email.header import decode_header, make_header
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.procedures.receipts import lookup_secret_matches, receipt_number_parse
from madoguchi.reservations import services, tasks
from madoguchi.reservations.errors import ErrorCode, ReservationError
from madoguchi.reservations.models import (
    Booking,
    BookingStatus,
    ClosedDay,
    Slot,
    WaitlistEntry,
    WeeklyRule,
)
from tests.isolation import Tenant, snapshot
from tests.reservations.conftest import ACTOR, resource_new, slot_new

pytestmark = pytest.mark.django_db


def test_a_booking_takes_the_lowest_free_seat_and_gets_a_receipt_and_code(
    tenant_a: Tenant,
) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), capacity=2)
    result = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="神戸 花子", actor=ACTOR
    )
    booking = result.booking
    assert receipt_number_parse(booking.receipt_number) == booking.receipt_number
    assert lookup_secret_matches(booking.receipt_number, result.secret, booking.secret_hash)
    assert booking.seat == 1
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert AuditEntry.objects.filter(action="reservations.booking.create").count() == 1


def test_a_full_slot_refuses_and_changes_nothing(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), capacity=1)
    services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="一人目", actor=ACTOR
    )
    before = snapshot(Booking.objects.all()), snapshot(Slot.objects.all())
    with pytest.raises(ReservationError) as refused:
        services.booking_create(
            municipality=tenant_a.municipality, slot_id=slot.pk, name="二人目", actor=ACTOR
        )
    assert refused.value.code == ErrorCode.FULL
    assert "満員" in refused.value.message
    assert (snapshot(Booking.objects.all()), snapshot(Slot.objects.all())) == before


def test_another_municipality_cannot_book_the_slot(tenant_a: Tenant, tenant_b: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality))
    with pytest.raises(ReservationError) as refused:
        services.booking_create(
            municipality=tenant_b.municipality, slot_id=slot.pk, name="佐用 太郎", actor=ACTOR
        )
    assert refused.value.code == ErrorCode.SLOT_UNKNOWN
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_a_past_slot_is_refused(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), days_ahead=-1)
    with pytest.raises(ReservationError) as refused:
        services.booking_create(
            municipality=tenant_a.municipality, slot_id=slot.pk, name="過去", actor=ACTOR
        )
    assert refused.value.code == ErrorCode.SLOT_PAST
    assert Booking.objects.count() == 0


def test_eligibility_by_age_on_the_day_and_by_district(tenant_a: Tenant) -> None:
    resource = resource_new(
        tenant_a.municipality, min_age=65, districts=["中央区", "灘区"], code="vaccine"
    )
    slot = slot_new(resource)
    day = timezone.localtime(slot.starts_at).date()
    turning_65_next_day = day.replace(year=day.year - 65) + datetime.timedelta(days=1)
    with pytest.raises(ReservationError) as young:
        services.booking_create(
            municipality=tenant_a.municipality,
            slot_id=slot.pk,
            name="若い人",
            birth_date=turning_65_next_day,
            district="中央区",
            actor=ACTOR,
        )
    assert young.value.code == ErrorCode.NOT_ELIGIBLE_AGE
    with pytest.raises(ReservationError) as elsewhere:
        services.booking_create(
            municipality=tenant_a.municipality,
            slot_id=slot.pk,
            name="北区の人",
            birth_date=datetime.date(1950, 1, 1),
            district="北区",
            actor=ACTOR,
        )
    assert elsewhere.value.code == ErrorCode.NOT_ELIGIBLE_DISTRICT
    assert Booking.objects.count() == 0
    ok = services.booking_create(
        municipality=tenant_a.municipality,
        slot_id=slot.pk,
        name="対象の人",
        birth_date=turning_65_next_day - datetime.timedelta(days=1),
        district="灘区",
        actor=ACTOR,
    )
    assert ok.booking.district == "灘区"


def test_cancel_frees_the_seat_and_a_second_cancel_is_refused(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), capacity=1)
    booking = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="取消", actor=ACTOR
    ).booking
    services.booking_cancel(municipality=tenant_a.municipality, booking_id=booking.pk, actor=ACTOR)
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    with pytest.raises(ReservationError) as again:
        services.booking_cancel(
            municipality=tenant_a.municipality, booking_id=booking.pk, actor=ACTOR
        )
    assert again.value.code == ErrorCode.NOT_LIVE
    assert Slot.objects.get(pk=slot.pk).booked == 0
    other = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="次の人", actor=ACTOR
    ).booking
    assert other.seat == 1


def test_change_moves_the_booking_and_a_full_target_leaves_it_unchanged(tenant_a: Tenant) -> None:
    resource = resource_new(tenant_a.municipality)
    first = slot_new(resource, capacity=1, hour=10)
    second = slot_new(resource, capacity=1, hour=11)
    third = slot_new(resource, capacity=1, hour=12)
    booking = services.booking_create(
        municipality=tenant_a.municipality, slot_id=first.pk, name="変更", actor=ACTOR
    ).booking
    services.booking_create(
        municipality=tenant_a.municipality, slot_id=third.pk, name="満員", actor=ACTOR
    )
    services.booking_change(
        municipality=tenant_a.municipality, booking_id=booking.pk, slot_id=second.pk, actor=ACTOR
    )
    moved = Booking.objects.get(pk=booking.pk)
    assert (moved.slot_id, moved.receipt_number) == (second.pk, booking.receipt_number)
    assert [Slot.objects.get(pk=s.pk).booked for s in (first, second, third)] == [0, 1, 1]
    before = snapshot(Booking.objects.all()), snapshot(Slot.objects.all())
    with pytest.raises(ReservationError) as full:
        services.booking_change(
            municipality=tenant_a.municipality, booking_id=booking.pk, slot_id=third.pk, actor=ACTOR
        )
    assert full.value.code == ErrorCode.FULL
    assert (snapshot(Booking.objects.all()), snapshot(Slot.objects.all())) == before


def test_a_freed_seat_goes_to_the_first_on_the_waiting_list(
    tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    resource = resource_new(tenant_a.municipality, waitlist_enabled=True)
    slot = slot_new(resource, capacity=1)
    taken = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="先の人", actor=ACTOR
    ).booking
    first = services.waitlist_join(
        municipality=tenant_a.municipality,
        slot_id=slot.pk,
        name="待つ人1",
        email="w1@example.jp",
        actor=ACTOR,
    )
    services.waitlist_join(
        municipality=tenant_a.municipality,
        slot_id=slot.pk,
        name="待つ人2",
        email="w2@example.jp",
        actor=ACTOR,
    )
    services.booking_cancel(municipality=tenant_a.municipality, booking_id=taken.pk, actor=ACTOR)
    first.refresh_from_db()
    assert first.booking is not None
    assert first.booking.name == "待つ人1"
    assert first.booking.status == BookingStatus.BOOKED
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert WaitlistEntry.objects.filter(booking__isnull=True).get().name == "待つ人2"


def test_the_waiting_list_is_refused_while_seats_are_free(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality, waitlist_enabled=True), capacity=1)
    with pytest.raises(ReservationError) as refused:
        services.waitlist_join(
            municipality=tenant_a.municipality,
            slot_id=slot.pk,
            name="早い人",
            email="e@example.jp",
            actor=ACTOR,
        )
    assert refused.value.code == ErrorCode.NOT_FULL
    assert WaitlistEntry.objects.count() == 0


def test_attendance_marks_and_refusal_of_an_unknown_status(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality))
    booking = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="来所", actor=ACTOR
    ).booking
    services.booking_mark(
        municipality=tenant_a.municipality, booking_id=booking.pk, status="attended", actor=ACTOR
    )
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ATTENDED
    with pytest.raises(ReservationError):
        services.booking_mark(
            municipality=tenant_a.municipality, booking_id=booking.pk, status="gone", actor=ACTOR
        )
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.ATTENDED


def test_slots_from_the_weekly_calendar_skip_holidays_and_closed_days(tenant_a: Tenant) -> None:
    resource = resource_new(tenant_a.municipality)
    # Monday 2027-01-11 is 成人の日; Tuesday 01-12 is closed for inspection; Wed 01-13 is open.
    for weekday in (0, 1, 2):
        WeeklyRule.objects.create(
            resource=resource,
            weekday=weekday,
            start=datetime.time(9, 0),
            end=datetime.time(10, 0),
            slot_minutes=30,
            capacity=3,
        )
    ClosedDay.objects.create(
        municipality=resource.municipality, resource=resource, day=datetime.date(2027, 1, 12)
    )
    created = services.slots_generate(
        resource=resource,
        start=datetime.date(2027, 1, 11),
        end=datetime.date(2027, 1, 13),
        actor=ACTOR,
    )
    assert created == 2
    starts = [timezone.localtime(s.starts_at) for s in Slot.objects.filter(resource=resource)]
    assert [(s.date().isoformat(), s.strftime("%H:%M")) for s in starts] == [
        ("2027-01-13", "09:00"),
        ("2027-01-13", "09:30"),
    ]
    again = services.slots_generate(
        resource=resource,
        start=datetime.date(2027, 1, 11),
        end=datetime.date(2027, 1, 13),
        actor=ACTOR,
    )
    assert again == 0


def test_csv_import_creates_slots_and_a_bad_line_imports_nothing(tenant_a: Tenant) -> None:
    resource = resource_new(tenant_a.municipality)
    created = services.slots_import_csv(
        resource=resource,
        text="date,start,end,capacity\n2027-02-01,09:00,09:30,4\n2027-02-01,09:30,10:00,4\n",
        actor=ACTOR,
    )
    assert created == 2
    with pytest.raises(ReservationError) as refused:
        services.slots_import_csv(
            resource=resource,
            text="2027-02-02,09:00,09:30,4\n2027-02-02,10:00,09:00,4\n",
            actor=ACTOR,
        )
    assert refused.value.code == ErrorCode.CSV_INVALID
    assert "2行目" in refused.value.message
    assert Slot.objects.filter(resource=resource).count() == 2


def test_the_day_before_reminder_is_sent_once_over_smtp(
    tenant_a: Tenant, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), days_ahead=1)
    booking = services.booking_create(
        municipality=tenant_a.municipality,
        slot_id=slot.pk,
        name="通知",
        email="remind@example.jp",
        actor=ACTOR,
    ).booking
    day = timezone.localtime(slot.starts_at).date()
    assert tasks.reminders_due(day=day) == 1
    assert tasks.reminders_due(day=day) == 0
    [(_sender, recipients, data)] = smtp_server.messages
    assert recipients == ["<remind@example.jp>"]
    message = email.message_from_bytes(data)
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject.startswith("明日のご予約のお知らせ")
    assert booking.receipt_number[:5] in subject
    assert Booking.objects.get(pk=booking.pk).reminded_at is not None


def test_resources_are_defined_from_json_through_the_command(
    tenant_a: Tenant, tmp_path: Any
) -> None:
    from django.core.management import CommandError, call_command

    path = tmp_path / "resources.json"
    path.write_text(
        """[{"code": "flu", "name": "インフルエンザ予防接種", "kind": "clinic",
             "department": "welfare", "min_age": 65, "districts": ["中央区"], "waitlist": true,
             "weekly": [{"weekdays": [0, 2], "start": "09:00", "end": "10:00",
                         "minutes": 20, "capacity": 5}],
             "closed": ["2027-01-13"]}]""",
        encoding="utf-8",
    )
    call_command("reservations", "resources", str(path), "--municipality", tenant_a.slug)
    resource = tenant_a.municipality.resource_set.get(code="flu")
    assert (resource.min_age, resource.districts, resource.waitlist_enabled) == (
        65,
        ["中央区"],
        True,
    )
    assert resource.department == tenant_a.departments["welfare"]
    assert sorted(resource.rules.values_list("weekday", "capacity")) == [(0, 5), (2, 5)]
    path.write_text('[{"code": "x", "name": "x", "kind": "spaceship"}]', encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("reservations", "resources", str(path), "--municipality", tenant_a.slug)
    assert not tenant_a.municipality.resource_set.filter(code="x").exists()


def test_no_reminder_is_sent_for_a_booking_on_a_day_closed_after_it_was_made(
    tenant_a: Tenant, smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Staff contact those residents (the closed-days page lists them); a reminder would tell
    them to come. A booking of another resource that day is still reminded."""
    resource = resource_new(tenant_a.municipality)
    other = resource_new(tenant_a.municipality, code="hall", name="市民ホール")
    bookings = [
        services.booking_create(
            municipality=tenant_a.municipality,
            slot_id=slot_new(r, days_ahead=1).pk,
            name="通知",
            email=f"{r.code}@example.jp",
            actor=ACTOR,
        ).booking
        for r in (resource, other)
    ]
    day = timezone.localtime(bookings[0].slot.starts_at).date()
    services.closed_day_add(
        municipality=tenant_a.municipality, resource_id=resource.pk, day=day, note="", actor=ACTOR
    )

    assert tasks.reminders_due(day=day) == 1

    assert [rs for _s, rs, _d in smtp_server.messages] == [["<hall@example.jp>"]]
    assert Booking.objects.get(pk=bookings[0].pk).reminded_at is None
