"""Contacts in the 疫学調査 and each disease's close-contact definition (COVID-19, 麻しん)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection

from madoguchi.surveillance.contacts import ContactInput, contact_add, infectious_period
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Contact
from tests.isolation import signed_in_client
from tests.surveillance.factories import ACTOR, TODAY, World, adult, file, measles

D = datetime.date


@pytest.mark.parametrize(
    ("last_contact", "kinds", "close"),
    [
        (D(2026, 11, 15), {"household": True}, True),  # day 0 is 11-17: from 11-15 on
        (D(2026, 11, 14), {"household": True}, False),  # before the infectious period
        (D(2026, 11, 18), {"near_15_minutes": True}, True),
        (D(2026, 11, 18), {"body_fluids": True}, True),
        (D(2026, 11, 18), {"care_without_protection": True}, True),
        (D(2026, 11, 18), {}, False),  # in the period, but no qualifying kind of contact
    ],
)
def test_close_contact_definition(
    world: World, last_contact: datetime.date, kinds: dict[str, bool], close: bool
) -> None:
    case = file(world, adult()).case
    data = ContactInput(
        name="接触 一郎", phone="", relation="other", last_contact=last_contact, **kinds
    )
    assert contact_add(case=case, data=data, actor=ACTOR, today=TODAY).is_close_contact is close


def test_future_contact_date_is_refused(world: World) -> None:
    case = file(world, adult()).case
    data = ContactInput(name="接触 一郎", phone="", relation="other", last_contact=D(2026, 11, 21))
    with pytest.raises(SurveillanceError) as info:
        contact_add(case=case, data=data, actor=ACTOR, today=TODAY)
    assert (info.value.code, info.value.field) == (ErrorCode.DATE_FUTURE, "last_contact")
    assert Contact.objects.count() == 0


def test_contact_form_on_the_case_page(world: World) -> None:
    case = file(world, adult()).case
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url(f"health/cases/{case.pk}/")
    bad = nurse.post(url, {"action": "contact", "contact_name": "家族 花子", "last_contact": ""})
    assert bad.status_code == 400
    assert "最終接触日を入力してください。" in bad.content.decode()
    ok = nurse.post(
        url,
        {
            "action": "contact",
            "contact_name": "家族 花子",
            "last_contact": "2026-11-18",
            "household": "1",
        },
    )
    assert ok.status_code == 302
    contact = Contact.objects.get()
    assert (contact.name, contact.is_close_contact, contact.municipality) == (
        "家族 花子",
        True,
        world.kobe.municipality,
    )
    assert "濃厚接触者" in nurse.get(url).content.decode()


# 麻しん (measles()): onset 11-15, rash 11-18 (day 0). Infectious from 1 day before the onset
# (11-14) to 4 days after the rash (11-22); household, a shared space or unprotected care.
MEASLES_TODAY = D(2026, 11, 30)


@pytest.mark.parametrize(
    ("changes", "last_contact", "kinds", "close"),
    [
        ({}, D(2026, 11, 14), {"household": True}, True),  # 1 day before the onset
        ({}, D(2026, 11, 13), {"household": True}, False),  # 2 days before: not in the period
        ({}, D(2026, 11, 22), {"shared_space": True}, True),  # 4 days after the rash
        ({}, D(2026, 11, 23), {"shared_space": True}, False),  # after the period
        ({}, D(2026, 11, 16), {"care_without_protection": True}, True),
        # Kinds COVID-19's definition counts are not 麻しん's.
        ({}, D(2026, 11, 16), {"near_15_minutes": True, "body_fluids": True}, False),
        ({}, D(2026, 11, 16), {}, False),
        # Onset unknown (a death notified with the rash only): from 5 days before the rash.
        (
            {"category": "dead", "onset_date": None, "death_date": D(2026, 11, 20)},
            D(2026, 11, 13),
            {"shared_space": True},
            True,
        ),
        (
            {"category": "dead", "onset_date": None, "death_date": D(2026, 11, 20)},
            D(2026, 11, 12),
            {"shared_space": True},
            False,
        ),
    ],
)
def test_measles_close_contact_definition(
    world: World,
    changes: dict[str, Any],
    last_contact: datetime.date,
    kinds: dict[str, bool],
    close: bool,
) -> None:
    case = file(world, measles(**changes)).case
    data = ContactInput(
        name="接触 一郎", phone="", relation="other", last_contact=last_contact, **kinds
    )
    contact = contact_add(case=case, data=data, actor=ACTOR, today=MEASLES_TODAY)
    assert contact.is_close_contact is close


def test_measles_period_of_a_carrier_counts_from_day_zero(world: World) -> None:
    """無症状病原体保有者: no onset, no rash; day 0 is the 診断日 (11-19)."""
    carrier = measles(
        category="asymptomatic",
        test_methods=("igm",),
        symptoms=(),
        onset_date=None,
        rash_date=None,
        disease_type="",
    )
    period = infectious_period(file(world, carrier).case)
    assert (period.first, period.first_basis, period.last, period.last_basis) == (
        D(2026, 11, 14),
        "起算日の5日前",
        D(2026, 11, 23),
        "起算日の4日後",
    )


def test_covid_period_has_no_end_and_no_shared_space(world: World) -> None:
    case = file(world, adult()).case
    period = infectious_period(case)
    assert (period.first, period.first_basis, period.last) == (
        D(2026, 11, 15),
        "起算日の2日前",
        None,
    )
    data = ContactInput(
        name="接触 一郎",
        phone="",
        relation="other",
        last_contact=D(2026, 11, 18),
        shared_space=True,
    )
    contact = contact_add(case=case, data=data, actor=ACTOR, today=TODAY)
    assert contact.is_close_contact is False
    assert contact.details == {
        "relation": "other",
        "last_contact": "2026-11-18",
        "household": False,
        "near_15_minutes": False,
        "care_without_protection": False,
        "body_fluids": False,
    }


def test_measles_contact_keeps_its_own_items(world: World) -> None:
    case = file(world, measles()).case
    data = ContactInput(
        name="同室 二郎",
        phone="",
        relation="school",
        last_contact=D(2026, 11, 17),
        shared_space=True,
        near_15_minutes=True,
    )
    contact = contact_add(case=case, data=data, actor=ACTOR, today=TODAY)
    contact.refresh_from_db()
    assert contact.is_close_contact is True
    assert contact.details == {
        "relation": "school",
        "last_contact": "2026-11-17",
        "household": False,
        "shared_space": True,
        "care_without_protection": False,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM surveillance_contact")
        (stored,) = cursor.fetchone()
    assert "shared_space" not in stored


def test_the_contact_form_shows_the_items_of_the_case_disease(world: World) -> None:
    nurse = signed_in_client(world.nurse)
    covid = file(world, adult()).case
    sick = file(world, measles(name="麻疹 次郎")).case
    covid_page = nurse.get(world.kobe.url(f"health/cases/{covid.pk}/")).content.decode()
    page = nurse.get(world.kobe.url(f"health/cases/{sick.pk}/")).content.decode()
    assert ('name="near_15_minutes"' in covid_page, 'name="shared_space"' in covid_page) == (
        True,
        False,
    )
    assert "感染可能期間：2026-11-15（起算日の2日前）から" in covid_page
    assert ('name="near_15_minutes"' in page, 'name="body_fluids"' in page) == (False, False)
    assert "同じ室内や車内など、空間を共有した" in page
    assert (
        "感染可能期間：2026-11-14（発病日の1日前）から2026-11-22（発疹出現日の4日後）まで" in page
    )
    url = world.kobe.url(f"health/cases/{sick.pk}/")
    ok = nurse.post(
        url,
        {
            "action": "contact",
            "contact_name": "同室 二郎",
            "last_contact": "2026-11-17",
            "shared_space": "1",
            "near_15_minutes": "1",
        },
    )
    assert ok.status_code == 302
    contact = Contact.objects.get()
    assert (contact.case_id, contact.is_close_contact) == (sick.pk, True)
    assert (contact.details["shared_space"], "near_15_minutes" in contact.details) == (True, False)
