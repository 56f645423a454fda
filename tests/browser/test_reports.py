"""A resident files a report with a GPS photo on a 390 px phone, then follows it by receipt."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

from madoguchi.reports.models import LocationSource, Report, ReportArea, ReportCategory
from tests.browser.screens import shoot
from tests.isolation import Tenant
from tests.reports.test_reports import jpeg_with_exif

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_files_a_report_with_a_photo_and_follows_it(
    live_server: LiveServer, tenant_a: Tenant, page: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    ReportCategory.objects.create(
        municipality=tenant_a.municipality,
        code="road",
        name="道路の損傷",
        department=tenant_a.departments["welfare"],
    )
    ReportArea.objects.create(municipality=tenant_a.municipality, name="中央区")
    photo = tmp_path / "pothole.jpg"
    photo.write_bytes(jpeg_with_exif(34.690083, 135.195511))
    base = live_server.url
    page.goto(f"{base}/kobe/")
    page.get_by_role("link", name="まちの困りごと通報").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("まちの困りごとを通報する")
    shoot(page, "reports-file")
    page.get_by_label("内容").fill("歩道に穴があいています")
    page.get_by_role("button", name="通報する").click()
    expect(page.get_by_role("alert")).to_contain_text("困りごとの種類を選んでください。")
    expect(page.get_by_label("内容")).to_have_value("歩道に穴があいています")
    shoot(page, "reports-file-errors")
    page.get_by_label("困りごとの種類").select_option("road")
    page.get_by_label("地域").select_option(label="中央区")
    page.get_by_role("button", name="近くの通報を確かめる").click()
    expect(page.locator("#nearby-hint")).to_contain_text("最近ありません")
    page.get_by_label("写真（4枚まで・任意）").set_input_files(str(photo))
    page.get_by_role("button", name="通報する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通報を受け付けました")
    shoot(page, "reports-filed")
    receipt = page.inner_text("#receipt-number")
    secret = page.inner_text("#secret")
    report = Report.objects.get()
    assert report.location_source == LocationSource.PHOTO
    assert report.photos.count() == 1

    page.context.clear_cookies()
    page.goto(f"{base}/kobe/reports/status/")
    page.get_by_label("受付番号").fill(receipt)
    page.get_by_label("確認コード").fill("wrong")
    page.get_by_role("button", name="状況を表示する").click()
    expect(page.get_by_role("alert")).to_contain_text("受付番号または確認コードが違います")
    page.get_by_label("確認コード").fill(secret)
    page.get_by_role("button", name="状況を表示する").click()
    expect(page.locator("#report-status")).to_have_text("受付")
    shoot(page, "reports-status")
    page.goto(f"{base}/kobe/reports/")
    expect(page.locator("#open-reports")).to_contain_text("34.690")
    shoot(page, "reports-open")
