"""The public dashboard in a real browser with JavaScript turned off."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from pytest_django.live_server_helper import LiveServer

from madoguchi.opendata.derived import PATIENTS_PER_DAY, municipality_file
from madoguchi.opendata.exports import export_csv, iter_json
from madoguchi.opendata.services import procedure_stats_refresh
from tests.isolation import Tenant
from tests.opendata.conftest import PATIENT_HEADER, import_file, make_csv
from tests.opendata.test_procedure_stats import apply, at, move, publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

START = datetime.date(2020, 4, 1)
CARDS = {
    "patients": ("陽性者数（日別）", "281000_kobe_covid19_patients_per_day"),
    "test_people": ("検査実施人数（日別）", "281000_kobe_covid19_test_people"),
    "test_count": ("検査実施件数（日別）", "281000_kobe_covid19_test_count"),
    "confirm_negative": ("陰性確認数（日別）", "281000_kobe_covid19_confirm_negative"),
    "call_center": ("相談件数（日別）", "281000_kobe_covid19_call_center"),
    "procedures": ("手続きの受付・処理状況", "281000_kobe_procedure_stats"),
}
DATASET_OF = {**{k: k for k in CARDS}, "procedures": "procedure_stats"}


@pytest.fixture
def no_js_page(chromium: object) -> Iterator[object]:
    """A page whose context runs no JavaScript at all (as with scripts blocked)."""
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    context = chromium.new_context(
        java_script_enabled=False,
        locale="ja-JP",
        viewport={"width": 390, "height": 844},
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def published(tenant_a: Tenant) -> Tenant:
    """Three weeks of every dataset and a few applications for 神戸市."""
    cache.clear()
    kobe = tenant_a.municipality
    days = [START + datetime.timedelta(days=n) for n in range(21)]
    place = ["281000", "兵庫県", "神戸市"]
    for n, dataset in enumerate(("test_people", "test_count", "confirm_negative", "call_center")):
        rows = [[d.isoformat(), *place, str(10 * (n + 1) + i), ""] for i, d in enumerate(days)]
        header = ["実施_年月日", "全国地方公共団体コード", "都道府県名", "市区町村名"]
        header = {
            "test_people": [*header, "検査実施_人数", "備考"],
            "test_count": [*header, "検査実施_件数", "備考"],
            "confirm_negative": ["完了_年月日", *header[1:], "陰性確認_件数", "備考"],
            "call_center": ["受付_年月日", *header[1:], "相談件数", "備考"],
        }[dataset]
        assert import_file(kobe, make_csv(rows, header), dataset).imported
    patients = []
    for i, d in enumerate(days):
        for _ in range(i % 4):
            values = dict.fromkeys(PATIENT_HEADER, "")
            values.update(
                {"No": str(len(patients) + 1), "公表_年月日": d.isoformat(), "患者_年代": "30代"}
            )
            patients.append([values[h] for h in PATIENT_HEADER])
    assert import_file(kobe, make_csv(patients, PATIENT_HEADER), "patients").imported
    version = publish(tenant_a)
    first = apply(version, at(1, 9), "2000000001")
    move(first, "sent", at(2, 10))
    apply(version, at(2, 11), "2000000002")
    procedure_stats_refresh(municipality=kobe, today=datetime.date(2026, 4, 6))
    return tenant_a


def test_every_chart_has_its_table_and_downloads_without_javascript(
    live_server: LiveServer, published: Tenant, no_js_page: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    page = no_js_page
    assert isinstance(page, Page)
    kobe = published.municipality
    page.goto(f"{live_server.url}/kobe/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("神戸市のダッシュボード")
    expect(page.locator("main")).to_contain_text("最終更新")
    expect(page.locator(".wareki").first).to_contain_text("令和")
    assert "<script" not in page.content()

    for key, (title, stem) in CARDS.items():
        card = page.locator(f"#card-{key}")
        expect(card.get_by_role("heading", level=2)).to_have_text(title)
        chart = card.get_by_role("img", name=re.compile(re.escape(title)))
        expect(chart).to_have_count(1)
        expect(chart.locator("desc")).to_contain_text("折れ線グラフ")

        # The table is behind a native disclosure, which opens without any script.
        card.get_by_text("グラフの数値を表で見る").click()
        table = card.get_by_role("table").first
        expect(table).to_be_visible()
        first_row = table.locator("tbody tr").first
        expect(first_row.locator("th")).to_contain_text("年")

        csv_link = card.get_by_role("link", name=re.compile("^CSVでダウンロード"))
        json_link = card.get_by_role("link", name=re.compile("^JSONでダウンロード"))
        expect(csv_link).to_have_attribute("href", f"/kobe/dashboard/data/{stem}.csv")
        expect(json_link).to_have_attribute("href", f"/kobe/dashboard/data/{stem}.json")

        with page.expect_download() as download_info:
            csv_link.click()
        download = download_info.value
        assert download.suggested_filename == f"{stem}.csv"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        response = page.request.get(f"{live_server.url}/kobe/dashboard/data/{stem}.json")
        if key == "patients":  # the card's own numbers: cases per day
            expected = municipality_file(municipality=kobe, kind=PATIENTS_PER_DAY, extension="csv")
            assert saved.read_bytes() == expected[0]
            assert (
                response.body()
                == municipality_file(municipality=kobe, kind=PATIENTS_PER_DAY, extension="json")[0]
            )
            continue
        assert saved.read_bytes() == export_csv(kobe, DATASET_OF[key])
        assert response.body() == b"".join(iter_json(kobe, DATASET_OF[key]))


def test_the_table_beside_the_chart_has_the_exported_numbers(
    live_server: LiveServer, published: Tenant, no_js_page: object
) -> None:
    from playwright.sync_api import Page

    page = no_js_page
    assert isinstance(page, Page)
    page.goto(f"{live_server.url}/kobe/dashboard/")
    card = page.locator("#card-call_center")
    card.get_by_text("グラフの数値を表で見る").click()
    rows = card.locator("tbody tr")
    assert rows.count() == 21
    newest = [cell.strip() for cell in rows.first.locator("td").all_inner_texts()]
    exported = export_csv(published.municipality, "call_center").decode("utf-8-sig").splitlines()
    assert exported[-1].split(",")[4] == newest[0] == "60"
    assert newest[1] == "57.0"  # (54 + 55 + … + 60) / 7


@pytest.fixture
def phone_page(chromium: object) -> Iterator[object]:
    """A 360 px wide phone, as the narrowest common Android screen."""
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    context = chromium.new_context(
        java_script_enabled=True, locale="ja-JP", viewport={"width": 360, "height": 740}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _no_sideways_scrolling(page: object, tables: str = ".table-wrap") -> None:
    """Neither the page nor any table matching ``tables`` scrolls sideways."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    widths = page.evaluate(
        "(tables) => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " ...[...document.querySelectorAll(tables)].map(w => w.scrollWidth - w.clientWidth)]",
        tables,
    )
    assert widths[0] <= widths[1] == 360, widths
    assert all(extra <= 1 for extra in widths[2:]), f"a table scrolls sideways: {widths}"


def test_the_catalogue_fits_a_phone_with_every_link_on_screen(
    live_server: LiveServer, published: Tenant, phone_page: object
) -> None:
    from playwright.sync_api import Page, expect

    page = phone_page
    assert isinstance(page, Page)
    page.goto(f"{live_server.url}/kobe/dashboard/data/")
    _no_sideways_scrolling(page)
    links = page.locator(".catalogue-table a")
    assert links.count() == 12  # CSV and JSON of six datasets
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= 0, (index, box)
        assert box["x"] + box["width"] <= 360, (index, box)
        assert box["height"] >= 44, "touch target"
    # Each cell still says what it is once the columns are stacked.
    introductions = page.locator("#call_center td").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert introductions == ['"内容："', '"更新日："', '"件数："', '"形式："']
    expect(page.get_by_role("table", name="データセットの一覧")).to_be_visible()


def test_the_dashboard_fits_a_phone(
    live_server: LiveServer, published: Tenant, phone_page: object
) -> None:
    from playwright.sync_api import Page

    page = phone_page
    assert isinstance(page, Page)
    page.goto(f"{live_server.url}/kobe/dashboard/")
    _no_sideways_scrolling(page, "#card-age_sex .table-wrap")
    page.goto(f"{live_server.url}/opendata/prefectures/280003/")
    _no_sideways_scrolling(page, "#card-age_sex .table-wrap")
