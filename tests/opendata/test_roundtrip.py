"""Export → import → export gives the same bytes, for Tokyo's real file and generated data."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.opendata.exports import export_csv, export_json
from madoguchi.opendata.formats import FORMATS
from madoguchi.opendata.models import DailyCount, PatientRecord
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant
from tests.opendata.conftest import import_file

WEEKDAYS = "月火水木金土日"


def parse(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def wipe(municipality: Municipality) -> None:
    DailyCount.objects.filter(municipality=municipality).delete()
    PatientRecord.objects.filter(municipality=municipality).delete()


# --- Tokyo's real file -----------------------------------------------------------------------


def test_tokyos_call_centre_file_comes_back_with_every_days_count(
    tokyo: Municipality, tokyo_call_center: bytes
) -> None:
    """The real file (曜日 column, no 備考, LF) imports, and the export has every date's count."""
    report = import_file(tokyo, tokyo_call_center)
    assert report.imported, report.lines()
    assert report.ignored_columns == ("曜日",)
    original = {
        row["受付_年月日"]: row["相談件数"]
        for row in csv.DictReader(io.StringIO(tokyo_call_center.decode("utf-8-sig")))
    }
    assert len(original) == report.created == 93

    exported = export_csv(tokyo, "call_center")
    rows = parse(exported)
    assert list(rows[0]) == list(FORMATS["call_center"].names)
    assert {row["受付_年月日"]: row["相談件数"] for row in rows} == original
    assert {
        (row["全国地方公共団体コード"], row["都道府県名"], row["市区町村名"]) for row in rows
    } == {("130001", "東京都", "")}
    assert exported.count(b"\r\n") == len(rows) + 1
    assert b"\r\n\r\n" not in exported

    wipe(tokyo)
    assert import_file(tokyo, exported).created == 93
    assert export_csv(tokyo, "call_center") == exported

    document = export_json(tokyo, "call_center")
    assert {r["受付_年月日"]: r["相談件数"] for r in document["data"]} == {
        day: int(n) for day, n in original.items()
    }


# --- generated datasets -----------------------------------------------------------------------

# Characters Shift_JIS (cp932) can hold, so that every file can also be written in it.
_FIRST = "あいうえおかきくけこアイウエオカキクケコ神戸市区役所保健所調査中確認abcXYZ0123456789①㈱"
_REST = _FIRST + " 、。，,;:\"'/（）()-=+@\n"
texts = st.builds(
    lambda first, rest: (first + rest).rstrip(),
    st.sampled_from(_FIRST),
    st.text(alphabet=_REST, max_size=20),
)
optional_texts = st.one_of(st.just(""), texts)
days = st.dates(min_value=datetime.date(2020, 1, 1), max_value=datetime.date(2023, 12, 31))


@st.composite
def daily_datasets(draw: st.DrawFn) -> tuple[str, dict[datetime.date, tuple[int, str]]]:
    dataset = draw(
        st.sampled_from(["test_people", "test_count", "confirm_negative", "call_center"])
    )
    records = draw(
        st.dictionaries(days, st.tuples(st.integers(0, 10_000_000), optional_texts), max_size=25)
    )
    return dataset, records


patient_records = st.fixed_dictionaries(
    {
        "published_on": days,
        "onset_on": st.one_of(st.none(), days),
        "residence": optional_texts,
        "age_group": st.sampled_from(["", "10歳未満", "10代", "50代", "90歳以上"]),
        "sex": st.sampled_from(["", "男性", "女性", "その他"]),
        "occupation": optional_texts,
        "condition": st.sampled_from(["", "無症状", "軽症", "中等症", "重症", "死亡"]),
        "symptoms": st.sampled_from(["", "発熱", "発熱;咳", "咳;倦怠感;味覚障害"]),
        "travel_history": st.sampled_from([None, True, False]),
        "discharged": st.sampled_from([None, True, False]),
        "note": optional_texts,
    }
)


def _date_text(day: datetime.date, style: str) -> str:
    if style == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if style == "time":
        return f"{day.isoformat()}T09:00:00.000Z"
    return day.isoformat()


@st.composite
def file_styles(draw: st.DrawFn) -> dict[str, Any]:
    """How a file in the wild may present the same data."""
    return {
        "encoding": draw(st.sampled_from(["utf-8-sig", "utf-8", "cp932"])),
        "newline": draw(st.sampled_from(["\r\n", "\n"])),
        "dates": draw(st.sampled_from(["iso", "slash", "time"])),
        "code": draw(st.sampled_from(["281000", "28100", ""])),
        "names": draw(st.booleans()),
        "weekday": draw(st.booleans()),
        "shuffle": draw(st.randoms(use_true_random=False)),
    }


def wild_file(columns: list[str], rows: list[dict[str, str]], style: dict[str, Any]) -> bytes:
    """A CSV of ``rows`` (national column name -> text) written in ``style``."""
    header = list(columns)
    if style["weekday"]:
        header.insert(1, "曜日")
    style["shuffle"].shuffle(header)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=style["newline"])
    writer.writerow(header)
    for row in rows:
        row = {
            **row,
            "全国地方公共団体コード": style["code"],
            "都道府県名": "兵庫県" if style["names"] else "",
            "市区町村名": "神戸市" if style["names"] else "",
        }
        writer.writerow([row.get(column, "") for column in header])
    return buffer.getvalue().encode(style["encoding"])


ROUND_TRIP = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@ROUND_TRIP
@given(data=daily_datasets(), style=file_styles())
def test_generated_daily_datasets_round_trip_byte_for_byte(
    tenant_a: Tenant, data: tuple[str, dict[datetime.date, tuple[int, str]]], style: dict[str, Any]
) -> None:
    dataset, records = data
    kobe = tenant_a.municipality
    wipe(kobe)
    fmt = FORMATS[dataset]
    date_column, count_column = fmt.names[0], fmt.names[4]
    rows = [
        {
            date_column: _date_text(day, style["dates"]),
            "曜日": WEEKDAYS[day.weekday()],
            count_column: f"{count:,}" if count % 3 == 0 else str(count),
            "備考": note,
        }
        for day, (count, note) in records.items()
    ]
    report = import_file(kobe, wild_file(list(fmt.names), rows, style), dataset)
    assert report.imported, report.lines()
    assert report.created == len(records)

    first = export_csv(kobe, dataset)
    assert [(row[date_column], int(row[count_column]), row["備考"]) for row in parse(first)] == [
        (day.isoformat(), count, note) for day, (count, note) in sorted(records.items())
    ]
    assert export_csv(kobe, dataset, bom=False) == first[3:]

    wipe(kobe)
    assert import_file(kobe, first, dataset).created == len(records)
    assert export_csv(kobe, dataset) == first


@ROUND_TRIP
@given(
    records=st.dictionaries(st.integers(1, 10**6), patient_records, max_size=15),
    style=file_styles(),
)
def test_generated_patient_datasets_round_trip_byte_for_byte(
    tenant_a: Tenant, records: dict[int, dict[str, Any]], style: dict[str, Any]
) -> None:
    kobe = tenant_a.municipality
    wipe(kobe)

    def flag(value: bool | None) -> str:
        return "" if value is None else str(int(value))

    rows = [
        {
            "No": str(number),
            "公表_年月日": _date_text(r["published_on"], style["dates"]),
            "曜日": WEEKDAYS[r["published_on"].weekday()],
            "発症_年月日": _date_text(r["onset_on"], style["dates"]) if r["onset_on"] else "",
            "患者_居住地": r["residence"],
            "患者_年代": r["age_group"],
            "患者_性別": r["sex"],
            "患者_職業": r["occupation"],
            "患者_状態": r["condition"],
            "患者_症状": r["symptoms"],
            "患者_渡航歴の有無フラグ": flag(r["travel_history"]),
            "患者_退院済フラグ": flag(r["discharged"]),
            "備考": r["note"],
        }
        for number, r in records.items()
    ]
    report = import_file(kobe, wild_file(list(FORMATS["patients"].names), rows, style), "patients")
    assert report.imported, report.lines()

    first = export_csv(kobe, "patients")
    exported = parse(first)
    assert [int(row["No"]) for row in exported] == sorted(records)
    for row in exported:
        r = records[int(row["No"])]
        assert row["公表_年月日"] == r["published_on"].isoformat()
        assert row["発症_年月日"] == (r["onset_on"].isoformat() if r["onset_on"] else "")
        assert (row["患者_年代"], row["患者_性別"], row["患者_状態"]) == (
            r["age_group"],
            r["sex"],
            r["condition"],
        )
        assert (row["患者_居住地"], row["患者_職業"], row["備考"]) == (
            r["residence"],
            r["occupation"],
            r["note"],
        )
        assert row["患者_退院済フラグ"] == flag(r["discharged"])

    wipe(kobe)
    assert import_file(kobe, first, "patients").created == len(records)
    assert export_csv(kobe, "patients") == first


@pytest.mark.parametrize("dataset", ["patients", "test_people", "call_center"])
def test_an_empty_dataset_exports_its_header_only(tenant_a: Tenant, dataset: str) -> None:
    header = ",".join(FORMATS[dataset].names).encode() + b"\r\n"
    assert export_csv(tenant_a.municipality, dataset) == b"\xef\xbb\xbf" + header
