"""Daily series: filling the days between, and the trailing 7-day average."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["DayValue", "common_span", "daily_series", "seven_day_average", "window"]

AVERAGE_DAYS = 7
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class DayValue:
    day: datetime.date
    value: int | None  # None: no figure was published for the day
    average: Decimal | None  # trailing 7-day mean to one decimal, None without 7 full days


def seven_day_average(values: Sequence[int | None]) -> list[Decimal | None]:
    """The mean of each day and the six before it, rounded half up to one decimal.

    None while fewer than seven days are known: an average over a gap would mislead.
    """
    averages: list[Decimal | None] = []
    for index in range(len(values)):
        days = values[max(0, index - AVERAGE_DAYS + 1) : index + 1]
        if len(days) < AVERAGE_DAYS or any(v is None for v in days):
            averages.append(None)
            continue
        total = sum(v for v in days if v is not None)
        averages.append((Decimal(total) / AVERAGE_DAYS).quantize(_TENTH, ROUND_HALF_UP))
    return averages


def daily_series(
    counts: Sequence[tuple[datetime.date, int]],
    *,
    missing_is_zero: bool,
    span: tuple[datetime.date, datetime.date] | None = None,
) -> list[DayValue]:
    """Every day from the first to the last of ``counts`` (or of ``span``), with its average.

    Patients are counted from records, so a day without a record had no new case
    (``missing_is_zero``); a daily dataset without a row for a day did not publish one.
    ``span`` widens the series to a period shared with other series (the dashboard's).
    """
    if not counts and span is None:
        return []
    by_day = dict(counts)
    if span is not None:
        first, last = span
    else:
        first, last = counts[0][0], counts[-1][0]
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    default = 0 if missing_is_zero else None
    values = [by_day.get(day, default) for day in days]
    averages = seven_day_average(values)
    return [DayValue(d, v, a) for d, v, a in zip(days, values, averages, strict=True)]


def window(series: Sequence[DayValue], days: int) -> list[DayValue]:
    """The last ``days`` days of ``series`` (the dashboard's period)."""
    return list(series[-days:])


def common_span(
    *series: Sequence[tuple[datetime.date, int]],
) -> tuple[datetime.date, datetime.date] | None:
    """From the earliest to the latest day of any of ``series`` (each sorted by day)."""
    known = [s for s in series if s]
    if not known:
        return None
    return min(s[0][0] for s in known), max(s[-1][0] for s in known)
