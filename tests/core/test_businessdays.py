"""Tests for madoguchi.core.businessdays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from madoguchi.core.businessdays import (
    add_business_days,
    business_days_between,
    is_business_day,
    next_business_day,
)

# Wide enough to meet every kind of holiday many times, within the years jpholiday's rules cover.
days_strategy = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
counts = st.integers(min_value=0, max_value=300)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 4, 28), True),  # Tue
        (date(2026, 4, 29), False),  # Wed 昭和の日
        (date(2026, 4, 30), True),  # Thu
        (date(2026, 5, 1), True),  # Fri
        (date(2026, 5, 2), False),  # Sat
        (date(2026, 5, 3), False),  # Sun 憲法記念日
        (date(2026, 5, 4), False),  # Mon みどりの日
        (date(2026, 5, 5), False),  # Tue こどもの日
        (date(2026, 5, 6), False),  # Wed 振替休日 for 5/3
        (date(2026, 5, 7), True),  # Thu
        (date(2025, 5, 6), False),  # Tue 振替休日 for 5/4
        (date(2025, 5, 7), True),
        (date(2026, 9, 22), False),  # Tue 国民の休日 between 敬老の日 and 秋分の日
        (date(2026, 12, 28), True),  # Mon, the last day open in 2026
        (date(2026, 12, 29), False),  # Tue, 年末年始: a weekday, not a national holiday
        (date(2026, 12, 30), False),
        (date(2026, 12, 31), False),
        (date(2027, 1, 1), False),  # 元日
        (date(2027, 1, 2), False),
        (date(2027, 1, 3), False),
        (date(2027, 1, 4), True),  # Mon, 仕事始め
        (date(2027, 1, 11), False),  # Mon 成人の日
        (date(2027, 1, 12), True),
        (date(2026, 1, 2), False),  # Fri, 年末年始
    ],
)
def test_is_business_day(day: date, expected: bool) -> None:
    assert is_business_day(day) is expected


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Golden Week 2026
        (date(2026, 4, 28), 1, date(2026, 4, 30)),
        (date(2026, 4, 28), 3, date(2026, 5, 7)),
        (date(2026, 4, 30), 2, date(2026, 5, 7)),
        (date(2026, 5, 1), 1, date(2026, 5, 7)),  # Friday before five closed days
        (date(2026, 5, 1), 5, date(2026, 5, 13)),
        # a start on a closed day is not counted either
        (date(2026, 4, 29), 1, date(2026, 4, 30)),
        (date(2026, 5, 3), 1, date(2026, 5, 7)),
        (date(2026, 5, 3), 2, date(2026, 5, 8)),
        (date(2026, 4, 26), 1, date(2026, 4, 27)),  # Sunday -> Monday
        # 2025: 5/6 is a 振替休日
        (date(2025, 5, 2), 1, date(2025, 5, 7)),
        (date(2025, 5, 2), 10, date(2025, 5, 20)),
        # Friday before a Monday holiday (海の日 2026-07-20)
        (date(2026, 7, 17), 1, date(2026, 7, 21)),
        # Silver Week 2026: 9/19 Sat to 9/23 Wed closed
        (date(2026, 9, 18), 1, date(2026, 9, 24)),
        # New Year 2026/2027, then 成人の日
        (date(2026, 12, 25), 1, date(2026, 12, 28)),
        (date(2026, 12, 25), 2, date(2027, 1, 4)),
        (date(2026, 12, 28), 1, date(2027, 1, 4)),
        (date(2026, 12, 28), 5, date(2027, 1, 8)),
        (date(2026, 12, 28), 6, date(2027, 1, 12)),
        (date(2026, 12, 30), 1, date(2027, 1, 4)),
        (date(2027, 1, 8), 1, date(2027, 1, 12)),
        # New Year 2025/2026: 1/2 is a Friday and still closed
        (date(2025, 12, 26), 1, date(2026, 1, 5)),
        # an ordinary fortnight
        (date(2026, 6, 1), 10, date(2026, 6, 15)),
    ],
)
def test_add_business_days(start: date, days: int, expected: date) -> None:
    assert add_business_days(start, days) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (date(2026, 5, 7), date(2026, 5, 7)),  # a business day is its own day 0
        (date(2026, 5, 3), date(2026, 5, 7)),
        (date(2026, 5, 2), date(2026, 5, 7)),
        (date(2026, 12, 29), date(2027, 1, 4)),
        (date(2027, 1, 11), date(2027, 1, 12)),
    ],
)
def test_adding_zero_days_gives_the_first_business_day_from_start(
    start: date, expected: date
) -> None:
    assert add_business_days(start, 0) == expected


def test_adding_negative_days_is_refused() -> None:
    with pytest.raises(ValueError, match="days must be 0 or more, got -1"):
        add_business_days(date(2026, 5, 7), -1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 7, 17), date(2026, 7, 21)),  # Friday before 海の日
        (date(2026, 4, 28), date(2026, 4, 30)),
        (date(2026, 5, 1), date(2026, 5, 7)),
        (date(2026, 5, 4), date(2026, 5, 7)),
        (date(2026, 12, 28), date(2027, 1, 4)),
        (date(2026, 6, 1), date(2026, 6, 2)),
    ],
)
def test_next_business_day_is_strictly_after(day: date, expected: date) -> None:
    assert next_business_day(day) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 4, 28), date(2026, 5, 7), 3),  # 4/30, 5/1, 5/7
        (date(2026, 5, 1), date(2026, 5, 6), 0),
        (date(2026, 5, 1), date(2026, 5, 7), 1),
        (date(2026, 5, 7), date(2026, 5, 7), 0),
        (date(2026, 5, 3), date(2026, 5, 3), 0),
        (date(2026, 12, 28), date(2027, 1, 12), 6),  # 1/4-1/8 and 1/12
        (date(2026, 12, 25), date(2027, 1, 3), 1),  # 12/28 only
        (date(2025, 5, 2), date(2025, 5, 9), 3),  # 5/7, 5/8, 5/9
        (date(2026, 5, 7), date(2026, 4, 28), -3),
        (date(2027, 1, 12), date(2026, 12, 28), -6),
        # 261 weekdays in 2026, less 17 weekday holidays and 1/2, 12/29, 12/30, 12/31
        (date(2025, 12, 31), date(2026, 12, 31), 240),
    ],
)
def test_business_days_between(start: date, end: date, expected: int) -> None:
    assert business_days_between(start, end) == expected


@given(days_strategy, st.integers(min_value=1, max_value=300))
def test_adding_business_days_lands_on_a_business_day_after_start(day: date, n: int) -> None:
    result = add_business_days(day, n)
    assert is_business_day(result)
    assert result > day


@given(days_strategy, counts)
def test_between_undoes_add_from_a_business_day(day: date, n: int) -> None:
    assume(is_business_day(day))
    assert business_days_between(day, add_business_days(day, n)) == n


@given(days_strategy, st.integers(min_value=1, max_value=300))
def test_between_undoes_add_from_any_day_for_positive_counts(day: date, n: int) -> None:
    assert business_days_between(day, add_business_days(day, n)) == n


@given(days_strategy, counts)
def test_add_is_monotonic_in_the_count(day: date, n: int) -> None:
    """Strictly, except that from a closed day 0 and 1 both give the next business day."""
    earlier, later = add_business_days(day, n), add_business_days(day, n + 1)
    if n == 0 and not is_business_day(day):
        assert earlier == later == next_business_day(day)
    else:
        assert earlier < later


@given(days_strategy, st.integers(min_value=1, max_value=300))
def test_adding_one_more_day_is_the_next_business_day(day: date, n: int) -> None:
    assert add_business_days(day, n + 1) == next_business_day(add_business_days(day, n))


@given(days_strategy, st.integers(min_value=0, max_value=400))
def test_between_is_antisymmetric(day: date, offset: int) -> None:
    other = day + timedelta(days=offset)
    assert business_days_between(other, day) == -business_days_between(day, other)


@given(days_strategy)
def test_the_year_end_closure_is_never_a_business_day(day: date) -> None:
    closure = (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3)
    if closure or day.weekday() >= 5:
        assert not is_business_day(day)
