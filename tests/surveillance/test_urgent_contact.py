"""The urgent-sign page names the body's contact point, and never a made-up number."""

from __future__ import annotations

from django.test import Client

from madoguchi.surveillance.models import HealthCentre
from madoguchi.surveillance.selectors import urgent_contact
from madoguchi.surveillance.services import report_link_issue
from madoguchi.tenants.contacts import ContactInput, contact_point_save
from tests.surveillance.factories import ACTOR, World, file, recent


def _urgent_page(world: World) -> str:
    case = file(world, recent(), real_today=True).case
    token = report_link_issue(cases=[case], actor=ACTOR)
    url = world.kobe.url(f"health/report/{token}/")
    response = Client().post(
        url, {"person": case.pk, "temperature": "37.0", "urgent_signs": ["lips"]}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_urgent_page_shows_the_contact_point_with_its_note(world: World) -> None:
    contact_point_save(
        municipality=world.kobe.municipality,
        key="urgent_health",
        data=ContactInput(name="保健所", phone="078-555-0101", note="デモ用の番号です"),
        actor=ACTOR,
    )
    body = _urgent_page(world)
    assert '<a href="tel:078-555-0101" id="urgent-phone">078-555-0101</a>' in body
    assert "デモ用の番号です" in body
    assert "078-000-0000" not in body


def test_a_centres_own_contact_point_wins_over_the_bodys(world: World) -> None:
    for key, phone, department in (
        ("urgent_health", "078-555-0101", None),
        ("urgent_health_hokenjo", "078-555-0201", world.kobe_centre.department),
    ):
        contact_point_save(
            municipality=world.kobe.municipality,
            key=key,
            data=ContactInput(name="保健所", phone=phone, department=department),
            actor=ACTOR,
        )
    urgent = urgent_contact(centre=world.kobe_centre)
    assert urgent is not None
    assert urgent.phone == "078-555-0201"


def test_without_any_number_the_page_names_the_centre_only(world: World) -> None:
    HealthCentre.objects.filter(pk=world.kobe_centre.pk).update(urgent_phone="")
    body = _urgent_page(world)
    assert 'id="urgent-phone"' not in body
    assert "神戸市保健所にお電話ください。" in body
