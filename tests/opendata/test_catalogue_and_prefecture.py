"""The catalogue (page and DCAT JSON), licences, and the prefecture view across municipalities."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from madoguchi.opendata.models import Licence
from madoguchi.opendata.services import publisher_licence_set
from madoguchi.tenants.services import municipalities_load
from tests.isolation import Tenant
from tests.opendata.conftest import ACTOR, import_file, kobe_row, make_csv


def sayo_row(day: str, count: str) -> list[str]:
    return [day, "285013", "兵庫県", "佐用町", count, ""]


@pytest.fixture
def both(tenant_a: Tenant, tenant_b: Tenant) -> tuple[Tenant, Tenant]:
    import_file(
        tenant_a.municipality,
        make_csv([kobe_row("2020-04-01", "100"), kobe_row("2020-04-02", "200")]),
    )
    import_file(
        tenant_b.municipality, make_csv([sayo_row("2020-04-02", "3"), sayo_row("2020-04-03", "4")])
    )
    return tenant_a, tenant_b


# --- catalogue --------------------------------------------------------------------------------


def test_the_catalogue_lists_every_dataset_with_licence_update_and_formats(
    both: tuple[Tenant, Tenant],
) -> None:
    page = Client().get("/kobe/dashboard/data/").content.decode()
    rows = re.findall(r'<tr id="([a-z_]+)"[^>]*>\s*<th scope="row"[^>]*>([^<]+)</th>', page)
    assert rows == [
        ("patients", "陽性患者属性"),
        ("test_people", "検査実施人数"),
        ("test_count", "検査実施件数"),
        ("confirm_negative", "陰性確認数"),
        ("call_center", "コールセンター相談件数"),
        ("procedure_stats", "手続きの受付・処理件数"),
    ]
    assert 'rel="license">クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）</a>' in page
    call_center = page[page.index('<tr id="call_center"') : page.index('<tr id="procedure_stats"')]
    assert '<td role="cell" class="num" data-label="件数">2</td>' in call_center
    assert 'href="/kobe/dashboard/data/281000_kobe_covid19_call_center.csv"' in call_center
    assert 'href="/kobe/dashboard/data/281000_kobe_covid19_call_center.json"' in call_center
    assert '<span class="wareki">令和' in call_center
    assert page.count("まだ公開されたデータはありません") == 5


def test_the_dcat_json_describes_each_dataset_and_its_distributions(
    both: tuple[Tenant, Tenant],
) -> None:
    response = Client().get("/kobe/dashboard/data/catalog.json")
    assert response["Content-Type"] == "application/ld+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    catalog = response.json()
    assert catalog["@type"] == "dcat:Catalog"
    assert catalog["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert catalog["dct:publisher"] == {
        "@type": "foaf:Organization",
        "foaf:name": "神戸市",
        "dct:identifier": "281000",
    }
    assert catalog["dct:license"] == "https://creativecommons.org/licenses/by/4.0/deed.ja"
    datasets = {d["dct:identifier"]: d for d in catalog["dcat:dataset"]}
    assert sorted(datasets) == sorted(
        [
            f"281000_kobe_covid19_{k}"
            for k in ("patients", "test_people", "test_count", "confirm_negative", "call_center")
        ]
        + ["281000_kobe_procedure_stats"]
    )
    call_center = datasets["281000_kobe_covid19_call_center"]
    assert call_center["dct:title"] == "神戸市 コールセンター相談件数"
    assert call_center["dct:modified"] is not None
    assert datasets["281000_kobe_covid19_patients"]["dct:modified"] is None
    assert [
        (d["dct:format"], d["dcat:mediaType"], d["dcat:downloadURL"])
        for d in call_center["dcat:distribution"]
    ] == [
        (
            "CSV",
            "text/csv",
            "http://testserver/kobe/dashboard/data/281000_kobe_covid19_call_center.csv",
        ),
        (
            "JSON",
            "application/json",
            "http://testserver/kobe/dashboard/data/281000_kobe_covid19_call_center.json",
        ),
    ]


def test_the_licence_is_set_per_municipality(both: tuple[Tenant, Tenant]) -> None:
    _kobe, sayo = both
    assert publisher_licence_set(
        municipality=sayo.municipality, licence=Licence.PDL_1_0, actor=ACTOR
    )
    assert not publisher_licence_set(
        municipality=sayo.municipality, licence=Licence.PDL_1_0, actor=ACTOR
    )
    client = Client()
    assert client.get("/sayo/dashboard/data/catalog.json").json()["dct:license"] == (
        "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0"
    )
    assert (
        client.get("/kobe/dashboard/data/catalog.json")
        .json()["dct:license"]
        .startswith("https://creativecommons.org/licenses/by/4.0/")
    )
    assert "公共データ利用規約 第1.0版" in client.get("/sayo/dashboard/").content.decode()
    document = json.loads(
        b"".join(
            client.get(
                "/sayo/dashboard/data/285013_sayo_covid19_call_center.json"
            ).streaming_content
        )
    )
    assert document["licence"]["id"] == "PDL-1.0"


def test_the_site_catalogue_has_every_served_municipality(both: tuple[Tenant, Tenant]) -> None:
    catalog = Client().get("/opendata/catalog.json").json()
    publishers = {d["dct:publisher"]["dct:identifier"] for d in catalog["dcat:dataset"]}
    assert publishers == {"281000", "285013"}
    index = Client().get("/opendata/").content.decode()
    assert 'href="/opendata/prefectures/280003/">兵庫県内の市区町村の合計</a>' in index
    assert 'href="/kobe/dashboard/"' in index
    assert 'href="/sayo/dashboard/"' in index


# --- the prefecture view ------------------------------------------------------------------------


def test_the_prefecture_view_adds_up_its_municipalities(both: tuple[Tenant, Tenant]) -> None:
    response = Client().get("/opendata/prefectures/280003/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>兵庫県内の市区町村の合計</h1>" in page
    assert '<a href="/kobe/dashboard/">神戸市</a>' in page
    assert '<a href="/sayo/dashboard/">佐用町</a>' in page
    section = page[page.index('id="card-call_center"') :]
    section = section[: section.index("</section>")]
    rows = re.findall(r'<time datetime="([\d-]+)">[^<]*</time></th><td>([^<]*)</td>', section)
    assert rows == [("2020-04-03", "4"), ("2020-04-02", "203"), ("2020-04-01", "100")]


def test_the_prefecture_files_hold_the_summed_series(both: tuple[Tenant, Tenant]) -> None:
    response = Client().get("/opendata/prefectures/280003/280003_covid19_call_center_total.csv")
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="280003_covid19_call_center_total.csv"'
    )
    assert response.content.decode("utf-8-sig") == (
        "受付_年月日,全国地方公共団体コード,都道府県名,市区町村名,相談件数,備考\r\n"
        "2020-04-01,280003,兵庫県,,100,\r\n"
        "2020-04-02,280003,兵庫県,,203,\r\n"
        "2020-04-03,280003,兵庫県,,4,\r\n"
    )
    document = (
        Client().get("/opendata/prefectures/280003/280003_covid19_call_center_total.json").json()
    )
    assert document["municipalities"] == ["281000", "285013"]
    assert document["data"][1] == {
        "受付_年月日": "2020-04-02",
        "全国地方公共団体コード": "280003",
        "都道府県名": "兵庫県",
        "市区町村名": None,
        "相談件数": 203,
        "備考": None,
    }


def test_the_prefecture_cache_follows_any_members_change(both: tuple[Tenant, Tenant]) -> None:
    _kobe, sayo = both
    client = Client()
    assert "相談件数（最新 4件）" in client.get("/opendata/prefectures/280003/").content.decode()
    import_file(sayo.municipality, make_csv([sayo_row("2020-04-03", "9")]))
    assert "相談件数（最新 9件）" in client.get("/opendata/prefectures/280003/").content.decode()


@pytest.mark.parametrize("code", ["281000", "999999", "abc"])
def test_a_code_that_is_not_a_prefecture_is_a_japanese_404(db: None, code: str) -> None:
    response = Client().get(f"/opendata/prefectures/{code}/")
    assert response.status_code == 404
    assert f"都道府県のコード「{code}」は見つかりません" in response.content.decode()


# --- a prefecture's own dashboard and its members' total are told apart ----------


def _title_and_heading(page: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    heading = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert title
    assert heading
    return title.group(1).strip(), heading.group(1)


def test_a_prefectures_own_dashboard_and_its_municipalities_total_have_distinct_titles(
    both: tuple[Tenant, Tenant],
) -> None:
    [hyogo] = municipalities_load(codes=["280003"], activate=True, actor=ACTOR)
    hyogo.slug = "hyogo"
    hyogo.save(update_fields=["slug"])
    own = Client().get("/hyogo/dashboard/").content.decode()
    total = Client().get("/opendata/prefectures/280003/").content.decode()

    assert _title_and_heading(own) == (
        "兵庫県のダッシュボード（県が自ら公表した分） | madoguchi",
        "兵庫県のダッシュボード（県が自ら公表した分）",
    )
    assert "県内の市区町村が公表した分は含みません。" in own
    assert _title_and_heading(total) == (
        "兵庫県内の市区町村の合計 | madoguchi",
        "兵庫県内の市区町村の合計",
    )
    assert "兵庫県内でこのサイトを使っている2市区町村のデータを合計したものです。" in total
    assert "兵庫県が自ら公表した分は含みません。" in total
    # Each says where the other is, and where it sits.
    assert '<a href="/opendata/prefectures/280003/">兵庫県内の市区町村の合計</a>' in own
    assert '<a href="/hyogo/dashboard/">兵庫県のダッシュボード（県が自ら公表した分）</a>' in total
    crumbs = '<nav class="breadcrumbs" aria-label="現在の位置"><ol><li><a href="/opendata/">'
    assert crumbs in own
    assert crumbs in total
    assert '<li aria-current="page">兵庫県内の市区町村の合計</li>' in total
    index = Client().get("/opendata/").content.decode()
    assert '<a href="/opendata/prefectures/280003/">兵庫県内の市区町村の合計</a>' in index
    assert "兵庫県のダッシュボード（県が自ら公表した分）" in index


def test_a_municipalitys_dashboard_keeps_its_name_and_links_to_its_prefectures_total(
    both: tuple[Tenant, Tenant],
) -> None:
    page = Client().get("/kobe/dashboard/").content.decode()
    assert _title_and_heading(page) == (
        "神戸市のダッシュボード | madoguchi",
        "神戸市のダッシュボード",
    )
    assert '<a href="/opendata/prefectures/280003/">兵庫県内の市区町村の合計</a>' in page
    assert '<li aria-current="page">神戸市のダッシュボード</li>' in page


def test_the_prefecture_view_breaks_its_cases_down_by_age_and_sex(
    both: tuple[Tenant, Tenant],
) -> None:
    kobe, sayo = (t.municipality for t in both)
    header = ["No", "全国地方公共団体コード", "公表_年月日", "患者_年代", "患者_性別"]
    import_file(kobe, make_csv([["1", "281000", "2020-04-01", "30代", "男性"]], header), "patients")
    import_file(sayo, make_csv([["1", "285013", "2020-04-01", "30代", "男性"]], header), "patients")
    page = Client().get("/opendata/prefectures/280003/").content.decode()
    section = page[page.index('id="card-age_sex"') :]
    section = section[: section.index("</section>")]
    assert (
        '<tr><th scope="row">30代</th><td>2</td><td>0</td><td>0</td><td>0</td><td>2</td></tr>'
        in (section)
    )
    url = "/opendata/prefectures/280003/280003_covid19_patients_by_age_sex_total.csv"
    assert f'href="{url}"' in section
    lines = Client().get(url).content.decode("utf-8-sig").split("\r\n")
    assert "280003,兵庫県,,30代,男性,2" in lines
