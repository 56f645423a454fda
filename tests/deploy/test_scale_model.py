"""The national scale model's bodies and population plan (``bench/scale_model.py``).

The benchmark itself needs PostgreSQL and minutes; these check the model it builds from.
"""

from __future__ import annotations

from collections import Counter

from bench.scale_model import (
    APPLICATIONS,
    CASES,
    LARGE,
    POPULATION,
    SMALL,
    bodies,
    plan,
    shares,
)


def test_the_code_list_gives_1741_municipalities_and_47_prefectures() -> None:
    found = bodies()
    kinds = Counter(b.kind for b in found)
    assert kinds == {
        "designated city": 20,
        "special ward": 23,
        "city": 772,
        "town": 743,
        "village": 183,
        "prefecture": 47,
    }
    assert len(found) == 1_788
    assert len({b.code for b in found}) == 1_788
    by_code = {b.code: b for b in found}
    assert by_code["281000"].kind == "designated city"  # 神戸市
    assert by_code["131016"].kind == "special ward"  # 千代田区
    assert by_code["285013"].kind == "town"  # 佐用町
    assert by_code["282014"].kind == "city"  # 姫路市
    assert "281018" not in by_code  # 東灘区, an administrative ward of 神戸市


def test_the_model_totals_about_japans_population() -> None:
    total = sum(b.population for b in bodies())
    assert 120_000_000 < total < 130_000_000


def test_at_full_scale_5_million_applications_and_100000_cases_follow_population() -> None:
    found = bodies()
    full = plan(found, 1.0)
    assert sum(full.applications.values()) == APPLICATIONS
    assert sum(full.cases.values()) == CASES
    prefectures = {b.code for b in found if b.kind == "prefecture"}
    assert not prefectures & set(full.applications)  # applications go to municipalities
    kobe, sayo = full.applications[LARGE[0]], full.applications[SMALL[0]]
    assert abs(kobe / sayo - POPULATION["designated city"] / POPULATION["town"]) < 0.2
    # Cases are held by bodies running health centres: prefectures, designated cities, wards.
    holders = {b.kind for b in found if full.cases.get(b.code)}
    assert holders == {"prefecture", "designated city", "special ward"}
    assert SMALL[0] not in full.cases  # 佐用町's cases are the prefecture's


def test_a_scale_thins_the_other_bodies_but_keeps_the_measured_two_full_size() -> None:
    found = bodies()
    full, small = plan(found, 1.0), plan(found, 0.02)
    assert small.applications[LARGE[0]] == full.applications[LARGE[0]]
    assert small.applications[SMALL[0]] == full.applications[SMALL[0]]
    assert small.cases[LARGE[0]] == full.cases[LARGE[0]]
    others = sum(n for code, n in small.applications.items() if code not in {LARGE[0], SMALL[0]})
    full_others = sum(
        n for code, n in full.applications.items() if code not in {LARGE[0], SMALL[0]}
    )
    assert abs(others - full_others * 0.02) < len(found)  # rounding per body at most


def test_shares_split_a_total_exactly_by_largest_remainders() -> None:
    assert shares({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}
    assert shares({"a": 2, "b": 1}, 10) == {"a": 7, "b": 3}
    assert shares({"a": 3, "b": 1}, 8) == {"a": 6, "b": 2}
