"""End of observation across the 2022-09-07 rule change, and age bands."""

from __future__ import annotations

import datetime

import pytest

from madoguchi.surveillance.rules import age_band, observation_last_day, observation_rule

D = datetime.date


@pytest.mark.parametrize(
    ("symptomatic", "day_zero", "improved_on", "last_day"),
    [
        # Before 2022-09-07: 10 days, and 72 hours after the symptoms improved.
        (True, D(2022, 8, 1), None, D(2022, 8, 11)),
        (True, D(2022, 8, 1), D(2022, 8, 10), D(2022, 8, 13)),
        (True, D(2022, 9, 6), None, D(2022, 9, 16)),
        # From 2022-09-07: 7 days, and 24 hours after improvement.
        (True, D(2022, 9, 7), None, D(2022, 9, 14)),
        (True, D(2022, 9, 7), D(2022, 9, 13), D(2022, 9, 14)),
        (True, D(2022, 9, 7), D(2022, 9, 14), D(2022, 9, 15)),
        # Asymptomatic: 7 days from the specimen date, on both sides of the change.
        (False, D(2022, 9, 6), None, D(2022, 9, 13)),
        (False, D(2022, 9, 7), None, D(2022, 9, 14)),
        (False, D(2022, 9, 7), D(2022, 9, 20), D(2022, 9, 14)),
    ],
)
def test_observation_last_day(
    symptomatic: bool,
    day_zero: datetime.date,
    improved_on: datetime.date | None,
    last_day: datetime.date,
) -> None:
    """Day 0 is onset (or specimen date); the rule in force on day 0 applies."""
    assert (
        observation_last_day(symptomatic=symptomatic, day_zero=day_zero, improved_on=improved_on)
        == last_day
    )


def test_rule_codes_either_side_of_the_change() -> None:
    assert observation_rule(symptomatic=True, day_zero=D(2022, 9, 6)).code == "symptomatic-2022-01"
    assert observation_rule(symptomatic=True, day_zero=D(2022, 9, 7)).code == "symptomatic-2022-09"


def test_no_rule_before_the_pandemic() -> None:
    with pytest.raises(LookupError):
        observation_rule(symptomatic=True, day_zero=D(2019, 12, 31))


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "10歳未満"),
        (9, "10歳未満"),
        (10, "10代"),
        (36, "30代"),
        (89, "80代"),
        (90, "90歳以上"),
        (104, "90歳以上"),
    ],
)
def test_age_band(age: int, band: str) -> None:
    assert age_band(age) == band
