"""What every page of one case shares: a case the staff's health centres do not hold is a 404
that changes and records nothing, and the audit actor is the staff member in the case's
centre's department."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.surveillance.models import Certificate, LineLinkCode, ReportLink
from tests.isolation import signed_in_client, snapshot
from tests.surveillance.factories import World, adult, file, recent

# Each page of one case, with the method that does its work.
CASE_PAGES = [
    ("get", ""),
    ("post", "certificate.pdf"),
    ("post", "report-card/"),
    ("post", "line-code/"),
]


def _state() -> tuple[object, ...]:
    return (
        snapshot(AuditEntry.objects.all()),
        snapshot(ReportLink.objects.all()),
        snapshot(LineLinkCode.objects.all()),
        snapshot(Certificate.objects.all()),
    )


@pytest.mark.parametrize(("method", "page"), CASE_PAGES)
def test_another_bodys_case_is_a_404_that_changes_and_records_nothing(
    world: World, method: str, page: str
) -> None:
    case = file(world, adult(residence_code="285013", name="佐用 次郎")).case
    kobe = signed_in_client(world.nurse)
    before = _state()
    response = getattr(kobe, method)(world.kobe.url(f"health/cases/{case.pk}/{page}"))
    assert response.status_code == 404
    body = response.content.decode()
    assert "この患者は見つかりません。" in body
    assert "佐用 次郎" not in body
    assert _state() == before


@pytest.mark.parametrize(("method", "page"), CASE_PAGES)
def test_an_unknown_case_is_a_404(world: World, method: str, page: str) -> None:
    response = getattr(signed_in_client(world.nurse), method)(
        world.kobe.url(f"health/cases/999999/{page}")
    )
    assert response.status_code == 404


def test_a_case_page_acts_as_the_nurse_in_the_case_centres_department(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    nurse = signed_in_client(world.nurse)
    assert nurse.post(world.kobe.url(f"health/cases/{case.pk}/report-card/")).status_code == 200
    entries = AuditEntry.objects.filter(actor_id=world.nurse.pk).exclude(action="accounts.login")
    assert entries.exists()
    assert {e.department_id for e in entries} == {world.kobe_centre.department_id}
