"""The cases by age band and sex: a population-pyramid chart, its table and its file.

Men to the left and women to the right of the age labels, so the two are told apart by
position, not colour; each bar carries its number. People whose sex is その他 or unknown
cannot be placed on either side: the description says how many, and the table (always shown
beside the chart) has a column for each, as it has a row for an unknown age.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from madoguchi.opendata import selectors
from madoguchi.opendata.cards import Card, Download
from madoguchi.opendata.charts import format_number
from madoguchi.opendata.derived import AGE_GROUPS, PATIENTS_BY_AGE_SEX, SEXES, age_label, sex_label
from madoguchi.tenants.models import Municipality

__all__ = ["Pyramid", "age_sex_card", "pyramid_chart"]

WIDTH = 480
TOP = 28  # room for the side headings
ROW = 20
LABELS = 100  # the column of age labels in the middle ("90 and over" at a phone's font size)
NUMBER_ROOM = 34  # room for a bar's number beyond its end
MALE, FEMALE = "男性", "女性"


@dataclass(frozen=True, slots=True)
class PyramidRow:
    label: str
    label_y: float
    bar_y: float
    bar_height: float
    male_x: float
    male_width: float
    male_text: str
    male_text_x: float
    female_x: float
    female_width: float
    female_text: str
    female_text_x: float


@dataclass(frozen=True, slots=True)
class Pyramid:
    id: str
    title: str
    desc: str
    width: int
    height: int
    center: float
    male_heading: str
    female_heading: str
    male_heading_x: float
    female_heading_x: float
    axis_left: float
    axis_right: float
    top: int
    bottom: int
    rows: tuple[PyramidRow, ...]


def pyramid_chart(
    *, chart_id: str, title: str, desc: str, counts: Mapping[tuple[str, str], int]
) -> Pyramid:
    """Bars per age band (unknown age last): men leftwards, women rightwards."""
    center = WIDTH / 2
    half = center - LABELS / 2 - NUMBER_ROOM
    top_value = max((counts.get((a, s), 0) for a in AGE_GROUPS for s in (MALE, FEMALE)), default=0)
    scale = half / top_value if top_value else 0.0
    left_axis, right_axis = center - LABELS / 2, center + LABELS / 2
    rows = []
    for index, age in enumerate(AGE_GROUPS):
        y = TOP + index * ROW
        male, female = counts.get((age, MALE), 0), counts.get((age, FEMALE), 0)
        male_width, female_width = round(male * scale, 1), round(female * scale, 1)
        rows.append(
            PyramidRow(
                label=age_label(age),
                label_y=round(y + ROW / 2, 1),
                bar_y=round(y + 3, 1),
                bar_height=ROW - 6,
                male_x=round(left_axis - male_width, 1),
                male_width=male_width,
                male_text=format_number(male),
                male_text_x=round(left_axis - male_width - 4, 1),
                female_x=right_axis,
                female_width=female_width,
                female_text=format_number(female),
                female_text_x=round(right_axis + female_width + 4, 1),
            )
        )
    return Pyramid(
        id=chart_id,
        title=title,
        desc=desc,
        width=WIDTH,
        height=TOP + ROW * len(AGE_GROUPS) + 4,
        center=center,
        male_heading=_("← 男性"),
        female_heading=_("女性 →"),
        male_heading_x=left_axis,
        female_heading_x=right_axis,
        axis_left=left_axis,
        axis_right=right_axis,
        top=TOP,
        bottom=TOP + ROW * len(AGE_GROUPS),
        rows=tuple(rows),
    )


def _describe(counts: Mapping[tuple[str, str], int]) -> str:
    total = sum(counts.values())
    by_age = {age: sum(counts.get((age, s), 0) for s in SEXES) for age in AGE_GROUPS}
    top_age = max((a for a in AGE_GROUPS if a), key=lambda a: by_age[a])
    male = sum(counts.get((a, MALE), 0) for a in AGE_GROUPS)
    female = sum(counts.get((a, FEMALE), 0) for a in AGE_GROUPS)
    return _(
        "年代別の陽性者数を、左に男性、右に女性の横棒で表したグラフ。"
        "合計%(total)s人のうち男性%(male)s人、女性%(female)s人。"
        "最も多いのは%(age)sの%(count)s人です。"
        "性別がその他または不明の%(rest)s人は表にあります。"
    ) % {
        "total": format_number(total),
        "male": format_number(male),
        "female": format_number(female),
        "age": age_label(top_age),
        "count": format_number(by_age[top_age]),
        "rest": format_number(total - male - female),
    }


def age_sex_card(
    *,
    members: Sequence[Municipality],
    downloads: Callable[[str], tuple[Download, ...]],
) -> Card:
    """The card: figures, the pyramid, the table by age band × sex, and the file."""
    title = _("年代別・性別の陽性者数")
    lead = _(
        "公表された陽性者の累計を、年代と性別で分けたものです。"
        "年代・性別が公表されていない人は「不明」に数えます。"
    )
    counts = selectors.patient_counts_by_age_and_sex(municipalities=members)
    headers = (_("年代"), *(sex_label(s) for s in SEXES), pgettext("a table's total", "計"))
    files = downloads(PATIENTS_BY_AGE_SEX)
    total = sum(counts.values())
    if not total:
        return Card(
            "age_sex", title, lead, (), None, "", (), (), files, empty=_("まだデータがありません。")
        )
    table = [
        (
            age_label(age),
            *(format_number(counts.get((age, s), 0)) for s in SEXES),
            format_number(sum(counts.get((age, s), 0) for s in SEXES)),
        )
        for age in AGE_GROUPS
    ]
    table.append(
        (
            pgettext("a table's total", "計"),
            *(format_number(sum(counts.get((a, s), 0) for a in AGE_GROUPS)) for s in SEXES),
            format_number(total),
        )
    )
    unit = _("人")
    figures = (
        (_("累計"), f"{format_number(total)}{unit}"),
        *(
            (sex_label(s), f"{format_number(sum(counts.get((a, s), 0) for a in AGE_GROUPS))}{unit}")
            for s in (MALE, FEMALE)
        ),
    )
    return Card(
        "age_sex",
        title,
        lead,
        figures,
        None,
        "",
        (),
        (),
        files,
        headers,
        tuple(table),
        pyramid=pyramid_chart(
            chart_id="chart-age_sex", title=title, desc=_describe(counts), counts=counts
        ),
        extra_caption=_("年代別・性別の陽性者数（累計）"),
    )
