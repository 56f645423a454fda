"""Contacts in the 疫学調査 and the NIID close-contact definition."""

from __future__ import annotations

import datetime

import pytest

from madoguchi.surveillance.contacts import ContactInput, contact_add
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Contact
from tests.isolation import signed_in_client
from tests.surveillance.factories import ACTOR, TODAY, World, adult, file

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
