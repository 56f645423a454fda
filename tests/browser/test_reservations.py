"""A resident books a counter time on a 390 px phone, then changes and cancels it."""

from __future__ import annotations

import pytest
from pytest_django.live_server_helper import LiveServer

from madoguchi.reservations.models import Booking, BookingStatus, Slot
from tests.browser.screens import shoot
from tests.isolation import Tenant
from tests.reservations.conftest import resource_new, slot_new

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_books_changes_and_cancels_a_counter_time(
    live_server: LiveServer, tenant_a: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    resource = resource_new(tenant_a.municipality, name="戸籍の窓口")
    first = slot_new(resource, capacity=2, hour=10)
    second = slot_new(resource, capacity=2, hour=14)
    base = live_server.url
    page.goto(f"{base}/kobe/reservations/")
    shoot(page, "reservations-list")
    page.get_by_role("link", name="戸籍の窓口").click()
    shoot(page, "reservations-slots")
    page.get_by_role("link", name="10:00–10:30 残り2席").click()
    page.get_by_label("電話番号").fill("abc")
    page.get_by_role("button", name="この時間で予約する").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "電話番号は数字とハイフンで入力してください。"
    )
    shoot(page, "reservations-book-errors")
    page.get_by_label("お名前").fill("神戸 花子")
    page.get_by_label("電話番号").fill("078-331-8181")
    page.get_by_role("button", name="この時間で予約する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("予約を受け付けました")
    shoot(page, "reservations-booked")
    receipt = page.inner_text("#receipt-number")
    secret = page.inner_text("#secret")
    assert Booking.objects.get().slot_id == first.pk

    # Another day, another browser session: the receipt number and code open the booking.
    page.context.clear_cookies()
    page.goto(f"{base}/kobe/reservations/booking/")
    page.get_by_label("受付番号").fill(receipt)
    page.get_by_label("確認コード").fill(secret)
    page.get_by_role("button", name="予約を表示する").click()
    expect(page.locator("#booking-status")).to_have_text("予約中")
    shoot(page, "reservations-manage")
    page.get_by_role("link", name="日時を変更する").click()
    page.get_by_label("14:00–14:30 残り2席").check()
    shoot(page, "reservations-change")
    page.get_by_role("button", name="この時間に変更する").click()
    expect(page.get_by_role("status")).to_contain_text("予約の日時を変更しました。")
    expect(page.locator("#booking-when")).to_contain_text("14:00")
    assert Booking.objects.get().slot_id == second.pk

    page.get_by_role("button", name="予約を取り消す").click()
    expect(page.locator("#notice")).to_have_text("予約を取り消しました。")
    expect(page.locator("#booking-status")).to_have_text("取消し")
    shoot(page, "reservations-cancelled")
    assert Booking.objects.get().status == BookingStatus.CANCELLED
    assert [Slot.objects.get(pk=s.pk).booked for s in (first, second)] == [0, 0]
    # Nothing on the page is wider than the phone.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
