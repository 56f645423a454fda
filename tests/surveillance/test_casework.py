"""Casework: 療養先, 重症度, and a late improvement extending the observation and the link."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from madoguchi.surveillance.casework import Severity, case_care_update, severity_for_spo2
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, ReportLink
from madoguchi.surveillance.services import report_link_issue
from tests.isolation import signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, World, adult, file


@pytest.mark.parametrize(
    ("spo2", "severity"),
    [
        (100, Severity.MILD),
        (96, Severity.MILD),
        (95, Severity.MODERATE_1),
        (94, Severity.MODERATE_1),
        (93, Severity.MODERATE_2),
        (80, Severity.MODERATE_2),
    ],
)
def test_severity_for_spo2(spo2: int, severity: Severity) -> None:
    assert severity_for_spo2(spo2) == severity


def test_late_improvement_extends_observation_and_link(world: World) -> None:
    case = file(world, adult()).case  # onset 2026-11-17, 7 days + 24 h
    report_link_issue(cases=[case], actor=ACTOR)
    case_care_update(
        case=case,
        care_setting="hotel",
        care_from=datetime.date(2026, 11, 19),
        severity="moderate1",
        improved_on=datetime.date(2026, 11, 24),
        actor=ACTOR,
    )
    case.refresh_from_db()
    assert case.observation_end == datetime.date(2026, 11, 25)
    assert (case.health["care_setting"], case.health["severity"]) == ("hotel", "moderate1")
    link = ReportLink.objects.get(pk=case.report_link_id)
    assert link.expires_at == timezone.make_aware(datetime.datetime(2026, 11, 26))


def test_bad_care_input_changes_nothing(world: World) -> None:
    case = file(world, adult()).case
    before = snapshot(Case.objects.all())
    with pytest.raises(SurveillanceError) as info:
        case_care_update(
            case=case,
            care_setting="home",
            care_from=datetime.date(2026, 11, 1),
            severity="",
            improved_on=None,
            actor=ACTOR,
        )
    assert (info.value.code, info.value.field) == (ErrorCode.DATE_ORDER, "care_from")
    with pytest.raises(SurveillanceError):
        case_care_update(
            case=case,
            care_setting="moon",
            care_from=None,
            severity="",
            improved_on=None,
            actor=ACTOR,
        )
    assert snapshot(Case.objects.all()) == before


def test_care_form_on_the_case_page(world: World) -> None:
    case = file(world, adult()).case
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url(f"health/cases/{case.pk}/")
    bad = nurse.post(url, {"action": "care", "care": "home", "improved_on": "令和"})
    assert bad.status_code == 400
    assert "日付は 2026-11-20 の形で入力してください。" in bad.content.decode()
    ok = nurse.post(url, {"action": "care", "care": "hospital", "severity": "severe"})
    assert ok.status_code == 302
    case.refresh_from_db()
    assert case.health["care_setting"] == "hospital"
