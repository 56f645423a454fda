"""A viewer (閲覧者) of a health centre reads its pages but changes nothing."""

from __future__ import annotations

import pytest

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.audit.services import AuditActor
from madoguchi.surveillance.models import Alert, Case
from madoguchi.tenants.models import Role
from madoguchi.tenants.services import membership_grant
from tests.isolation import signed_in_client
from tests.surveillance.factories import PASSWORD, World, file, recent

pytestmark = pytest.mark.django_db

ACTOR = AuditActor(label="test")


def _viewer(world: World) -> User:
    user = staff_user_create(username="kobe-centre-viewer", password=PASSWORD)
    membership_grant(
        municipality=world.kobe.municipality,
        user=user,
        role=Role.VIEWER,
        department=world.kobe_centre.department,
        actor=ACTOR,
    )
    return user


def _case(world: World) -> Case:
    return file(world, recent(), real_today=True).case


def test_a_viewer_opens_the_case_list_worklist_and_case_page(world: World) -> None:
    case = _case(world)
    client = signed_in_client(_viewer(world))
    base = f"/{world.kobe.municipality.slug}/health"
    for path in (f"{base}/cases/", f"{base}/worklist/", f"{base}/cases/{case.pk}/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "data",
    [
        {"action": "care", "care": "hospital", "care_from": "", "severity": "", "improved_on": ""},
        {"action": "transfer", "to_centre": "0", "reason": "転居"},
        {"action": "issue_link"},
        {"action": "acknowledge", "alert": "0", "note": "確認"},
    ],
    ids=["care", "transfer", "issue_link", "acknowledge"],
)
def test_a_viewer_posting_a_case_action_is_refused_and_nothing_changes(
    world: World, data: dict[str, str]
) -> None:
    case = _case(world)
    alert = Alert.objects.create(
        municipality=case.municipality,
        case=case,
        rule_code="spo2_low",
        severity=2,
        day=case.day_zero,
    )
    if data["action"] == "acknowledge":
        data = {**data, "alert": str(alert.pk)}
    if data["action"] == "transfer":
        data = {**data, "to_centre": str(world.hyogo_centre.pk)}
    before = Case.objects.values().get(pk=case.pk)
    client = signed_in_client(_viewer(world))
    response = client.post(f"/{world.kobe.municipality.slug}/health/cases/{case.pk}/", data)
    assert response.status_code == 403
    assert Case.objects.values().get(pk=case.pk) == before
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_a_viewer_cannot_issue_a_certificate(world: World) -> None:
    case = _case(world)
    client = signed_in_client(_viewer(world))
    response = client.post(
        f"/{world.kobe.municipality.slug}/health/cases/{case.pk}/certificate.pdf"
    )
    assert response.status_code == 403
    assert not case.certificates.exists()


def test_a_clerk_of_the_centre_still_acts(world: World) -> None:
    case = _case(world)
    client = signed_in_client(world.nurse)
    response = client.post(
        f"/{world.kobe.municipality.slug}/health/cases/{case.pk}/",
        {"action": "care", "care": "hospital", "care_from": "", "severity": "", "improved_on": ""},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.health["care_setting"] == "hospital"
