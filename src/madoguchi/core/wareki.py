"""和暦 (Japanese era) dates for display beside the Western date."""

from __future__ import annotations

import datetime

# (era name, romaji initial, first day)
ERAS: tuple[tuple[str, str, datetime.date], ...] = (
    ("令和", "R", datetime.date(2019, 5, 1)),
    ("平成", "H", datetime.date(1989, 1, 8)),
    ("昭和", "S", datetime.date(1926, 12, 25)),
    ("大正", "T", datetime.date(1912, 7, 30)),
    ("明治", "M", datetime.date(1868, 10, 23)),
)


def era_of(day: datetime.date) -> tuple[str, int]:
    """The era name and era year of ``day`` (明治 onwards)."""
    if isinstance(day, datetime.datetime):
        day = day.date()
    for name, _initial, start in ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    raise ValueError("dates before 明治 are not supported")


def format_wareki(day: datetime.date) -> str:
    """``令和8年11月26日``; the first year of an era is written 元年."""
    if isinstance(day, datetime.datetime):
        day = day.date()
    name, year = era_of(day)
    year_text = "元" if year == 1 else str(year)
    return f"{name}{year_text}年{day.month}月{day.day}日"
