"""Closed days set by the admin: their slots are neither offered nor bookable, bookings made
before stay and are shown to staff, bad input is refused, and only the own admin edits them."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.reservations import services
from madoguchi.reservations.errors import ErrorCode, ReservationError
from madoguchi.reservations.models import Booking, BookingStatus, ClosedDay, WeeklyRule
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.reservations.conftest import ACTOR, resource_new, slot_new

pytestmark = pytest.mark.django_db

PAGE = "staff/reservations/closed/"


def _day(days_ahead: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days_ahead)


def _add(tenant: Tenant, **data: str) -> dict[str, str]:
    return {"action": "add", "resource": "", "day": "", "note": "", **data}


def test_a_closed_day_of_a_resource_hides_its_slots_and_refuses_bookings(
    tenant_a: Tenant,
) -> None:
    resource = resource_new(tenant_a.municipality, waitlist_enabled=True)
    other = resource_new(tenant_a.municipality, code="hall", name="市民ホール")
    closed_slot = slot_new(resource, days_ahead=3)
    open_slot = slot_new(resource, days_ahead=4)
    other_slot = slot_new(other, days_ahead=3)
    services.closed_day_add(
        municipality=tenant_a.municipality,
        resource_id=resource.pk,
        day=_day(3),
        note="施設点検",
        actor=ACTOR,
    )
    listing = Client().get(tenant_a.url(f"reservations/{resource.code}/")).content.decode()
    assert f"/{closed_slot.pk}/" not in listing
    assert f"/{open_slot.pk}/" in listing
    # Another resource on the same day stays open.
    hall = Client().get(tenant_a.url(f"reservations/{other.code}/")).content.decode()
    assert f"/{other_slot.pk}/" in hall

    response = Client().post(
        tenant_a.url(f"reservations/{resource.code}/{closed_slot.pk}/"), {"name": "神戸 花子"}
    )
    assert response.status_code == 400
    assert "この日は休みのため予約できません。" in response.content.decode()
    assert not Booking.objects.exists()
    closed_slot.refresh_from_db()
    assert closed_slot.booked == 0
    # Joining the waiting list of a full slot on that day is refused too.
    closed_slot.capacity = 0
    closed_slot.save()
    with pytest.raises(ReservationError) as refused:
        services.waitlist_join(
            municipality=tenant_a.municipality,
            slot_id=closed_slot.pk,
            name="神戸 花子",
            email="hanako@example.jp",
            actor=ACTOR,
        )
    assert refused.value.code == ErrorCode.DAY_CLOSED


def test_a_municipality_wide_closed_day_closes_every_resource_and_reopens(
    tenant_a: Tenant,
) -> None:
    counter = resource_new(tenant_a.municipality)
    hall = resource_new(tenant_a.municipality, code="hall", name="市民ホール")
    slots = [slot_new(counter, days_ahead=5), slot_new(hall, days_ahead=5)]
    closed = services.closed_day_add(
        municipality=tenant_a.municipality, resource_id=None, day=_day(5), actor=ACTOR
    )
    for slot in slots:
        page = Client().get(tenant_a.url(f"reservations/{slot.resource.code}/")).content.decode()
        assert f"/{slot.pk}/" not in page
    with pytest.raises(ReservationError) as refused:
        services.booking_create(
            municipality=tenant_a.municipality, slot_id=slots[1].pk, name="佐用 太郎", actor=ACTOR
        )
    assert refused.value.code == ErrorCode.DAY_CLOSED
    # Opened again: the slots, kept all along, are offered and bookable.
    services.closed_day_remove(
        municipality=tenant_a.municipality, closed_day_id=closed.pk, actor=ACTOR
    )
    page = Client().get(tenant_a.url(f"reservations/{hall.code}/")).content.decode()
    assert f"/{slots[1].pk}/" in page
    services.booking_create(
        municipality=tenant_a.municipality, slot_id=slots[1].pk, name="佐用 太郎", actor=ACTOR
    )
    assert Booking.objects.get().status == BookingStatus.BOOKED


def test_weekly_slots_are_not_created_on_a_municipality_wide_closed_day(
    tenant_a: Tenant,
) -> None:
    resource = resource_new(tenant_a.municipality, open_on_holidays=True)
    for weekday in range(7):
        WeeklyRule.objects.create(
            resource=resource,
            weekday=weekday,
            start=datetime.time(9, 0),
            end=datetime.time(10, 0),
            slot_minutes=30,
            capacity=1,
        )
    services.closed_day_add(
        municipality=tenant_a.municipality, resource_id=None, day=_day(2), actor=ACTOR
    )
    created = services.slots_generate(resource=resource, start=_day(1), end=_day(3), actor=ACTOR)
    assert created == 4
    days = {timezone.localtime(s.starts_at).date() for s in resource.slots.all()}
    assert days == {_day(1), _day(3)}


def test_admin_closes_a_day_with_bookings_which_are_kept_and_listed_to_staff(
    tenant_a: Tenant,
) -> None:
    resource = resource_new(tenant_a.municipality)
    slot = slot_new(resource, days_ahead=6)
    booked = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="神戸 花子", actor=ACTOR
    ).booking
    client = tenant_a.client("admin")
    day = _day(6).isoformat()
    response = client.post(
        tenant_a.url(PAGE), _add(tenant_a, resource=str(resource.pk), day=day, note="停電")
    )
    assert response.status_code == 302
    closed = ClosedDay.objects.get()
    assert (closed.resource, closed.day, closed.note) == (resource, _day(6), "停電")
    event = AuditEntry.objects.get(action="reservations.closed_day.create")
    assert event.data == {"day": day, "resource": resource.code, "note": "停電"}
    # The booking is not cancelled ...
    booked.refresh_from_db()
    assert booked.status == BookingStatus.BOOKED
    # ... and the closed-days page tells how many stand on that day, with the day's list.
    page = client.get(tenant_a.url(PAGE)).content.decode()
    assert "1件：要連絡" in page
    assert f"reservations/{resource.code}/day/?day={day}" in page
    day_list = client.get(tenant_a.url(f"staff/reservations/{resource.code}/day/?day={day}"))
    body = day_list.content.decode()
    assert 'id="closed-notice"' in body
    assert "この日は休みに設定されています（停電）。" in body
    assert booked.receipt_number in body

    remove = {"action": "remove", "closed_day": str(closed.pk)}
    assert client.post(tenant_a.url(PAGE), remove).status_code == 302
    assert not ClosedDay.objects.exists()
    assert AuditEntry.objects.filter(action="reservations.closed_day.delete").count() == 1


def test_bad_closed_day_input_gives_a_japanese_message_and_changes_nothing(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    resource = resource_new(tenant_a.municipality)
    foreign = resource_new(tenant_b.municipality, code="sayo", name="佐用の窓口")
    foreign_closed = services.closed_day_add(
        municipality=tenant_b.municipality, resource_id=None, day=_day(3), actor=ACTOR
    )
    services.closed_day_add(
        municipality=tenant_a.municipality, resource_id=resource.pk, day=_day(4), actor=ACTOR
    )
    client = tenant_a.client("admin")
    before = snapshot(ClosedDay.objects.all())
    cases = [
        (_add(tenant_a), "休みにする日を入力してください。"),
        (_add(tenant_a, day="2026/13/40"), "日付は 2026-12-28 の形で入力してください。"),
        (_add(tenant_a, day=_day(-1).isoformat()), "今日より前の日は休みに設定できません。"),
        (
            _add(tenant_a, resource=str(resource.pk), day=_day(4).isoformat()),
            "この日はすでに休みに設定されています。",
        ),
        (
            _add(tenant_a, resource=str(foreign.pk), day=_day(5).isoformat()),
            "窓口・会場は一覧から選んでください。",
        ),
        (
            _add(tenant_a, resource="x", day=_day(5).isoformat()),
            "窓口・会場は一覧から選んでください。",
        ),
        (_add(tenant_a, day=_day(5).isoformat(), note="あ" * 201), "理由は200文字以内"),
        (
            {"action": "remove", "closed_day": str(foreign_closed.pk)},
            "この休みの日は見つかりません。",
        ),
        ({"action": "remove", "closed_day": "x"}, "この休みの日は見つかりません。"),
        ({"action": "nonsense"}, "入力内容を確認してください"),
    ]
    for data, message in cases:
        response = client.post(tenant_a.url(PAGE), data)
        assert response.status_code == 400, data
        body = response.content.decode()
        assert message in body, data
        if data.get("note"):
            assert data["note"] in body  # what was typed is kept
    assert snapshot(ClosedDay.objects.all()) == before


def test_only_the_own_admin_opens_and_edits_closed_days(tenant_a: Tenant, tenant_b: Tenant) -> None:
    resource = resource_new(tenant_a.municipality, name="秘密の窓口")
    closed = services.closed_day_add(
        municipality=tenant_a.municipality,
        resource_id=resource.pk,
        day=_day(3),
        note="秘密の理由",
        actor=ACTOR,
    )

    def state() -> list[object]:
        return snapshot(ClosedDay.objects.all())

    add = _add(tenant_a, day=_day(8).isoformat())
    remove = {"action": "remove", "closed_day": str(closed.pk)}
    for role in ("supervisor", "clerk", "viewer"):
        assert_cannot_read(tenant_a.client(role), tenant_a.url(PAGE))
        assert_cannot_change(tenant_a.client(role), tenant_a.url(PAGE), data=add, state=state)
    assert_cannot_read(
        tenant_b.client("admin"), tenant_a.url(PAGE), must_not_contain=["秘密の理由"]
    )
    for data in (add, remove):
        assert_cannot_change(tenant_b.client("admin"), tenant_a.url(PAGE), data=data, state=state)
    own = tenant_b.client("admin").get(tenant_b.url(PAGE))
    assert own.status_code == 200
    assert "秘密の理由" not in own.content.decode()
    assert "秘密の窓口" not in own.content.decode()


def test_the_usage_report_leaves_out_the_slots_and_bookings_of_closed_days(
    tenant_a: Tenant,
) -> None:
    """Seats of a closed day were never on offer: counting them made the rate of use look
    lower than it was on the days the counter opened."""
    resource = resource_new(tenant_a.municipality)
    closed_slot = slot_new(resource, days_ahead=3, capacity=10)
    open_slot = slot_new(resource, days_ahead=4, capacity=4)
    for slot, name in ((closed_slot, "休み前 太郎"), (open_slot, "開庁 花子")):
        services.booking_create(
            municipality=tenant_a.municipality, slot_id=slot.pk, name=name, actor=ACTOR
        )
    services.closed_day_add(
        municipality=tenant_a.municipality, resource_id=None, day=_day(3), actor=ACTOR
    )
    url = tenant_a.url(f"staff/reservations/report/?from={_day(2)}&to={_day(5)}")

    page = tenant_a.client("clerk").get(url)

    assert page.status_code == 200
    html = page.content.decode()
    # capacity 4, 1 booked, 25 %, no marks, 1 closed day in the period
    assert (
        f"<td>{resource.name}</td><td>4</td><td>1</td><td>25%</td><td>0</td><td>0</td>"
        "<td>0%</td><td>1日</td>"
    ) in html
    assert "休みの日の枠とその日の予約は数えていません。" in html
    # The booking made before the day was closed is still there for staff to follow up.
    assert Booking.objects.filter(slot=closed_slot, status=BookingStatus.BOOKED).exists()

    english = tenant_a.client("clerk").get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    assert '<th scope="col">Closed days</th>' in english.content.decode()
    assert "<td>1 day</td>" in english.content.decode()
    assert "Slots and bookings on closed days are not counted." in english.content.decode()
