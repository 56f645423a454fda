"""Self-reports by token link: validation, one per day, alerts, the missing-report list."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Alert, Case, SelfReport
from madoguchi.surveillance.selectors import not_reported, worklist
from madoguchi.surveillance.services import (
    alert_acknowledge,
    alerts_raise_missing,
    report_link_issue,
    report_link_resolve,
    self_report_submit,
)
from tests.isolation import snapshot
from tests.surveillance.factories import ACTOR, World, adult, file

DAY = datetime.date(2026, 11, 20)
FINE = {"temperature": "36.8", "spo2": "98"}


def _case_and_link(world: World) -> tuple[Case, str]:
    case = file(world, adult()).case
    return case, report_link_issue(cases=[case], actor=ACTOR)


def test_link_expires_at_the_end_of_observation(world: World) -> None:
    case, token = _case_and_link(world)
    muni = world.kobe.municipality
    last = timezone.make_aware(datetime.datetime(2026, 11, 24, 23, 59))
    assert report_link_resolve(municipality=muni, token=token, now=last).pk == case.report_link_id
    with pytest.raises(SurveillanceError) as info:
        report_link_resolve(
            municipality=muni, token=token, now=last + datetime.timedelta(minutes=1)
        )
    assert info.value.code == ErrorCode.LINK_EXPIRED


def test_link_of_another_municipality_is_unknown(world: World) -> None:
    _case, token = _case_and_link(world)
    with pytest.raises(SurveillanceError) as info:
        report_link_resolve(municipality=world.sayo.municipality, token=token)
    assert info.value.code == ErrorCode.LINK_UNKNOWN


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"temperature": "3.65"}, "temperature"),
        ({"temperature": "3650"}, "temperature"),
        ({"temperature": "熱"}, "temperature"),
        ({"temperature": "NaN"}, "temperature"),
        ({"temperature": ""}, "temperature"),
        ({"temperature": "36.5", "spo2": "101"}, "spo2"),
        ({"temperature": "36.5", "spo2": "49"}, "spo2"),
        ({"temperature": "36.5", "cough": "maybe"}, "cough"),
    ],
)
def test_bad_values_are_refused_and_nothing_stored(
    world: World, values: dict[str, str], field: str
) -> None:
    case, _token = _case_and_link(world)
    assert case.report_link is not None
    with pytest.raises(SurveillanceError) as info:
        self_report_submit(
            link=case.report_link, case=case, day=DAY, values=values, urgent_signs=[]
        )
    assert (info.value.code, info.value.field) == (ErrorCode.OUT_OF_RANGE, field)
    assert SelfReport.objects.count() == 0


def test_one_report_per_day_and_an_edit_replaces_it(world: World) -> None:
    case, _token = _case_and_link(world)
    assert case.report_link is not None
    self_report_submit(link=case.report_link, case=case, day=DAY, values=FINE, urgent_signs=[])
    self_report_submit(
        link=case.report_link, case=case, day=DAY, values={"temperature": "37.2"}, urgent_signs=[]
    )
    report = SelfReport.objects.get()
    assert report.items["temperature"] == "37.2"
    assert report.items["spo2"] is None


def test_a_family_member_on_the_same_link(world: World) -> None:
    parent = file(world, adult()).case
    child = file(world, adult(name="山田 花", birth_date=datetime.date(2020, 5, 5))).case
    report_link_issue(cases=[parent, child], actor=ACTOR)
    parent.refresh_from_db()
    child.refresh_from_db()
    assert parent.report_link_id == child.report_link_id
    assert parent.report_link is not None
    self_report_submit(link=parent.report_link, case=child, day=DAY, values=FINE, urgent_signs=[])
    assert SelfReport.objects.get().case == child


def test_a_case_outside_the_link_is_refused(world: World) -> None:
    case, _token = _case_and_link(world)
    other = file(world, adult(name="別人 次郎")).case
    assert case.report_link is not None
    with pytest.raises(SurveillanceError):
        self_report_submit(link=case.report_link, case=other, day=DAY, values=FINE, urgent_signs=[])
    assert SelfReport.objects.count() == 0


def test_alert_rules_order_the_worklist_by_severity(world: World) -> None:
    case, _token = _case_and_link(world)
    link = case.report_link
    assert link is not None
    for offset in (2, 1):
        self_report_submit(
            link=link,
            case=case,
            day=DAY - datetime.timedelta(days=offset),
            values={"temperature": "38.6"},
            urgent_signs=[],
        )
    assert Alert.objects.count() == 0
    outcome = self_report_submit(
        link=link,
        case=case,
        day=DAY,
        values={"temperature": "38.9", "spo2": "93"},
        urgent_signs=["lips", "not-a-sign"],
    )
    assert outcome.urgent is True
    assert SelfReport.objects.get(report_date=DAY).items["urgent_signs"] == ["lips"]
    codes = [
        a.rule_code
        for a in worklist(municipality=world.kobe.municipality, centres=[world.kobe_centre])
    ]
    assert codes == ["urgent_sign", "spo2_low", "fever_3days"]
    # Resubmitting the same day raises nothing twice.
    self_report_submit(
        link=link,
        case=case,
        day=DAY,
        values={"temperature": "38.9", "spo2": "93"},
        urgent_signs=["lips"],
    )
    assert Alert.objects.count() == 3


def test_acknowledging_needs_a_note(world: World) -> None:
    case, _token = _case_and_link(world)
    assert case.report_link is not None
    self_report_submit(
        link=case.report_link, case=case, day=DAY, values=FINE, urgent_signs=["pale"]
    )
    alert = Alert.objects.get()
    before = snapshot(Alert.objects.all())
    with pytest.raises(SurveillanceError) as info:
        alert_acknowledge(alert=alert, note="  ", actor=ACTOR)
    assert info.value.code == ErrorCode.NOTE_REQUIRED
    assert snapshot(Alert.objects.all()) == before
    alert_acknowledge(alert=alert, note="電話で状態確認、救急要請", actor=ACTOR)
    alert.refresh_from_db()
    assert alert.note == "電話で状態確認、救急要請"
    assert list(worklist(municipality=world.kobe.municipality, centres=[world.kobe_centre])) == []


def test_missing_reports(world: World) -> None:
    reported, _token = _case_and_link(world)
    silent = file(world, adult(name="連絡 なし")).case
    assert reported.report_link is not None
    self_report_submit(
        link=reported.report_link, case=reported, day=DAY, values=FINE, urgent_signs=[]
    )
    muni = world.kobe.municipality
    assert list(not_reported(municipality=muni, centres=[world.kobe_centre], day=DAY)) == [silent]
    assert alerts_raise_missing(municipality=muni, day=DAY) == 1
    assert alerts_raise_missing(municipality=muni, day=DAY) == 0
    assert Alert.objects.get().case == silent


def test_missing_reports_command(world: World) -> None:
    from io import StringIO

    from django.core.management import call_command

    file(world, adult())
    out = StringIO()
    call_command("surveillance", "missing-reports", "--day", "2026-11-20", stdout=out)
    call_command("surveillance", "missing-reports", "--day", "2026-11-20", stdout=out)
    assert out.getvalue().splitlines() == [
        "280003 兵庫県: 0 alerts",
        "281000 神戸市: 1 alerts",
        "280003 兵庫県: 0 alerts",
        "281000 神戸市: 0 alerts",
    ]
