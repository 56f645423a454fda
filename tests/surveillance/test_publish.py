"""Cases reach the open data (陽性患者属性) with national items only, automatically."""

from __future__ import annotations

from typing import Any

from madoguchi.opendata.selectors import patient_rows
from madoguchi.surveillance.models import SurveillanceSetting
from tests.surveillance.factories import World, adult, file


def _rows(world: World, municipality: Any) -> list[tuple[object, ...]]:
    return list(patient_rows(municipality=municipality))


def test_a_new_case_is_published_without_personal_data(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = file(world, adult()).case
    with django_capture_on_commit_callbacks(execute=True):
        file(world, adult(phone="09012345678"))  # the same person: no second row
    [row] = _rows(world, world.kobe.municipality)
    number, published_on, onset, residence, age_group, sex, occupation = row[:7]
    assert (number, published_on, age_group) == (f"C{case.pk}", case.created_at.date(), "30代")
    assert (onset, residence, sex, occupation) == (None, "", "", "")
    text = " ".join(str(v) for v in row)
    for personal in ("山田", "1990", "090", "加納町", "男性", "2026-11-17"):
        assert personal not in text


def test_sex_only_when_the_body_publishes_it(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    SurveillanceSetting.objects.create(municipality=world.hyogo, publish_sex=True)
    with django_capture_on_commit_callbacks(execute=True):
        file(world, adult(residence_code="285013"))
    [row] = _rows(world, world.hyogo)
    assert (row[4], row[5]) == ("30代", "男性")
    assert _rows(world, world.kobe.municipality) == []
