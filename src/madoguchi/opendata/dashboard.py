"""The dashboard's cards: each a chart, the same numbers as a table, and its downloads.

:func:`dashboard_cards` recomputes everything from the records (what the benchmark times);
:mod:`madoguchi.opendata.pages` caches the rendered result per data version.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from madoguchi.core.templatetags.madoguchi import html_interpolate, typed_ja
from madoguchi.opendata import selectors
from madoguchi.opendata.agesex import age_sex_card
from madoguchi.opendata.cards import Card, Download, TableRow
from madoguchi.opendata.charts import LineSpec, bar_line_chart, format_day, format_number
from madoguchi.opendata.derived import PATIENTS_PER_DAY
from madoguchi.opendata.exports import export_filename
from madoguchi.opendata.models import DAILY_DATASETS, Dataset
from madoguchi.opendata.series import DayValue, common_span, daily_series, window
from madoguchi.tenants.models import Municipality

__all__ = [
    "WINDOW_DAYS",
    "Card",
    "Download",
    "Period",
    "TableRow",
    "covid_cards",
    "daily_card",
    "dashboard_cards",
    "dashboard_title",
    "prefecture_kind",
]

WINDOW_DAYS = 91  # the recent period: thirteen weeks


class Period(StrEnum):
    """What the charts show: everything (the default), or the latest thirteen weeks."""

    ALL = "all"
    RECENT = "recent"

    @classmethod
    def parse(cls, raw: str | None) -> Period:
        """The period asked for in ``?period=``; anything unknown is the whole period."""
        return cls.RECENT if raw == cls.RECENT.value else cls.ALL

    @property
    def label(self) -> str:
        return _("全期間") if self is Period.ALL else _("直近13週")

    @property
    def query(self) -> str:
        """The query string of a link to this period (none for the default)."""
        return "" if self is Period.ALL else f"?period={self.value}"


def prefecture_kind(prefecture: Municipality) -> str:
    """都, 道, 府 or 県 (the last character of the name), as the publisher's word."""
    kinds = {
        "都": pgettext("a prefecture as a publisher", "都"),
        "道": pgettext("a prefecture as a publisher", "道"),
        "府": pgettext("a prefecture as a publisher", "府"),
    }
    return kinds.get(prefecture.name[-1:], pgettext("a prefecture as a publisher", "県"))


def dashboard_title(municipality: Municipality, *, html: bool = False) -> str:
    """The dashboard's title; a prefecture's own says it holds only what it published itself.

    A prefecture's own dashboard counts the records it keeps (e.g. its health centres'
    cases), not its municipalities': the prefecture view adds those up under another title.
    """
    name = typed_ja(municipality.name) if html else municipality.name
    interpolate = html_interpolate if html else _plain
    if municipality.is_prefecture:
        return interpolate(
            _("%(name)sのダッシュボード（%(kind)sが自ら公表した分）"),
            name=name,
            kind=prefecture_kind(municipality),
        )
    return interpolate(_("%(name)sのダッシュボード"), name=name)


def _plain(pattern: str, **values: object) -> str:
    return pattern % values


@dataclass(frozen=True, slots=True)
class _DailyText:
    title: str
    lead: str
    what: str  # the series in a sentence: 新規陽性者数
    day_header: str
    value_header: str
    unit: str


def _texts() -> dict[str, _DailyText]:
    return {
        Dataset.PATIENTS: _DailyText(
            _("陽性者数（日別）"),
            _("公表日ごとの新たな陽性者の数と、その日までの7日間の平均です。"),
            _("新規陽性者数"),
            _("公表日"),
            _("陽性者数"),
            _("人"),
        ),
        Dataset.TEST_PEOPLE: _DailyText(
            _("検査実施人数（日別）"),
            _("検査を受けた人の数です。"),
            _("検査実施人数"),
            _("実施日"),
            _("検査実施人数"),
            _("人"),
        ),
        Dataset.TEST_COUNT: _DailyText(
            _("検査実施件数（日別）"),
            _("実施した検査の件数です。"),
            _("検査実施件数"),
            _("実施日"),
            _("検査実施件数"),
            _("件"),
        ),
        Dataset.CONFIRM_NEGATIVE: _DailyText(
            _("陰性確認数（日別）"),
            _("陰性の確認が完了した件数です。"),
            _("陰性確認数"),
            _("完了日"),
            _("陰性確認数"),
            _("件"),
        ),
        Dataset.CALL_CENTER: _DailyText(
            _("相談件数（日別）"),
            _("コールセンターで受け付けた相談の件数です。"),
            _("相談件数"),
            _("受付日"),
            _("相談件数"),
            _("件"),
        ),
    }


def _describe(text: _DailyText, points: Sequence[DayValue]) -> str:
    known = [p for p in points if p.value is not None]
    peak = max(known, key=lambda p: p.value or 0)
    last = known[-1]
    return _(
        "%(start)sから%(end)sまでの日別の%(what)sの棒グラフと7日間平均の折れ線グラフ。"
        "最多は%(peak_day)sの%(peak)s%(unit)s。%(latest_day)sは%(latest)s%(unit)s、"
        "7日間平均は%(average)s%(unit)sです。"
    ) % {
        "start": format_day(points[0].day),
        "end": format_day(points[-1].day),
        "latest_day": format_day(last.day),
        "what": text.what,
        "peak_day": format_day(peak.day),
        "peak": format_number(peak.value),
        "unit": text.unit,
        "latest": format_number(last.value),
        "average": format_number(last.average),
    }


def _no_chart(series: Sequence[DayValue]) -> str:
    if any(p.value is not None for p in series):
        return _("この期間に公表されたデータはありません。")
    return _("まだデータがありません。")


def daily_card(
    *,
    key: str,
    dataset: str,
    series: Sequence[DayValue],
    downloads: tuple[Download, ...],
    period: Period = Period.ALL,
) -> Card:
    """A card for one daily series: bars per day and the 7-day average as a dashed line.

    The chart spans the whole of ``series`` (or its last thirteen weeks); the table lists
    the days with a figure, and the figures name the latest of them.
    """
    text = _texts()[dataset]
    points = window(series, WINDOW_DAYS) if period is Period.RECENT else list(series)
    headers = (text.day_header, text.value_header, _("7日間平均"))
    known = [p for p in points if p.value is not None]
    if not known:
        empty = _no_chart(series)
        return Card(key, text.title, text.lead, (), None, "", headers, (), downloads, empty=empty)
    last = known[-1]
    total = sum(p.value or 0 for p in series)
    figures = (
        (format_day(last.day), f"{format_number(last.value)}{text.unit}"),
        (_("7日間平均"), f"{format_number(last.average)}{text.unit}"),
        (_("累計"), f"{format_number(total)}{text.unit}"),
    )
    chart = bar_line_chart(
        chart_id=f"chart-{key}",
        title=text.title,
        desc=_describe(text, points),
        days=[p.day for p in points],
        bars=[p.value for p in points],
        bar_label=text.value_header,
        lines=[LineSpec(_("7日間平均"), [p.average for p in points])],
        unit=text.unit,
    )
    caption = _("%(title)s：%(start)s〜%(end)s") % {
        "title": text.title,
        "start": format_day(points[0].day),
        "end": format_day(points[-1].day),
    }
    # Runs of days with nothing (0 and a 7-day average of 0) are left out of the table, which
    # would otherwise list years of zeros; the caption says so, and the file has every day.
    listed = [p for p in known if p.value or p.average is None or p.average]
    if len(listed) < len(known):
        caption += _("（値も7日間平均も0の%(days)s日は省いています）") % {
            "days": format_number(len(known) - len(listed))
        }
    rows = tuple(
        TableRow(p.day, format_day(p.day), (format_number(p.value), format_number(p.average)))
        for p in reversed(listed)
    )
    return Card(key, text.title, text.lead, figures, chart, caption, headers, rows, downloads)


def covid_cards(
    *,
    patients: Sequence[tuple[datetime.date, int]],
    daily: Mapping[str, Sequence[tuple[datetime.date, int]]],
    downloads: Callable[[str], tuple[Download, ...]],
    period: Period,
) -> list[Card]:
    """The cases card and one card per daily dataset, all over the same days.

    The period runs from the first to the last day of any of them, so the charts line up
    and none is cut short by another dataset's later days. ``downloads`` is called with the
    file kind of each card: the cases per day for the cases card, the dataset for the others.
    """
    span = common_span(patients, *daily.values())
    cards = [
        daily_card(
            key=Dataset.PATIENTS,
            dataset=Dataset.PATIENTS,
            series=daily_series(patients, missing_is_zero=True, span=span),
            downloads=downloads(PATIENTS_PER_DAY),
            period=period,
        )
    ]
    for dataset in DAILY_DATASETS:
        cards.append(
            daily_card(
                key=dataset,
                dataset=dataset,
                series=daily_series(daily.get(dataset, ()), missing_is_zero=False, span=span),
                downloads=downloads(dataset),
                period=period,
            )
        )
    return cards


def _procedure_card(
    municipality: Municipality, downloads: tuple[Download, ...], period: Period
) -> Card:
    title = _("手続きの受付・処理状況")
    lead = _(
        "オンライン窓口の申請を日ごとに数えたものです。完了は審査や交付が終わった申請、"
        "未完了はその日の終わりに処理中だった申請です。個人の情報は含みません。"
    )
    headers = (_("日付"), _("受付"), _("完了"), _("未完了（日末）"))
    extra_headers = (_("手続き"), _("受付（累計）"), _("完了（累計）"), _("未完了（現在）"))
    totals = selectors.procedure_totals(municipality=municipality)
    extra = tuple(
        (t.name, format_number(t.received), format_number(t.completed), format_number(t.open))
        for t in totals
    )
    days = selectors.procedure_daily_totals(municipality=municipality)
    if period is Period.RECENT:
        days = days[-WINDOW_DAYS:]
    if not days:
        empty = _("まだデータがありません。")
        return Card("procedures", title, lead, (), None, "", headers, (), downloads, empty=empty)
    last = days[-1]
    unit = _("件")
    figures = (
        (_("受付（累計）"), f"{format_number(sum(t.received for t in totals))}{unit}"),
        (_("完了（累計）"), f"{format_number(sum(t.completed for t in totals))}{unit}"),
        (
            _("未完了（%(day)s）") % {"day": format_day(last.day)},
            f"{format_number(last.open)}{unit}",
        ),
    )
    desc = _(
        "%(start)sから%(end)sまでの日別の申請の受付件数の棒グラフと、完了件数（破線）と"
        "日末の未完了件数（実線）の折れ線グラフ。%(end)sの受付は%(received)s件、完了は"
        "%(completed)s件、未完了は%(open)s件です。"
    ) % {
        "start": format_day(days[0].day),
        "end": format_day(last.day),
        "received": format_number(last.received),
        "completed": format_number(last.completed),
        "open": format_number(last.open),
    }
    chart = bar_line_chart(
        chart_id="chart-procedures",
        title=title,
        desc=desc,
        days=[d.day for d in days],
        bars=[d.received for d in days],
        bar_label=_("受付"),
        lines=[
            LineSpec(_("完了"), [d.completed for d in days], "dashed", "circle"),
            LineSpec(_("未完了（日末）"), [d.open for d in days], "solid", "square"),
        ],
        unit=unit,
    )
    caption = _("%(title)s：%(start)s〜%(end)s") % {
        "title": title,
        "start": format_day(days[0].day),
        "end": format_day(last.day),
    }
    rows = tuple(
        TableRow(
            d.day,
            format_day(d.day),
            (format_number(d.received), format_number(d.completed), format_number(d.open)),
        )
        for d in reversed(days)
    )
    return Card(
        "procedures",
        title,
        lead,
        figures,
        chart,
        caption,
        headers,
        rows,
        downloads,
        extra_headers,
        extra,
        extra_caption=_("手続きごとの件数"),
    )


def municipality_downloads(municipality: Municipality) -> Callable[[str], tuple[Download, ...]]:
    """The CSV and JSON downloads of a dataset, as links beside its chart."""

    def downloads(dataset: str) -> tuple[Download, ...]:
        return tuple(
            Download(
                label,
                reverse(
                    "opendata:file",
                    kwargs={
                        "municipality_slug": municipality.slug,
                        "filename": export_filename(municipality, dataset, extension),
                    },
                ),
                export_filename(municipality, dataset, extension),
            )
            for label, extension in (("CSV", "csv"), ("JSON", "json"))
        )

    return downloads


def dashboard_cards(*, municipality: Municipality, period: Period = Period.ALL) -> list[Card]:
    """Every card of the municipality's dashboard, computed from its records."""
    downloads = municipality_downloads(municipality)
    members = [municipality]
    cards = covid_cards(
        patients=selectors.patient_counts_by_day(municipalities=members),
        daily={
            dataset: selectors.daily_counts(municipalities=members, dataset=dataset)
            for dataset in DAILY_DATASETS
        },
        downloads=downloads,
        period=period,
    )
    cards.insert(1, age_sex_card(members=members, downloads=downloads))
    cards.append(_procedure_card(municipality, downloads(Dataset.PROCEDURE_STATS), period))
    return cards
