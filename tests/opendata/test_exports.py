"""The national format on the way out: names, order, encoding, JSON, and the download URLs."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from madoguchi.opendata.exports import export_csv, export_filename, place_names
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.services import municipalities_load
from tests.isolation import Tenant
from tests.opendata.conftest import ACTOR, PATIENT_HEADER, import_file, kobe_row, make_csv


@pytest.fixture
def kobe(tenant_a: Tenant) -> Municipality:
    import_file(
        tenant_a.municipality,
        make_csv([kobe_row("2020-04-02", "20", "土曜, 午前のみ"), kobe_row("2020-04-01", "10")]),
    )
    values = dict.fromkeys(PATIENT_HEADER, "")
    values.update(
        {"No": "10", "公表_年月日": "2020/4/1", "患者_年代": "20代", "患者_退院済フラグ": "1"}
    )
    second = {
        **values,
        "No": "9",
        "患者_年代": "",
        "患者_退院済フラグ": "",
        "発症_年月日": "2020-03-30",
    }
    import_file(
        tenant_a.municipality,
        make_csv(
            [[values[h] for h in PATIENT_HEADER], [second[h] for h in PATIENT_HEADER]],
            PATIENT_HEADER,
        ),
        "patients",
    )
    return tenant_a.municipality


def test_the_file_name_follows_the_published_convention(kobe: Municipality) -> None:
    assert export_filename(kobe, "patients") == "281000_kobe_covid19_patients.csv"
    assert export_filename(kobe, "call_center", "json") == "281000_kobe_covid19_call_center.json"
    assert export_filename(kobe, "procedure_stats") == "281000_kobe_procedure_stats.csv"


def test_daily_exports_are_the_national_columns_with_bom_and_crlf(kobe: Municipality) -> None:
    assert (
        export_csv(kobe, "call_center")
        == (
            "\ufeff受付_年月日,全国地方公共団体コード,都道府県名,市区町村名,相談件数,備考\r\n"
            "2020-04-01,281000,兵庫県,神戸市,10,\r\n"
            '2020-04-02,281000,兵庫県,神戸市,20,"土曜, 午前のみ"\r\n'
        ).encode()
    )


def test_patients_are_ordered_by_number_with_unknowns_empty(kobe: Municipality) -> None:
    assert export_csv(kobe, "patients", bom=False).decode().splitlines() == [
        ",".join(PATIENT_HEADER),
        "9,281000,兵庫県,神戸市,2020-04-01,2020-03-30,,,,,,,,,",
        "10,281000,兵庫県,神戸市,2020-04-01,,,20代,,,,,,1,",
    ]


def test_place_names_of_a_prefecture_a_town_and_a_ward(db: None) -> None:
    tokyo, sayo, chuo = municipalities_load(codes=["130001", "285013", "281107"], actor=ACTOR)
    assert place_names(tokyo) == ("東京都", "")
    assert place_names(sayo) == ("兵庫県", "佐用町")  # under 佐用郡, which is not written
    assert place_names(chuo) == ("兵庫県", "神戸市中央区")


def test_the_download_url_is_the_file_name_and_streams_the_export(kobe: Municipality) -> None:
    response = Client().get("/kobe/dashboard/data/281000_kobe_covid19_call_center.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="281000_kobe_covid19_call_center.csv"'
    )
    assert response["Access-Control-Allow-Origin"] == "*"
    assert b"".join(response.streaming_content) == export_csv(kobe, "call_center")


def test_bom_0_leaves_the_bom_out(kobe: Municipality) -> None:
    response = Client().get("/kobe/dashboard/data/281000_kobe_covid19_call_center.csv?bom=0")
    assert b"".join(response.streaming_content) == export_csv(kobe, "call_center")[3:]


def test_an_unchanged_file_is_not_sent_again(kobe: Municipality) -> None:
    client = Client()
    url = "/kobe/dashboard/data/281000_kobe_covid19_call_center.csv"
    etag = client.get(url)["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    import_file(kobe, make_csv([kobe_row("2020-04-03", "30")]))
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_the_json_has_the_same_data_with_typed_values(kobe: Municipality) -> None:
    response = Client().get("/kobe/dashboard/data/281000_kobe_covid19_patients.json")
    assert response["Content-Type"] == "application/json"
    document = json.loads(b"".join(response.streaming_content))
    assert document["dataset"] == "patients"
    assert document["title"] == "陽性患者属性"
    assert document["municipality"] == {"code": "281000", "prefecture": "兵庫県", "name": "神戸市"}
    assert document["licence"]["id"] == "CC-BY-4.0"
    assert document["columns"] == PATIENT_HEADER
    assert document["data"][1] == {
        "No": "10",
        "全国地方公共団体コード": "281000",
        "都道府県名": "兵庫県",
        "市区町村名": "神戸市",
        "公表_年月日": "2020-04-01",
        "発症_年月日": None,
        "患者_居住地": None,
        "患者_年代": "20代",
        "患者_性別": None,
        "患者_職業": None,
        "患者_状態": None,
        "患者_症状": None,
        "患者_渡航歴の有無フラグ": None,
        "患者_退院済フラグ": 1,
        "備考": None,
    }


def test_json_counts_are_numbers(kobe: Municipality) -> None:
    response = Client().get("/kobe/dashboard/data/281000_kobe_covid19_call_center.json")
    data = json.loads(b"".join(response.streaming_content))["data"]
    assert [(r["受付_年月日"], r["相談件数"], r["備考"]) for r in data] == [
        ("2020-04-01", 10, None),
        ("2020-04-02", 20, "土曜, 午前のみ"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "281000_kobe_covid19_unknown.csv",
        "285013_sayo_covid19_patients.csv",
        "281000_kobe_covid19_patients.xml",
        "281000_kobe_covid19_patients.csv.bak",
    ],
)
def test_any_other_file_name_is_a_japanese_404(kobe: Municipality, name: str) -> None:
    response = Client().get(f"/kobe/dashboard/data/{name}")
    assert response.status_code == 404
    assert "というファイルはありません" in response.content.decode()


def test_a_path_outside_the_data_folder_is_not_found(kobe: Municipality) -> None:
    assert Client().get("/kobe/dashboard/data/..%2F..%2Fsettings.py").status_code == 404
