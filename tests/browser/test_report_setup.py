"""An admin sets up report categories and areas in the console, in a browser.

Set MADOGUCHI_SCREENSHOTS to a folder to keep the pages at 360 and 1280 px.
"""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.reports.models import ReportArea, ReportCategory
from madoguchi.reservations.models import Resource
from tests.browser.screens import shoot
from tests.isolation import PASSWORD, Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sets_up_a_category_and_an_area_from_the_admin_menu(
    live_server: LiveServer, tenant_a: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.set_default_timeout(30_000)
    base = live_server.url
    device = TOTPDevice.objects.create(user=tenant_a.staff["admin"], name="phone", confirmed=True)
    page.goto(f"{base}/kobe/staff/login/")
    page.get_by_label("ユーザー名").fill("kobe-admin")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    page.get_by_role("button", name="サインイン").click()

    page.get_by_role("link", name="通報の種類と地域").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通報の種類と地域")
    shoot(page, "report-setup-empty")
    page.get_by_label("コード（半角英数字）").fill("道路")
    page.get_by_role("button", name="種類を保存する").click()
    expect(page.locator(".error-summary")).to_contain_text("半角英数字")
    shoot(page, "report-setup-error")
    page.get_by_label("コード（半角英数字）").fill("road")
    page.locator("#id_category-name").fill("道路の損傷")
    page.locator("#id_category-name_en").fill("Road damage")
    page.locator("#id_category-department").select_option(label="市民課")
    page.get_by_role("button", name="種類を保存する").click()
    expect(page.locator("#categories")).to_contain_text("道路の損傷")
    page.locator("#id_area-name").fill("中央区")
    page.get_by_role("button", name="地域を保存する").click()
    expect(page.locator("#areas")).to_contain_text("中央区")
    shoot(page, "report-setup-filled")
    category = ReportCategory.objects.get(municipality=tenant_a.municipality, code="road")
    assert category.department == tenant_a.departments["citizens"]
    assert category.active
    assert ReportArea.objects.filter(municipality=tenant_a.municipality, name="中央区").exists()


def test_admin_sets_up_a_resource_with_a_weekly_schedule(
    live_server: LiveServer, tenant_a: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.set_default_timeout(30_000)
    base = live_server.url
    device = TOTPDevice.objects.create(user=tenant_a.staff["admin"], name="phone", confirmed=True)
    page.goto(f"{base}/kobe/staff/login/")
    page.get_by_label("ユーザー名").fill("kobe-admin")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    page.get_by_role("button", name="サインイン").click()

    page.get_by_role("link", name="予約の設定（窓口・会場と週間の予定）").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("予約の設定")
    page.get_by_label("コード（半角英数字）").fill("counter")
    page.locator("#id_name").fill("市民課窓口")
    page.get_by_label("週間の予定").fill("毎日 9時から")
    page.get_by_role("button", name="保存する").click()
    expect(page.locator(".error-summary")).to_contain_text("1 行目の書き方が違います")
    shoot(page, "reservation-resources-error")
    page.get_by_label("週間の予定").fill("月水金 09:00-12:00 30 2")
    page.get_by_role("button", name="保存する").click()
    expect(page.locator("#resources")).to_contain_text("市民課窓口")
    shoot(page, "reservation-resources")
    assert Resource.objects.get(code="counter").rules.count() == 3
