"""Resident and staff pages of reservations: the journey, bad input, roles and isolation."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.reservations import services
from madoguchi.reservations.models import Booking, BookingStatus, Slot
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.reservations.conftest import ACTOR, resource_new, slot_new

pytestmark = pytest.mark.django_db


def _book(client: Client, tenant: Tenant, slot: Slot, **data: str) -> tuple[str, str]:
    response = client.post(
        tenant.url(f"reservations/{slot.resource.code}/{slot.pk}/"), {"name": "神戸 花子", **data}
    )
    assert response.status_code == 201, response.content.decode()
    body = response.content.decode()
    number = re.search(r'id="receipt-number">([0-9-]+)<', body)
    secret = re.search(r'id="secret">([A-Z0-9-]+)<', body)
    assert number
    assert secret
    return number.group(1), secret.group(1)


def test_book_look_up_change_and_cancel_without_an_account(tenant_a: Tenant) -> None:
    resource = resource_new(tenant_a.municipality)
    slot = slot_new(resource, capacity=2, hour=10)
    later = slot_new(resource, capacity=2, hour=14)
    client = Client()
    listing = client.get(tenant_a.url(f"reservations/{resource.code}/"))
    assert listing.status_code == 200
    assert "残り2席" in listing.content.decode()
    number, secret = _book(client, tenant_a, slot)

    other = Client()  # another browser: must prove the code first
    assert other.get(tenant_a.url("reservations/booking/manage/")).status_code == 403
    found = other.post(
        tenant_a.url("reservations/booking/"), {"receipt_number": number, "secret": secret}
    )
    assert found.status_code == 302
    page = other.get(tenant_a.url("reservations/booking/manage/"))
    assert "予約中" in page.content.decode()
    changed = other.post(
        tenant_a.url("reservations/booking/change/"), {"slot": later.pk}, follow=True
    )
    assert changed.redirect_chain == [(tenant_a.url("reservations/booking/manage/"), 302)]
    assert "予約の日時を変更しました。" in changed.content.decode()
    booking = Booking.objects.get()
    assert booking.slot_id == later.pk
    cancelled = other.post(tenant_a.url("reservations/booking/manage/"), {"action": "cancel"})
    assert "予約を取り消しました。" in cancelled.content.decode()
    assert Booking.objects.get().status == BookingStatus.CANCELLED
    assert [Slot.objects.get(pk=s.pk).booked for s in (slot, later)] == [0, 0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "お名前を入力してください。"),
        ({"email": "not-an-address"}, "有効なメールアドレスを入力してください。"),
        ({"phone": "abc"}, "電話番号は数字とハイフンで入力してください。"),
        ({"name": "x" * 500}, "100 文字以下"),
    ],
)
def test_bad_booking_input_gets_a_japanese_message_and_books_nothing(
    tenant_a: Tenant, data: dict[str, str], message: str
) -> None:
    slot = slot_new(resource_new(tenant_a.municipality))
    response = Client().post(
        tenant_a.url(f"reservations/{slot.resource.code}/{slot.pk}/"), {"name": "神戸", **data}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Booking.objects.count() == 0
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_eligibility_questions_are_asked_and_refusals_explained(tenant_a: Tenant) -> None:
    resource = resource_new(tenant_a.municipality, min_age=65, districts=["中央区"], code="flu")
    slot = slot_new(resource)
    url = tenant_a.url(f"reservations/flu/{slot.pk}/")
    form = Client().get(url).content.decode()
    assert 'name="birth_date"' in form
    assert 'name="district"' in form
    cases = [
        ({"birth_date": "", "district": "中央区"}, "生年月日を入力してください。"),
        ({"birth_date": "1950-13-40", "district": "中央区"}, "1980-04-01 の形"),
        ({"birth_date": "2000-01-01", "district": "中央区"}, "対象年齢ではありません。"),
        ({"birth_date": "1950-01-01", "district": "月面"}, "地区は一覧から選んでください。"),
    ]
    for data, message in cases:
        response = Client().post(url, {"name": "神戸", **data})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert Booking.objects.count() == 0
    _book(Client(), tenant_a, slot, birth_date="1950-01-01", district="中央区")


def test_a_full_slot_answers_409_with_the_message(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), capacity=1)
    _book(Client(), tenant_a, slot)
    response = Client().post(
        tenant_a.url(f"reservations/{slot.resource.code}/{slot.pk}/"), {"name": "遅い人"}
    )
    assert response.status_code == 409
    assert "満員になりました" in response.content.decode()
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"receipt_number": "", "secret": ""}, "受付番号を入力してください。"),
        ({"receipt_number": "12345", "secret": "AAAA"}, "受付番号または確認コードが違います"),
        ({"receipt_number": "1234567890", "secret": "AAAA-AAAA"}, "受付番号または確認コード"),
    ],
)
def test_bad_lookup_input_gets_a_japanese_message(
    tenant_a: Tenant, data: dict[str, str], message: str
) -> None:
    response = Client().post(tenant_a.url("reservations/booking/"), data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_bad_change_input_is_refused_without_change(tenant_a: Tenant) -> None:
    resource = resource_new(tenant_a.municipality)
    slot = slot_new(resource)
    client = Client()
    _book(client, tenant_a, slot)
    before = snapshot(Booking.objects.all())
    for value in ("", "abc", "999999", str(slot.pk)):
        response = client.post(tenant_a.url("reservations/booking/change/"), {"slot": value})
        assert response.status_code == 400
        assert 'id="error"' in response.content.decode()
    assert snapshot(Booking.objects.all()) == before


def test_unknown_resource_and_slot_are_japanese_404(tenant_a: Tenant, tenant_b: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality))
    assert Client().get(tenant_a.url("reservations/nothing/")).status_code == 404
    # the slot of another municipality is not found through this one
    response = Client().post(tenant_b.url(f"reservations/koseki/{slot.pk}/"), {"name": "x"})
    assert response.status_code == 404
    assert "見つかりません" in response.content.decode()
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_staff_day_list_audits_each_read_and_marks_attendance(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality), days_ahead=1)
    booking = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="当日 太郎", actor=ACTOR
    ).booking
    day = timezone.localtime(slot.starts_at).date().isoformat()
    url = tenant_a.url(f"staff/reservations/koseki/day/?day={day}")
    page = tenant_a.client("clerk").get(url)
    assert page.status_code == 200
    assert "当日 太郎" in page.content.decode()
    assert AuditEntry.objects.filter(
        kind="access", object_type="reservations.booking", object_id=str(booking.pk)
    ).exists()
    marked = tenant_a.client("clerk").post(url, {"booking": booking.pk, "status": "no_show"})
    assert marked.status_code == 302
    assert Booking.objects.get().status == BookingStatus.NO_SHOW
    report = tenant_a.client("clerk").get(
        tenant_a.url(f"staff/reservations/report/?from={day}&to={day}")
    )
    assert "100%" in report.content.decode()  # 1 of 1 marked was a no-show


def test_viewers_cannot_mark_and_bad_marks_are_refused(tenant_a: Tenant) -> None:
    slot = slot_new(resource_new(tenant_a.municipality))
    booking = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="閲覧", actor=ACTOR
    ).booking
    url = tenant_a.url("staff/reservations/koseki/day/")
    state = lambda: snapshot(Booking.objects.all())  # noqa: E731
    assert_cannot_change(
        tenant_a.client("viewer"),
        url,
        data={"booking": booking.pk, "status": "attended"},
        state=state,
    )
    before = state()
    for data in ({"booking": "x", "status": "attended"}, {"booking": booking.pk, "status": "x"}):
        response = tenant_a.client("clerk").post(url, data)
        assert response.status_code == 400
        assert 'id="error"' in response.content.decode()
    assert state() == before


def test_another_municipality_cannot_read_or_change_bookings(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    slot = slot_new(resource_new(tenant_a.municipality))
    booking = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="秘密 花子", actor=ACTOR
    ).booking
    intruder = tenant_b.client("admin")
    for path in ("staff/reservations/koseki/day/", "staff/reservations/koseki/slots/"):
        assert_cannot_read(intruder, tenant_a.url(path), must_not_contain=["秘密 花子"])
        response = intruder.get(tenant_b.url(path))
        assert response.status_code == 404
        assert "秘密 花子" not in response.content.decode()
    assert_cannot_change(
        intruder,
        tenant_a.url("staff/reservations/koseki/day/"),
        data={"booking": booking.pk, "status": "attended"},
        state=lambda: snapshot(Booking.objects.all()),
    )
    report = intruder.get(tenant_b.url("staff/reservations/report/"))
    assert "戸籍の窓口" not in report.content.decode()


def test_slot_csv_upload_page_refuses_bad_files_in_japanese(tenant_a: Tenant) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    resource_new(tenant_a.municipality)
    url = tenant_a.url("staff/reservations/koseki/slots/")
    client = tenant_a.client("admin")
    cases = [
        ({}, "CSVファイルを選んでください。"),
        ({"file": SimpleUploadedFile("s.csv", b"\xff\xfe\x00bad")}, "UTF-8"),
        ({"file": SimpleUploadedFile("s.csv", b"a,b\n")}, "CSVファイルを読み取れません"),
    ]
    for data, message in cases:
        response = client.post(url, data)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert Slot.objects.count() == 0
    ok = client.post(url, {"file": SimpleUploadedFile("s.csv", b"2027-03-01,09:00,09:30,5\n")})
    assert ok.status_code == 200
    assert Slot.objects.get().capacity == 5
