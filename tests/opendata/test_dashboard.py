"""The public dashboard: accessible charts, tables with the same numbers, downloads, caching."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

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
    assert page.count("まだデータがありません。") == 7
    assert "まだ公開されたデータはありません" in page
    assert page.count("CSVでダウンロード") == 7


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
    assert '<h1><span lang="ja">神戸市</span> dashboard</h1>' in english
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
    # The data version only: the municipality comes from the per-process cache by slug.
    with django_assert_num_queries(1):  # type: ignore[operator]
        client.get("/kobe/dashboard/?days=7")
    client.cookies["messages"] = "x"
    with django_assert_num_queries(1):  # type: ignore[operator]
        client.get("/kobe/dashboard/")
    staff = tenant_a.client("clerk")  # a session: rendered for the visitor alone
    with CaptureQueriesContext(connection) as queries:
        staff.get("/kobe/dashboard/")
    assert not any("pub.version" in q["sql"] for q in queries), "the shared page's key was read"


# --- dates in English, one period for every chart, each card's own data ------------


def _winter_ticks() -> list[str]:
    days = [datetime.date(2020, 11, 1) + datetime.timedelta(days=n) for n in range(120)]
    chart = bar_line_chart(
        chart_id="c", title="t", desc="d", days=days, bars=[1] * len(days), bar_label="件数"
    )
    return [tick.label for tick in chart.x_ticks]


def test_axis_labels_name_the_month_in_japanese_and_in_english() -> None:
    assert _winter_ticks() == ["2020年11月", "12月", "2021年1月", "2月"]
    with translation.override("en"):
        assert _winter_ticks() == ["Nov 2020", "Dec", "Jan 2021", "Feb"]


def test_a_long_period_is_labelled_by_year_and_days_in_english_by_month_name(
    tenant_a: Tenant,
) -> None:
    days = [datetime.date(2020, 11, 1) + datetime.timedelta(days=n) for n in range(900)]
    chart = bar_line_chart(
        chart_id="c", title="t", desc="d", days=days, bars=[1] * len(days), bar_label="件数"
    )
    assert [tick.label for tick in chart.x_ticks] == ["2021年", "2022年", "2023年"]
    call_centre(tenant_a.municipality, [1, 2, 3], start=datetime.date(2020, 11, 26))
    english = Client().get("/kobe/dashboard/", headers={"Accept-Language": "en"}).content.decode()
    assert "Nov 28, 2020" in card(english, "call_center")
    assert "month " not in english
    assert "11/28/2020" not in english


def test_every_chart_shows_the_same_whole_period_by_default(tenant_a: Tenant) -> None:
    """Cases published long after the other datasets end no longer cut the cases chart short."""
    call_centre(tenant_a.municipality, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])  # 2020-04-01 … 04-10
    patients(tenant_a.municipality, ["2020-04-01", "2020-04-02", "2020-04-02", "2020-09-01"])
    page = Client().get("/kobe/dashboard/").content.decode()
    cases, calls = card(page, "patients"), card(page, "call_center")
    assert "<caption>陽性者数（日別）：2020年4月1日〜2020年9月1日" in cases
    assert "<caption>相談件数（日別）：2020年4月1日〜2020年9月1日</caption>" in calls
    rows = table_rows(cases)
    # Every day from April 1 to September 1, but for those with 0 and an average of 0.
    assert f"（値も7日間平均も0の{154 - len(rows)}日は省いています）</caption>" in cases
    assert len(rows) == 8 + 1  # April 1-8 (the average is 0 from the 9th), and September 1
    assert rows[0] == ("2020-09-01", "1", "0.1")
    assert rows[-2:] == [("2020-04-02", "2", "—"), ("2020-04-01", "1", "—")]
    assert table_rows(calls)[0] == ("2020-04-10", "10", "7.0")  # published days only
    # The figures name the latest published day, not the end of the period.
    assert "<dt>2020年4月10日</dt><dd>10件</dd>" in calls
    assert 'aria-current="page">全期間</a>' in page


def test_the_recent_weeks_are_an_explicit_choice(tenant_a: Tenant) -> None:
    call_centre(tenant_a.municipality, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    patients(tenant_a.municipality, ["2020-04-01", "2020-09-01"])
    page = Client().get("/kobe/dashboard/?period=recent").content.decode()
    assert 'aria-current="page">直近13週</a>' in page
    assert "<caption>陽性者数（日別）：2020年6月3日〜2020年9月1日" in card(page, "patients")
    assert "この期間に公表されたデータはありません。" in card(page, "call_center")
    assert 'href="/kobe/dashboard/">全期間</a>' in page


@pytest.mark.parametrize("period", ["bogus", "", "<script>", "recent" * 50])
def test_an_unknown_period_shows_the_whole_period(tenant_a: Tenant, period: str) -> None:
    patients(tenant_a.municipality, ["2020-04-01", "2020-09-01"])
    response = Client().get("/kobe/dashboard/", {"period": period})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<caption>陽性者数（日別）：2020年4月1日〜2020年9月1日" in page
    assert "<script" not in page


def test_the_cases_card_downloads_cases_per_day_not_the_list_of_patients(
    tenant_a: Tenant,
) -> None:
    patients(tenant_a.municipality, ["2020-04-01", "2020-04-01", "2020-04-03"])
    section = card(Client().get("/kobe/dashboard/").content.decode(), "patients")
    csv_url = "/kobe/dashboard/data/281000_kobe_covid19_patients_per_day.csv"
    json_url = "/kobe/dashboard/data/281000_kobe_covid19_patients_per_day.json"
    assert f'href="{csv_url}" download="281000_kobe_covid19_patients_per_day.csv"' in section
    assert f'href="{json_url}"' in section
    assert "281000_kobe_covid19_patients.csv" not in section

    response = Client().get(csv_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert body == (
        "\ufeff公表_年月日,全国地方公共団体コード,都道府県名,市区町村名,陽性者数,備考\r\n"
        "2020-04-01,281000,兵庫県,神戸市,2,\r\n"
        "2020-04-02,281000,兵庫県,神戸市,0,\r\n"
        "2020-04-03,281000,兵庫県,神戸市,1,\r\n"
    )
    streamed = Client().get(json_url).streaming_content  # type: ignore[attr-defined]
    document = json.loads(b"".join(streamed))
    assert document["columns"][4] == "陽性者数"
    assert [row["陽性者数"] for row in document["data"]] == [2, 0, 1]


def test_each_daily_card_downloads_its_own_national_dataset(tenant_a: Tenant) -> None:
    page = Client().get("/kobe/dashboard/").content.decode()
    for key in ("test_people", "test_count", "confirm_negative", "call_center"):
        assert f'href="/kobe/dashboard/data/281000_kobe_covid19_{key}.csv"' in card(page, key)
    assert 'href="/kobe/dashboard/data/281000_kobe_procedure_stats.csv"' in card(page, "procedures")


# --- cases by age band and sex ---------------------------------------------------

PEOPLE = [
    *[("30代", "男性")] * 3,
    *[("30代", "女性")] * 2,
    ("90歳以上", "女性"),
    ("10歳未満", "その他"),
    ("", ""),
]


def patients_by_person(municipality: Municipality, people: list[tuple[str, str]]) -> None:
    rows = []
    for number, (age, sex) in enumerate(people, start=1):
        values = dict.fromkeys(PATIENT_HEADER, "")
        values.update(
            {"No": str(number), "公表_年月日": "2020-04-01", "患者_年代": age, "患者_性別": sex}
        )
        rows.append([values[h] for h in PATIENT_HEADER])
    assert import_file(municipality, make_csv(rows, PATIENT_HEADER), "patients").imported


def test_cases_by_age_band_and_sex_have_a_chart_a_table_and_their_csv(tenant_a: Tenant) -> None:
    patients_by_person(tenant_a.municipality, PEOPLE)
    page = Client().get("/kobe/dashboard/").content.decode()
    section = card(page, "age_sex")
    assert '<h2 id="card-age_sex-title">年代別・性別の陽性者数</h2>' in section
    assert '<svg class="chart chart--pyramid"' in section
    assert 'role="img" aria-labelledby="chart-age_sex-title chart-age_sex-desc"' in section
    assert (
        '<desc id="chart-age_sex-desc">年代別の陽性者数を、左に男性、右に女性の横棒で表したグラフ。'
        "合計8人のうち男性3人、女性3人。最も多いのは30代の5人です。"
        "性別がその他または不明の2人は表にあります。</desc>"
    ) in section
    assert "<caption>年代別・性別の陽性者数（累計）</caption>" in section
    headers = re.findall(r'<th scope="col">([^<]*)</th>', section)
    assert headers == ["年代", "男性", "女性", "その他", "不明", "計"]
    rows = {
        m.group(1): re.findall(r"<td>([^<]*)</td>", m.group(2))
        for m in re.finditer(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', section)
    }
    assert list(rows)[:2] == ["10歳未満", "10代"]
    assert rows["30代"] == ["3", "2", "0", "0", "5"]
    assert rows["90歳以上"] == ["0", "1", "0", "0", "1"]
    assert rows["不明"] == ["0", "0", "0", "1", "1"]
    assert rows["計"] == ["3", "3", "1", "1", "8"]

    url = "/kobe/dashboard/data/281000_kobe_covid19_patients_by_age_sex.csv"
    assert f'href="{url}" download="281000_kobe_covid19_patients_by_age_sex.csv"' in section
    response = Client().get(url)
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode("utf-8-sig").split("\r\n")  # type: ignore[attr-defined]
    assert lines[0] == "全国地方公共団体コード,都道府県名,市区町村名,患者_年代,患者_性別,陽性者数"
    assert "281000,兵庫県,神戸市,30代,男性,3" in lines
    assert "281000,兵庫県,神戸市,30代,女性,2" in lines
    assert "281000,兵庫県,神戸市,,,1" in lines
    assert len(lines) == 1 + 11 * 4 + 1  # header, every age × sex with unknowns, final CRLF


def test_the_age_and_sex_card_in_english(tenant_a: Tenant) -> None:
    patients_by_person(tenant_a.municipality, PEOPLE)
    english = Client().get("/kobe/dashboard/", headers={"Accept-Language": "en"}).content.decode()
    section = card(english, "age_sex")
    assert "Cases by age and sex" in section
    assert re.findall(r'<th scope="col">([^<]*)</th>', section) == [
        "Age",
        "Male",
        "Female",
        "Other",
        "Unknown",
        "Total",
    ]
    assert '<th scope="row">30–39</th>' in section


def test_without_cases_the_age_and_sex_card_says_so(tenant_a: Tenant) -> None:
    section = card(Client().get("/kobe/dashboard/").content.decode(), "age_sex")
    assert "まだデータがありません。" in section
    assert "<svg" not in section.split("download-list")[0]


def test_years_without_cases_are_left_out_of_the_table_and_the_caption_says_so(
    tenant_a: Tenant,
) -> None:
    days = ["2020-04-01"] * 3 + ["2020-04-20", "2021-04-01"]
    patients(tenant_a.municipality, days)
    section = card(Client().get("/kobe/dashboard/").content.decode(), "patients")
    rows = table_rows(section)
    assert rows[0] == ("2021-04-01", "1", "0.1")
    assert ("2020-04-02", "0", "—") in rows  # no average yet: listed
    assert not any(value == "0" and average == "0.0" for _day, value, average in rows)
    shown = len(rows)
    assert f"（値も7日間平均も0の{366 - shown}日は省いています）</caption>" in section
