"""Business days (開庁日) of a municipal office, for deadlines such as 「10開庁日以内に回答」.

An office is closed on the days the 行政機関の休日に関する法律 (and each municipality's 休日条例
modelled on it) lists: Saturdays and Sundays, national holidays (国民の祝日, including 振替休日
and 国民の休日, taken from the ``jpholiday`` package), and the year-end closure from 29 December
to 3 January. Every other day is a business day.

Counting follows the usual reading of 「N日以内」 for business days: the start day is day 0 and
is never counted, so a request received on a Friday with one business day to answer is due on
the next business day.
"""

import datetime
from typing import Final

import jpholiday

__all__ = [
    "add_business_days",
    "business_days_between",
    "is_business_day",
    "next_business_day",
]

_ONE_DAY: Final = datetime.timedelta(days=1)
_SATURDAY: Final = 5


def _is_year_end_closure(day: datetime.date) -> bool:
    """Tell whether ``day`` falls in 12/29 – 1/3 (年末年始の休日)."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_business_day(day: datetime.date) -> bool:
    """Tell whether the office is open on ``day``: a weekday that is neither a national holiday
    nor in the 12/29 – 1/3 closure."""
    return (
        day.weekday() < _SATURDAY
        and not _is_year_end_closure(day)
        and not jpholiday.is_holiday(day)
    )


def next_business_day(day: datetime.date) -> datetime.date:
    """Return the first business day strictly after ``day`` (Friday -> Monday, or Tuesday after
    a Monday holiday)."""
    day += _ONE_DAY
    while not is_business_day(day):
        day += _ONE_DAY
    return day


def add_business_days(start: datetime.date, days: int) -> datetime.date:
    """Return the day ``days`` business days after ``start``, which is day 0.

    ``start`` is never counted, business day or not: 1 from Friday 2026-04-24 is Monday 04-27,
    and 1 from Sunday 04-26 is Monday 04-27 too. With ``days=0`` the result is ``start`` if it
    is a business day and otherwise the next one, so a deadline never lands on a closed day.
    Counting backwards is not supported: a negative ``days`` raises ValueError.
    """
    if days < 0:
        raise ValueError(f"days must be 0 or more, got {days}")
    if days == 0:
        return start if is_business_day(start) else next_business_day(start)
    day = start
    for _counted in range(days):
        day = next_business_day(day)
    return day


def business_days_between(start: datetime.date, end: datetime.date) -> int:
    """Return the number of business days in (``start``, ``end``]: after start, up to and
    including end.

    When ``end`` is before ``start`` the result is the negated count of business days in
    (``end``, ``start``], so ``business_days_between(a, b) == -business_days_between(b, a)``.
    For a business day ``d``, ``business_days_between(d, add_business_days(d, n)) == n``.
    """
    if end < start:
        return -business_days_between(end, start)
    return sum(
        1
        for offset in range(1, (end - start).days + 1)
        if is_business_day(start + datetime.timedelta(days=offset))
    )
