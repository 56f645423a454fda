"""Files computed from 陽性患者属性 for the dashboard's cards: cases per day, and by age and sex.

The national item definition has no daily count of new cases and no age-by-sex table, so these
files follow its conventions as closely as they can: the place columns and ``備考`` of the daily
datasets, the national column names and values for age and sex (``患者_年代``, ``患者_性別``,
unknown as an empty cell), ``陽性者数`` for the count, UTF-8 with a BOM and CRLF like every
export. A prefecture view writes the same files for its members added up.

Cases per day lists every day from the first case to the last, with 0 on days without one, as
the chart does; the age-and-sex file lists every combination, unknown included, with 0 where
there is none, so that its rows are the same whatever the data.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from madoguchi.opendata import selectors
from madoguchi.opendata.exports import csv_file, place_names
from madoguchi.opendata.models import AgeGroup, Sex
from madoguchi.opendata.series import daily_series
from madoguchi.tenants.models import Municipality

__all__ = [
    "AGE_GROUPS",
    "COUNT_COLUMN",
    "DERIVED",
    "PATIENTS_BY_AGE_SEX",
    "PATIENTS_PER_DAY",
    "SEXES",
    "Place",
    "age_label",
    "derived_file",
    "municipality_file",
    "sex_label",
]

PATIENTS_PER_DAY = "patients_per_day"
PATIENTS_BY_AGE_SEX = "patients_by_age_sex"
DERIVED = (PATIENTS_PER_DAY, PATIENTS_BY_AGE_SEX)
COUNT_COLUMN = "陽性者数"
PER_DAY_COLUMNS = (
    "公表_年月日",
    "全国地方公共団体コード",
    "都道府県名",
    "市区町村名",
    COUNT_COLUMN,
    "備考",
)
AGE_SEX_COLUMNS = (
    "全国地方公共団体コード",
    "都道府県名",
    "市区町村名",
    "患者_年代",
    "患者_性別",
    COUNT_COLUMN,
)
# The national classes in order, then unknown ("").
AGE_GROUPS: tuple[str, ...] = (*(a.value for a in AgeGroup), "")
SEXES: tuple[str, ...] = (*(s.value for s in Sex), "")


def age_label(age: str) -> str:
    """The age band as shown to people (the national value in Japanese, 不明 for unknown)."""
    labels = {
        "10歳未満": _("10歳未満"),
        "10代": _("10代"),
        "20代": _("20代"),
        "30代": _("30代"),
        "40代": _("40代"),
        "50代": _("50代"),
        "60代": _("60代"),
        "70代": _("70代"),
        "80代": _("80代"),
        "90歳以上": _("90歳以上"),
    }
    return labels.get(age, _("不明"))


def sex_label(sex: str) -> str:
    labels = {"男性": _("男性"), "女性": _("女性"), "その他": pgettext("sex", "その他")}
    return labels.get(sex, _("不明"))


@dataclass(frozen=True, slots=True)
class Place:
    """The place columns of every row: 団体コード, 都道府県名, 市区町村名."""

    code: str
    prefecture: str
    municipality: str


def _per_day_rows(members: Sequence[Municipality], place: Place) -> list[list[str]]:
    counts = selectors.patient_counts_by_day(municipalities=members)
    return [
        [p.day.isoformat(), place.code, place.prefecture, place.municipality, str(p.value), ""]
        for p in daily_series(counts, missing_is_zero=True)
    ]


def _age_sex_rows(members: Sequence[Municipality], place: Place) -> list[list[str]]:
    counts = selectors.patient_counts_by_age_and_sex(municipalities=members)
    return [
        [place.code, place.prefecture, place.municipality, age, sex, str(counts.get((age, sex), 0))]
        for age in AGE_GROUPS
        for sex in SEXES
    ]


def derived_file(
    *,
    kind: str,
    extension: str,
    members: Sequence[Municipality],
    place: Place,
    bom: bool,
    updated: datetime.datetime | None = None,
) -> tuple[bytes, str]:
    """The file ``kind`` (one of DERIVED) as CSV or JSON, and its content type."""
    if kind == PATIENTS_PER_DAY:
        columns, rows = PER_DAY_COLUMNS, _per_day_rows(members, place)
    else:
        columns, rows = AGE_SEX_COLUMNS, _age_sex_rows(members, place)
    count_at = columns.index(COUNT_COLUMN)
    if extension == "json":
        document: dict[str, Any] = {
            "dataset": kind,
            "municipality": {"code": place.code, "name": place.municipality or place.prefecture},
            "municipalities": [m.code for m in members],
            "updated": updated.isoformat() if updated else None,
            "columns": list(columns),
            "data": [
                {
                    c: (int(v) if i == count_at else v or None)
                    for i, (c, v) in enumerate(zip(columns, row, strict=True))
                }
                for row in rows
            ],
        }
        return json.dumps(document, ensure_ascii=False).encode(), "application/json"
    return csv_file(columns, rows, bom=bom)


def municipality_file(
    *, municipality: Municipality, kind: str, extension: str, bom: bool = True
) -> tuple[bytes, str]:
    """A municipality's file ``kind``, with its place columns and last update."""
    prefecture_name, municipality_name = place_names(municipality)
    return derived_file(
        kind=kind,
        extension=extension,
        members=[municipality],
        place=Place(municipality.code, prefecture_name, municipality_name),
        bom=bom,
        updated=selectors.publisher_state(municipality=municipality).updated_at,
    )
