"""Shared data for the open-data tests: municipalities, CSV builders and the Tokyo file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from django.core.cache import cache

from madoguchi.audit.services import AuditActor
from madoguchi.opendata.report import ImportMode, ImportReport
from madoguchi.opendata.services import dataset_import
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.services import municipalities_load

ACTOR = AuditActor(label="test")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKYO_CALL_CENTER = (
    PROJECT_ROOT.parent / "shared" / "data" / "opendata" / "130001_tokyo_covid19_call_center.csv"
)
CALL_CENTER_HEADER = [
    "受付_年月日",
    "全国地方公共団体コード",
    "都道府県名",
    "市区町村名",
    "相談件数",
    "備考",
]
PATIENT_HEADER = [
    "No",
    "全国地方公共団体コード",
    "都道府県名",
    "市区町村名",
    "公表_年月日",
    "発症_年月日",
    "患者_居住地",
    "患者_年代",
    "患者_性別",
    "患者_職業",
    "患者_状態",
    "患者_症状",
    "患者_渡航歴の有無フラグ",
    "患者_退院済フラグ",
    "備考",
]
# The layout of Tokyo's published 陽性患者属性 file: 曜日 after the date, 患者_属性, and
# 退院済フラグ last.
TOKYO_PATIENT_HEADER = [
    "No",
    "全国地方公共団体コード",
    "都道府県名",
    "市区町村名",
    "公表_年月日",
    "曜日",
    "発症_年月日",
    "患者_居住地",
    "患者_年代",
    "患者_性別",
    "患者_属性",
    "患者_状態",
    "患者_症状",
    "患者_渡航歴の有無フラグ",
    "備考",
    "退院済フラグ",
]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Rolled-back tests reuse primary keys and versions: start every test with no cache."""
    cache.clear()
    yield
    cache.clear()


def make_csv(
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = CALL_CENTER_HEADER,
    *,
    encoding: str = "utf-8-sig",
    newline: str = "\r\n",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def kobe_row(day: str, count: str, note: str = "") -> list[str]:
    return [day, "281000", "兵庫県", "神戸市", count, note]


def tokyo_patient_row(
    number: int,
    age: str,
    sex: str,
    *,
    code: str = "130001",
    prefecture: str = "東京都",
    city: str = "",
    residence: str = "",
    discharged: str = "",
) -> list[str]:
    """One patient published on Sunday 2020-03-01, in the columns of ``TOKYO_PATIENT_HEADER``."""
    row = ["2020-03-01", "日", "", residence, age, sex, "", "", "", "", "", discharged]
    return [str(number), code, prefecture, city, *row]


def import_file(
    municipality: Municipality,
    data: bytes,
    dataset: str = "call_center",
    mode: ImportMode = ImportMode.ALL_OR_NOTHING,
) -> ImportReport:
    return dataset_import(
        municipality=municipality, dataset=dataset, data=data, mode=mode, actor=ACTOR
    )


@pytest.fixture
def tokyo(db: None) -> Municipality:
    """東京都 (a prefecture: 市区町村名 stays empty in its files)."""
    [municipality] = municipalities_load(codes=["130001"], activate=True, actor=ACTOR)
    municipality.slug = "tokyo"
    municipality.save(update_fields=["slug"])
    return municipality


@pytest.fixture
def tokyo_call_center() -> bytes:
    if not TOKYO_CALL_CENTER.is_file():
        pytest.skip(f"the real Tokyo file is not checked out at {TOKYO_CALL_CENTER}")
    return TOKYO_CALL_CENTER.read_bytes()
