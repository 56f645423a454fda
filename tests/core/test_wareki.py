"""Tests for madoguchi.core.wareki and the ``wareki`` template filter."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from madoguchi.core.templatetags.madoguchi import wareki
from madoguchi.core.wareki import era_of, format_wareki


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2019, 4, 30), "平成31年4月30日"),
        (datetime.date(2019, 5, 1), "令和元年5月1日"),
        (datetime.date(2019, 12, 31), "令和元年12月31日"),
        (datetime.date(2020, 1, 1), "令和2年1月1日"),
        (datetime.date(2026, 11, 26), "令和8年11月26日"),
        (datetime.date(1989, 1, 7), "昭和64年1月7日"),
        (datetime.date(1989, 1, 8), "平成元年1月8日"),
        (datetime.date(1926, 12, 24), "大正15年12月24日"),
        (datetime.date(1926, 12, 25), "昭和元年12月25日"),
        (datetime.date(1912, 7, 29), "明治45年7月29日"),
        (datetime.date(1912, 7, 30), "大正元年7月30日"),
        (datetime.date(1868, 10, 23), "明治元年10月23日"),
        (datetime.date(2119, 1, 1), "令和101年1月1日"),
    ],
)
def test_format_wareki(day: datetime.date, expected: str) -> None:
    """Era boundaries fall on the first day of each era; its first year is written 元年."""
    assert format_wareki(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2019, 5, 1), ("令和", 1)),
        (datetime.date(2019, 4, 30), ("平成", 31)),
        (datetime.date(1989, 1, 7), ("昭和", 64)),
    ],
)
def test_era_of(day: datetime.date, expected: tuple[str, int]) -> None:
    """era_of gives the era name and the era year as a number (1 for 元年)."""
    assert era_of(day) == expected


@pytest.mark.parametrize("day", [datetime.date(1868, 10, 22), datetime.date(1, 1, 1)])
def test_dates_before_meiji_are_refused(day: datetime.date) -> None:
    """Before 明治 there is no supported era, and the error says so."""
    with pytest.raises(ValueError, match=r"^dates before 明治 are not supported$"):
        format_wareki(day)


def test_format_wareki_accepts_a_naive_datetime() -> None:
    """A datetime is a date; its calendar day is used as it is."""
    assert format_wareki(datetime.datetime(2019, 5, 1, 0, 0)) == "令和元年5月1日"


# --- template filter --------------------------------------------------------------------------


def test_filter_on_an_aware_datetime_uses_tokyo_time() -> None:
    """16:00 UTC on 25 November is already 26 November in Japan."""
    moment = datetime.datetime(2026, 11, 25, 16, 0, tzinfo=datetime.UTC)
    assert wareki(moment) == "令和8年11月26日"
    midnight_in_tokyo = datetime.datetime(2026, 11, 25, 15, 0, tzinfo=datetime.UTC)
    assert wareki(midnight_in_tokyo) == "令和8年11月26日"
    assert wareki(midnight_in_tokyo - datetime.timedelta(seconds=1)) == "令和8年11月25日"


def test_filter_converts_other_zones_to_tokyo() -> None:
    """An aware datetime in another zone is shown as its Japanese calendar day."""
    moment = datetime.datetime(2019, 4, 30, 11, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert wareki(moment) == "令和元年5月1日"


def test_filter_follows_the_active_time_zone() -> None:
    """The day is the one in the active time zone (Asia/Tokyo unless a view overrides it)."""
    moment = datetime.datetime(2026, 11, 25, 16, 0, tzinfo=datetime.UTC)
    with timezone.override("UTC"):
        assert wareki(moment) == "令和8年11月25日"


def test_filter_on_a_naive_datetime_uses_its_day() -> None:
    """A naive datetime is not converted."""
    assert wareki(datetime.datetime(2026, 11, 25, 23, 59)) == "令和8年11月25日"


def test_filter_on_a_date() -> None:
    """A date is formatted directly."""
    assert wareki(datetime.date(1989, 1, 8)) == "平成元年1月8日"


@pytest.mark.parametrize("value", [None, ""])
def test_filter_on_nothing_is_empty(value: None) -> None:
    """No date, no text (instead of an error in the middle of a page)."""
    assert wareki(value) == ""


def test_filter_in_a_template() -> None:
    """The filter is available as {% load madoguchi %} ... |wareki."""
    template = Template("{% load madoguchi %}[{{ day|wareki }}][{{ missing|wareki }}]")
    moment = datetime.datetime(2026, 11, 25, 16, 0, tzinfo=datetime.UTC)
    assert template.render(Context({"day": moment, "missing": None})) == "[令和8年11月26日][]"
