"""Importing real-world files: variants of the columns, dates and unknowns; idempotence."""

from __future__ import annotations

import datetime

import pytest

from madoguchi.opendata.cells import read_cell, read_code
from madoguchi.opendata.errors import CellError, ProblemCode
from madoguchi.opendata.formats import FORMATS
from madoguchi.opendata.models import DailyCount, DatasetUpdate, PatientRecord, Publisher
from tests.isolation import Tenant, snapshot
from tests.opendata.conftest import (
    PATIENT_HEADER,
    TOKYO_PATIENT_HEADER,
    import_file,
    kobe_row,
    make_csv,
)

# Tokyo's layout with its 再陽性 column, which the national format does not have.
TOKYO_STYLE_PATIENTS = [*TOKYO_PATIENT_HEADER, "患者_再陽性フラグ"]


def test_tokyo_style_patient_columns_are_mapped_and_reported(tenant_a: Tenant) -> None:
    """曜日 and 再陽性 are read and dropped; 患者_属性 and 退院済フラグ are national items."""
    rows = [
        [
            "1",
            "281000",
            "兵庫県",
            "神戸市",
            "2020-03-07",
            "土",
            "2020/3/1",
            "神戸市",
            "40代",
            "男性",
            "会社員",
            "軽症",
            "発熱;咳",
            "0",
            "",
            "1",
            "0",
        ],
        [
            "2",
            "281000",
            "兵庫県",
            "神戸市",
            "2020/3/8 10:00",
            "日",
            "不明",
            "",
            "100歳以上",
            "女",
            "",
            "",
            "",
            "",
            "調査中",
            "",
            "",
        ],
    ]
    report = import_file(tenant_a.municipality, make_csv(rows, TOKYO_STYLE_PATIENTS), "patients")
    assert report.imported, report.lines()
    assert report.renamed_columns == {"患者_属性": "患者_職業", "退院済フラグ": "患者_退院済フラグ"}
    assert report.ignored_columns == ("曜日", "患者_再陽性フラグ")
    assert report.unknown_columns == ()
    first, second = PatientRecord.objects.order_by("number")
    assert (first.published_on, first.onset_on, first.occupation, first.symptoms) == (
        datetime.date(2020, 3, 7),
        datetime.date(2020, 3, 1),
        "会社員",
        "発熱;咳",
    )
    assert (first.travel_history, first.discharged) == (False, True)
    # Unknowns: 不明 in a date, empty flags; 100歳以上 is within 90歳以上; 調査中 is a note.
    assert (second.published_on, second.onset_on, second.age_group, second.sex) == (
        datetime.date(2020, 3, 8),
        None,
        "90歳以上",
        "女性",
    )
    assert (second.travel_history, second.discharged, second.note) == (None, None, "調査中")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-24", datetime.date(2020, 1, 24)),
        ("2020/1/24", datetime.date(2020, 1, 24)),
        ("2020/01/24 08:30", datetime.date(2020, 1, 24)),
        ("2020-01-24T08:00:00.000Z", datetime.date(2020, 1, 24)),
        ("2020-01-24T00:00:00+09:00", datetime.date(2020, 1, 24)),
        ("２０２０／１／２４", datetime.date(2020, 1, 24)),
        ("2020年1月24日", datetime.date(2020, 1, 24)),
        ("2020-02-29", datetime.date(2020, 2, 29)),
    ],
)
def test_dates_are_read_in_the_forms_seen_in_the_wild(text: str, expected: datetime.date) -> None:
    assert read_cell(FORMATS["call_center"].column("受付_年月日"), text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2021-02-29", ProblemCode.DATE_IMPOSSIBLE),
        ("2020-04-31", ProblemCode.DATE_IMPOSSIBLE),
        ("20200124", ProblemCode.DATE_FORMAT),
        ("1/24/2020", ProblemCode.DATE_FORMAT),
        ("2020-01-24 25時", ProblemCode.DATE_FORMAT),
    ],
)
def test_dates_that_are_not_dates_are_refused(text: str, code: ProblemCode) -> None:
    with pytest.raises(CellError) as caught:
        read_cell(FORMATS["call_center"].column("受付_年月日"), text)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("1,234", 1234), ("１２", 12), (" 7 ", 7), ("2147483647", 2147483647)],
)
def test_counts_accept_grouping_and_full_width_digits(text: str, expected: int) -> None:
    assert read_cell(FORMATS["call_center"].column("相談件数"), text) == expected


@pytest.mark.parametrize("text", ["1,23", "2147483648", "1e3", "0x10", "+3"])
def test_counts_refuse_what_is_not_a_plain_count(text: str) -> None:
    with pytest.raises(CellError) as caught:
        read_cell(FORMATS["call_center"].column("相談件数"), text)
    assert caught.value.code == ProblemCode.COUNT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10歳未満", "10歳未満"),
        ("5歳", "10歳未満"),
        ("20歳代", "20代"),
        ("90歳代", "90歳以上"),
        ("90代", "90歳以上"),
        ("100歳以上", "90歳以上"),
        ("不明", ""),
        ("非公表", ""),
        ("－", ""),
        ("", ""),
    ],
)
def test_age_groups_map_variants_into_the_national_classes(text: str, expected: str) -> None:
    assert read_cell(FORMATS["patients"].column("患者_年代"), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("281000", "281000"), ("28100", "281000"), ("２８１０００", "281000"), ("", "")],
)
def test_the_code_may_lack_its_check_digit(text: str, expected: str) -> None:
    assert read_code(text, expected="281000", expected_name="神戸市") == expected


def test_a_five_digit_code_may_be_a_six_digit_one_that_lost_its_leading_zero() -> None:
    """Spreadsheets turn 北海道 010006 into 10006."""
    assert read_code("10006", expected="010006", expected_name="北海道") == "010006"


def test_unknown_columns_are_named_and_the_rest_is_imported(tenant_a: Tenant) -> None:
    header = ["受付_年月日", "相談件数", "担当", "天気"]
    report = import_file(tenant_a.municipality, make_csv([["2020-04-03", "3", "A", "晴"]], header))
    assert report.imported
    assert report.unknown_columns == ("担当", "天気")
    assert DailyCount.objects.get(municipality=tenant_a.municipality).count == 3


def test_trailing_empty_cells_and_blank_lines_are_ignored(tenant_a: Tenant) -> None:
    text = "受付_年月日,相談件数\n2020-04-03,3,,\n\n,\n2020-04-04,4\n\n"
    report = import_file(tenant_a.municipality, text.encode())
    assert report.imported, report.lines()
    assert (report.rows_read, report.created) == (2, 2)


def test_importing_the_same_file_twice_changes_nothing(tenant_a: Tenant) -> None:
    rows = [
        kobe_row(f"2020-04-{d:02d}", str(d * 3), "速報値" if d == 2 else "") for d in range(1, 11)
    ]
    data = make_csv(rows)
    first = import_file(tenant_a.municipality, data)
    assert (first.created, first.updated, first.unchanged) == (10, 0, 0)
    before = (
        snapshot(DailyCount.objects.all()),
        snapshot(Publisher.objects.all()),
        snapshot(DatasetUpdate.objects.all()),
    )
    second = import_file(tenant_a.municipality, data)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 10)
    after = (
        snapshot(DailyCount.objects.all()),
        snapshot(Publisher.objects.all()),
        snapshot(DatasetUpdate.objects.all()),
    )
    assert after == before


def test_importing_the_same_patients_twice_changes_nothing(tenant_a: Tenant) -> None:
    def row(number: str) -> list[str]:
        values = dict.fromkeys(PATIENT_HEADER, "")
        values.update({"No": number, "公表_年月日": "2020-04-01", "患者_年代": "30代"})
        return [values[h] for h in PATIENT_HEADER]

    data = make_csv([row(str(n)) for n in range(1, 6)], PATIENT_HEADER)
    assert import_file(tenant_a.municipality, data, "patients").created == 5
    before = snapshot(PatientRecord.objects.all()), snapshot(Publisher.objects.all())
    report = import_file(tenant_a.municipality, data, "patients")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert (snapshot(PatientRecord.objects.all()), snapshot(Publisher.objects.all())) == before


def test_a_corrected_file_updates_the_changed_days_and_bumps_the_version(tenant_a: Tenant) -> None:
    import_file(
        tenant_a.municipality, make_csv([kobe_row("2020-04-01", "1"), kobe_row("2020-04-02", "2")])
    )
    version = Publisher.objects.get(municipality=tenant_a.municipality).version
    report = import_file(
        tenant_a.municipality,
        make_csv([kobe_row("2020-04-01", "1"), kobe_row("2020-04-02", "5", "訂正")]),
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert Publisher.objects.get(municipality=tenant_a.municipality).version == version + 1
    day = DailyCount.objects.get(municipality=tenant_a.municipality, date__day=2)
    assert (day.count, day.note) == (5, "訂正")
