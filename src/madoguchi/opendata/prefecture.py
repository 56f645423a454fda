"""The prefecture view: the served municipalities under one prefecture, added up.

Members are found by their ``prefecture`` (so towns under a 郡 and wards under a designated city
count, whatever their direct parent). A prefecture's own datasets, when it publishes some,
stay on its own dashboard and are not added here, which would count cases twice.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from madoguchi.core.templatetags.madoguchi import html_interpolate, typed_ja
from madoguchi.opendata import selectors
from madoguchi.opendata.agesex import age_sex_card
from madoguchi.opendata.charts import format_day, format_number
from madoguchi.opendata.dashboard import Card, Download, Period, covid_cards
from madoguchi.opendata.derived import PATIENTS_BY_AGE_SEX, PATIENTS_PER_DAY, Place, derived_file
from madoguchi.opendata.exports import csv_file
from madoguchi.opendata.formats import FORMATS
from madoguchi.opendata.models import DAILY_DATASETS, Dataset
from madoguchi.tenants.models import Municipality

__all__ = [
    "MemberRow",
    "prefecture_cards",
    "prefecture_file",
    "prefecture_filename",
    "prefecture_members_table",
]

PATIENT_COUNT_COLUMN = "陽性者数"


def prefecture_filename(prefecture: Municipality, dataset: str, extension: str) -> str:
    """``280003_covid19_call_center_total.csv``: the members' counts added up per day."""
    return f"{prefecture.code}_covid19_{dataset}_total.{extension}"


def _series(members: Sequence[Municipality], dataset: str) -> list[tuple[datetime.date, int]]:
    if dataset == Dataset.PATIENTS:
        return selectors.patient_counts_by_day(municipalities=members)
    return selectors.daily_counts(municipalities=members, dataset=dataset)


def _downloads(prefecture: Municipality, dataset: str) -> tuple[Download, ...]:
    return tuple(
        Download(
            label,
            reverse(
                "opendata-prefecture-file",
                kwargs={
                    "code": prefecture.code,
                    "filename": prefecture_filename(prefecture, dataset, extension),
                },
            ),
            prefecture_filename(prefecture, dataset, extension),
        )
        for label, extension in (("CSV", "csv"), ("JSON", "json"))
    )


def prefecture_cards(*, prefecture: Municipality, members: Sequence[Municipality]) -> list[Card]:
    """The prefecture's cards: each national series summed over ``members``, whole period."""

    def downloads(kind: str) -> tuple[Download, ...]:
        return _downloads(prefecture, Dataset.PATIENTS if kind == PATIENTS_PER_DAY else kind)

    cards = covid_cards(
        patients=_series(members, Dataset.PATIENTS),
        daily={dataset: _series(members, dataset) for dataset in DAILY_DATASETS},
        downloads=downloads,
        period=Period.ALL,
    )
    cards.insert(1, age_sex_card(members=members, downloads=downloads))
    return cards


@dataclass(frozen=True, slots=True)
class MemberRow:
    municipality: Municipality
    patients: str
    latest: str


def prefecture_members_table(*, members: Sequence[Municipality]) -> list[MemberRow]:
    """Per member: its total of cases and the date of its latest case."""
    rows = []
    for member in members:
        days = selectors.patient_counts_by_day(municipalities=[member])
        rows.append(
            MemberRow(
                member,
                format_number(sum(n for _day, n in days)),
                format_day(days[-1][0]) if days else "—",
            )
        )
    return rows


def prefecture_file(
    *, prefecture: Municipality, members: Sequence[Municipality], filename: str, bom: bool
) -> tuple[bytes, str] | None:
    """A summed daily file (CSV in the national daily layout, or JSON) and its content type.

    Patients have no national daily layout; their file uses the same columns with
    ``陽性者数`` as the count. None when ``filename`` is not one of the prefecture's files.
    """
    for dataset in (Dataset.PATIENTS, *DAILY_DATASETS):
        for extension in ("csv", "json"):
            if filename == prefecture_filename(prefecture, dataset, extension):
                return _render(prefecture, members, dataset, extension, bom)
    for extension in ("csv", "json"):
        if filename == prefecture_filename(prefecture, PATIENTS_BY_AGE_SEX, extension):
            place = Place(prefecture.code, prefecture.name, "")
            return derived_file(
                kind=PATIENTS_BY_AGE_SEX,
                extension=extension,
                members=members,
                place=place,
                bom=bom,
            )
    return None


def _render(
    prefecture: Municipality,
    members: Sequence[Municipality],
    dataset: str,
    extension: str,
    bom: bool,
) -> tuple[bytes, str]:
    if dataset == Dataset.PATIENTS:
        columns = ["公表_年月日", "全国地方公共団体コード", "都道府県名", "市区町村名"]
        columns += [PATIENT_COUNT_COLUMN, "備考"]
    else:
        columns = list(FORMATS[dataset].names)
    rows = [
        [day.isoformat(), prefecture.code, prefecture.name, "", str(n), ""]
        for day, n in _series(members, dataset)
    ]
    if extension == "json":
        data = [
            {
                c: (int(v) if i == 4 else v or None)
                for i, (c, v) in enumerate(zip(columns, row, strict=True))
            }
            for row in rows
        ]
        document = {
            "dataset": dataset,
            "prefecture": {"code": prefecture.code, "name": prefecture.name},
            "municipalities": [m.code for m in members],
            "columns": columns,
            "data": data,
        }
        return json.dumps(document, ensure_ascii=False).encode(), "application/json"
    return csv_file(columns, rows, bom=bom)


def prefecture_title(prefecture: Municipality, *, html: bool = False) -> str:
    """Says what the view counts: the municipalities within, not the prefecture's own data.

    ``html``: the prefecture's name marked ``lang="ja"`` on a page in another language."""
    if html:
        return html_interpolate(_("%(name)s内の市区町村の合計"), name=typed_ja(prefecture.name))
    return _("%(name)s内の市区町村の合計") % {"name": prefecture.name}
