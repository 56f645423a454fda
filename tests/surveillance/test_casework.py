"""Casework: 療養先, 重症度, a late improvement extending the observation, 健康観察の状況."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.surveillance.casework import (
    Severity,
    case_care_update,
    case_follow_up_set,
    severity_for_spo2,
)
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, FollowUpStatus, ReportLink
from madoguchi.surveillance.services import report_link_issue
from tests.isolation import signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, World, adult, file, recent


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


# --- 健康観察の状況 ------------------------------------------------------------------------------


def test_follow_up_starts_not_contacted_and_is_set_with_a_note(world: World) -> None:
    case = file(world, adult()).case
    assert case.follow_up == FollowUpStatus.NOT_CONTACTED
    case_follow_up_set(case=case, status="unreachable", note=" 2回不通、夕方に再架電 ", actor=ACTOR)
    case.refresh_from_db()
    assert (case.follow_up, case.follow_up_note) == ("unreachable", "2回不通、夕方に再架電")
    event = AuditEntry.objects.get(action="surveillance.follow_up_set")
    assert (event.object_id, event.data) == (
        str(case.pk),
        {"from": "not_contacted", "to": "unreachable"},
    )
    assert "不通" not in str(event.data)


@pytest.mark.parametrize(
    ("status", "note", "field", "code"),
    [
        ("lost", "", "follow_up", ErrorCode.REQUIRED),
        ("", "", "follow_up", ErrorCode.REQUIRED),
        ("monitoring", "あ" * 501, "follow_up_note", ErrorCode.TOO_LONG),
    ],
)
def test_bad_follow_up_input_changes_nothing(
    world: World, status: str, note: str, field: str, code: ErrorCode
) -> None:
    case = file(world, adult()).case
    before = snapshot(Case.objects.all())
    with pytest.raises(SurveillanceError) as info:
        case_follow_up_set(case=case, status=status, note=note, actor=ACTOR)
    assert (info.value.code, info.value.field) == (code, field)
    assert snapshot(Case.objects.all()) == before
    assert not AuditEntry.objects.filter(action="surveillance.follow_up_set").exists()


def test_follow_up_form_on_the_case_page(world: World) -> None:
    case = file(world, adult()).case
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url(f"health/cases/{case.pk}/")
    bad = nurse.post(url, {"action": "follow_up", "follow_up": "nope", "follow_up_note": "x"})
    assert bad.status_code == 400
    assert "健康観察の状況を選んでください。" in bad.content.decode()
    long = nurse.post(
        url, {"action": "follow_up", "follow_up": "monitoring", "follow_up_note": "x" * 600}
    )
    assert long.status_code == 400
    assert "メモは500文字以内で入力してください。" in long.content.decode()
    case.refresh_from_db()
    assert (case.follow_up, case.follow_up_note) == ("not_contacted", "")
    ok = nurse.post(
        url, {"action": "follow_up", "follow_up": "arranging_admission", "follow_up_note": "A病院"}
    )
    assert ok.status_code == 302
    page = nurse.get(url).content.decode()
    assert "入院調整中（A病院）" in page


def test_the_case_list_shows_and_filters_by_follow_up(world: World) -> None:
    reached = file(world, adult()).case
    waiting = file(world, adult(name="待機 花子", phone="090-0000-0001")).case
    case_follow_up_set(case=reached, status="monitoring", note="", actor=ACTOR)
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url("health/cases/")
    everyone = nurse.get(url).content.decode()
    assert "<td>連絡済み・健康観察中</td>" in everyone
    assert "<td>未連絡</td>" in everyone
    monitoring = nurse.get(url, {"follow_up": "monitoring"}).content.decode()
    assert "山田 太郎" in monitoring
    assert "待機 花子" not in monitoring
    not_contacted = nurse.get(url, {"follow_up": "not_contacted"}).content.decode()
    assert ("山田 太郎" in not_contacted, "待機 花子" in not_contacted) == (False, True)
    unknown = nurse.get(url, {"follow_up": "<x>"})
    assert unknown.status_code == 200
    assert "待機 花子" in unknown.content.decode()
    assert waiting.follow_up == "not_contacted"


def test_the_worklist_shows_the_follow_up_of_who_has_not_reported(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    case_follow_up_set(case=case, status="unreachable", note="", actor=ACTOR)
    page = signed_in_client(world.nurse).get(world.kobe.url("health/worklist/")).content.decode()
    missing = page[page.index('id="missing"') :]
    assert "山田 太郎" in missing
    assert "電話不通（要再連絡）" in missing
