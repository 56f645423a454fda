"""The public dashboard: accessible charts, tables with the same numbers, downloads, caching."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from madoguchi.core.wareki import format_wareki
from madoguchi.opendata.charts import LineSpec, bar_line_chart, nice_ceiling
from madoguchi.opendata.models import Publisher
from madoguchi.opendata.series import daily_series, seven_day_average
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant
from tests.opendata.conftest import PATIENT_HEADER, import_file, kobe_row, make_csv

START = datetime.date(2020, 4, 1)


def call_centre(
    municipality: Municipality, counts: list[int], start: datetime.date = START
) -> None:
    rows = [
        kobe_row((start + datetime.timedelta(days=n)).isoformat(), str(c))
        for n, c in enumerate(counts)
    ]
    report = import_file(municipality, make_csv(rows))
    assert report.imported, report.lines()


def patients(municipality: Municipality, days: list[str]) -> None:
    rows = []
    for number, day in enumerate(days, start=1):
        values = dict.fromkeys(PATIENT_HEADER, "")
        values.update({"No": str(number), "公表_年月日": day})
        rows.append([values[h] for h in PATIENT_HEADER])
    assert import_file(municipality, make_csv(rows, PATIENT_HEADER), "patients").imported


def card(page: str, key: str) -> str:
    match = re.search(rf'<section class="chart-card" id="card-{key}".*?</section>', page, re.S)
    assert match, f"no card {key}"
    return match.group(0)


def table_rows(section: str) -> list[tuple[str, ...]]:
    rows = re.findall(
        r"<tr><th scope=\"row\"><time datetime=\"([\d-]+)\">[^<]*</time></th>(.*?)</tr>", section
    )
    return [(day, *re.findall(r"<td>([^<]*)</td>", cells)) for day, cells in rows]


# --- series and charts ----------------------------------------------------------------------


def test_the_seven_day_average_needs_seven_known_days_and_rounds_half_up() -> None:
    assert seven_day_average([1, 2, 3, 4, 5, 6, 7, 8, None, 10]) == [
        None,
        None,
        None,
        None,
        None,
        None,
        Decimal("4.0"),
        Decimal("5.0"),
        None,
        None,
    ]
    assert seven_day_average([0, 0, 0, 0, 0, 1, 2]) == [None] * 6 + [Decimal("0.4")]  # 0.428…
    assert seven_day_average([3, 3, 3, 3, 3, 3, 4]) == [None] * 6 + [Decimal("3.1")]  # 3.142…


def test_patient_days_without_records_are_zero_and_dataset_gaps_stay_unknown() -> None:
    counts = [(START, 2), (START + datetime.timedelta(days=2), 4)]
    assert [p.value for p in daily_series(counts, missing_is_zero=True)] == [2, 0, 4]
    assert [p.value for p in daily_series(counts, missing_is_zero=False)] == [2, None, 4]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, (4.0, 1.0)),
        (3, (3.0, 1.0)),
        (118, (150.0, 50.0)),
        (820, (1000.0, 500.0)),
        (2265, (3000.0, 1000.0)),
    ],
)
def test_the_axis_ends_at_a_round_number(value: float, expected: tuple[float, float]) -> None:
    assert nice_ceiling(value) == expected


def test_a_chart_draws_bars_for_known_days_and_breaks_lines_at_gaps() -> None:
    days = [START + datetime.timedelta(days=n) for n in range(4)]
    chart = bar_line_chart(
        chart_id="c",
        title="t",
        desc="d",
        days=days,
        bars=[1, None, 3, 2],
        bar_label="件数",
        lines=[LineSpec("平均", [None, Decimal("1.5"), Decimal("2.0"), None])],
        unit="件",
    )
    assert len(chart.bars) == 3
    assert chart.lines[0].path.count("M") == 1
    assert chart.lines[0].path.count("L") == 1
    assert [item.text for item in chart.legend] == ["件数（最新 2件）", "平均（最新 2.0件）"]
    assert [label.text for label in chart.labels] == ["最多 3"]


# --- the page ---------------------------------------------------------------------------------


def test_each_card_has_an_accessible_chart_a_table_of_the_same_numbers_and_downloads(
    tenant_a: Tenant,
) -> None:
    call_centre(tenant_a.municipality, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    page = Client().get("/kobe/dashboard/").content.decode()
    section = card(page, "call_center")

    assert (
        '<svg class="chart" viewBox="0 0 480 260" role="img" '
        'aria-labelledby="chart-call_center-title chart-call_center-desc"' in section
    )
    assert '<title id="chart-call_center-title">相談件数（日別）</title>' in section
    assert (
        '<desc id="chart-call_center-desc">2020年4月1日から2020年4月10日までの日別の相談件数の'
        "棒グラフと7日間平均の折れ線グラフ。最多は2020年4月10日の10件。2020年4月10日は10件、"
        "7日間平均は7.0件です。</desc>"
    ) in section
    svg = section[section.index('<svg class="chart"') : section.index("</svg>")]
    bars = svg[svg.index('<g class="chart__bars">') :]
    assert bars[: bars.index("</g>")].count("<rect ") == 10
    assert table_rows(section) == [
        ("2020-04-10", "10", "7.0"),
        ("2020-04-09", "9", "6.0"),
        ("2020-04-08", "8", "5.0"),
        ("2020-04-07", "7", "4.0"),
        ("2020-04-06", "6", "—"),
        ("2020-04-05", "5", "—"),
        ("2020-04-04", "4", "—"),
        ("2020-04-03", "3", "—"),
        ("2020-04-02", "2", "—"),
        ("2020-04-01", "1", "—"),
    ]
    assert "<caption>相談件数（日別）：2020年4月1日〜2020年4月10日</caption>" in section
    assert (
        'href="/kobe/dashboard/data/281000_kobe_covid19_call_center.csv" '
        'download="281000_kobe_covid19_call_center.csv">CSVでダウンロード' in section
    )
    assert (
        'href="/kobe/dashboard/data/281000_kobe_covid19_call_center.json">JSONでダウンロード'
        in section
    )
    # Readable without colour: the legend names each series with its shape and latest value.
    assert "相談件数（最新 10件）" in section
    assert "7日間平均（最新 7.0件）" in section


def test_the_patients_card_counts_records_per_publication_day(tenant_a: Tenant) -> None:
    patients(
        tenant_a.municipality, ["2020-04-01", "2020-04-01", "2020-04-03", "2020/4/3", "2020-04-03"]
    )
    section = card(Client().get("/kobe/dashboard/").content.decode(), "patients")
    assert table_rows(section) == [
        ("2020-04-03", "3", "—"),
        ("2020-04-02", "0", "—"),
        ("2020-04-01", "2", "—"),
    ]
    assert "<dt>累計</dt><dd>5人</dd>" in section


def test_the_page_needs_no_javascript_and_no_inline_style(tenant_a: Tenant) -> None:
    call_centre(tenant_a.municipality, [5] * 8)
    page = Client().get("/kobe/dashboard/").content.decode()
    assert "<script" not in page
    assert " style=" not in page
    assert not re.search(r'fill="#|stroke="#', page), "colours come from the stylesheet"


def test_the_last_update_is_shown_in_western_and_japanese_years(tenant_a: Tenant) -> None:
    call_centre(tenant_a.municipality, [5])
    updated = Publisher.objects.get(municipality=tenant_a.municipality).updated_at
    assert updated is not None
    local = timezone.localtime(updated)
    page = Client().get("/kobe/dashboard/").content.decode()
    western = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    assert f'>{western}</time>（<span class="wareki">{format_wareki(local.date())}</span>）' in page


def test_a_municipality_without_data_gets_a_page_that_says_so(tenant_a: Tenant) -> None:
    response = Client().get("/kobe/dashboard/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("まだデータがありません。") == 6
    assert "まだ公開されたデータはありません" in page
    assert page.count("CSVでダウンロード") == 6


def test_an_unknown_municipality_is_a_japanese_404(db: None) -> None:
    response = Client().get("/nowhere/dashboard/")
    assert response.status_code == 404
    assert "「nowhere」という自治体は" in response.content.decode()


# --- caching --------------------------------------------------------------------------------


def test_a_cached_dashboard_costs_one_query_and_a_change_shows_at_once(
    tenant_a: Tenant, django_assert_num_queries: object
) -> None:
    client = Client()
    call_centre(tenant_a.municipality, [1, 2, 3])
    assert "相談件数（最新 3件）" in client.get("/kobe/dashboard/").content.decode()
    with django_assert_num_queries(1):  # type: ignore[operator]
        cached = client.get("/kobe/dashboard/").content.decode()
    assert "相談件数（最新 3件）" in cached

    call_centre(tenant_a.municipality, [4], start=START + datetime.timedelta(days=3))
    assert "相談件数（最新 4件）" in client.get("/kobe/dashboard/").content.decode()


def test_each_language_has_its_own_cached_body(tenant_a: Tenant) -> None:
    call_centre(tenant_a.municipality, [1])
    client = Client()
    assert "<h1>神戸市のダッシュボード</h1>" in client.get("/kobe/dashboard/").content.decode()
    english = client.get("/kobe/dashboard/", headers={"Accept-Language": "en"}).content.decode()
    assert "<h1>神戸市 dashboard</h1>" in english
    assert "Consultations per day" in english
    assert "<h1>神戸市のダッシュボード</h1>" in client.get("/kobe/dashboard/").content.decode()


def test_the_csrf_token_of_the_language_form_is_the_visitors_own(tenant_a: Tenant) -> None:
    """Only the body is cached: two visitors never share a CSRF token."""
    call_centre(tenant_a.municipality, [1])
    first = Client().get("/kobe/dashboard/")
    second = Client().get("/kobe/dashboard/")
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    first_token = token.search(first.content.decode())
    second_token = token.search(second.content.decode())
    assert first_token
    assert second_token
    assert first_token.group(1) != second_token.group(1)


def test_the_shared_page_is_the_rendered_page_with_the_visitors_token(tenant_a: Tenant) -> None:
    """Visitors share one cached page; a page rendered for one visitor alone is the same."""
    call_centre(tenant_a.municipality, [1, 2])
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')

    def strip(response: HttpResponse) -> str:
        return token.sub("", response.content.decode())

    shared = Client().get("/kobe/dashboard/")
    shared_again = Client().get("/kobe/dashboard/")
    assert shared.cookies["csrftoken"].value != shared_again.cookies["csrftoken"].value
    assert strip(shared) == strip(shared_again)
    own = tenant_a.client("clerk").get("/kobe/dashboard/")
    assert strip(own) == strip(shared)
    alone = Client().get("/kobe/dashboard/?x=1")
    assert strip(alone).replace("/kobe/dashboard/?x=1", "/kobe/dashboard/") == strip(shared)


def test_a_query_string_or_pending_messages_skip_the_shared_page(
    tenant_a: Tenant, django_assert_num_queries: object
) -> None:
    call_centre(tenant_a.municipality, [1])
    client = Client()
    client.get("/kobe/dashboard/")
    with django_assert_num_queries(2):  # type: ignore[operator]  # municipality, version
        client.get("/kobe/dashboard/?days=7")
    client.cookies["messages"] = "x"
    with django_assert_num_queries(2):  # type: ignore[operator]
        client.get("/kobe/dashboard/")
    staff = tenant_a.client("clerk")  # a session: rendered for the visitor alone
    with CaptureQueriesContext(connection) as queries:
        staff.get("/kobe/dashboard/")
    assert not any("pub.version" in q["sql"] for q in queries), "the shared page's key was read"
