"""The nurses' worklist: one row per case and alert kind, and enough to tell two 田中 健一 apart."""

from __future__ import annotations

import datetime
import re

from django.utils import timezone

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.surveillance.models import Alert, Case, SelfReport
from madoguchi.surveillance.selectors import worklist_rows
from tests.isolation import assert_cannot_read, signed_in_client
from tests.surveillance.factories import World, adult, file

DAY = datetime.date(2026, 11, 20)


def _alert(case: Case, code: str, day: datetime.date, severity: int = 2) -> Alert:
    return Alert.objects.create(
        municipality=case.municipality, case=case, rule_code=code, severity=severity, day=day
    )


def _two_tanakas(world: World) -> tuple[Case, Case]:
    older = file(world, adult(name="田中 健一", birth_date=datetime.date(1950, 1, 1))).case
    younger = file(
        world,
        adult(name="田中 健一", birth_date=datetime.date(1995, 1, 1), phone="090-9999-0000"),
    ).case
    return older, younger


def test_repeated_alerts_of_one_case_fold_into_one_row_with_a_count(world: World) -> None:
    older, younger = _two_tanakas(world)
    for n in range(30):
        _alert(older, "spo2_low", DAY - datetime.timedelta(days=n))
    _alert(younger, "spo2_low", DAY)
    _alert(younger, "urgent_sign", DAY, severity=1)
    rows = worklist_rows(municipality=world.kobe.municipality, centres=[world.kobe_centre])
    assert [(r.case.pk, r.rule_code, r.count) for r in rows] == [
        (younger.pk, "urgent_sign", 1),
        (older.pk, "spo2_low", 30),
        (younger.pk, "spo2_low", 1),
    ]
    latest = Alert.objects.filter(case=older).latest("created_at").created_at
    assert rows[1].latest_at == latest


def test_the_page_tells_two_patients_of_the_same_name_apart(world: World) -> None:
    older, younger = _two_tanakas(world)
    for n in range(30):
        _alert(older, "spo2_low", DAY - datetime.timedelta(days=n))
    _alert(younger, "spo2_low", DAY)
    SelfReport.objects.create(
        municipality=younger.municipality,
        case=younger,
        report_date=DAY,
        items={"temperature": "37.0", "spo2": 92, "answers": {}, "urgent_signs": []},
    )
    page = signed_in_client(world.nurse).get(world.kobe.url("health/worklist/")).content.decode()
    table = page.split('id="alerts"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr class=\"alert-row.*?</tr>", table, flags=re.S)
    assert len(rows) == 2
    older_row = next(r for r in rows if f'/cases/{older.pk}/"' in r)
    younger_row = next(r for r in rows if f'/cases/{younger.pk}/"' in r)
    assert "70代" in older_row
    assert "30件" in older_row
    assert "10-22から" in older_row  # the first of the 30 days
    assert "20代" in younger_row or "30代" in younger_row
    report_at = timezone.localtime(SelfReport.objects.get().updated_at).strftime("%m-%d %H:%M")
    assert report_at in younger_row
    assert "報告なし" in older_row


def test_the_worklist_view_is_audited_and_another_body_sees_none(world: World) -> None:
    older, _younger = _two_tanakas(world)
    _alert(older, "spo2_low", DAY)
    hyogo = signed_in_client(world.hyogo_nurse).get(f"/{world.hyogo.slug}/health/worklist/")
    assert hyogo.status_code == 200
    assert "田中 健一" not in hyogo.content.decode()
    assert_cannot_read(signed_in_client(world.nurse), f"/{world.hyogo.slug}/health/worklist/")
    signed_in_client(world.nurse).get(world.kobe.url("health/worklist/"))
    assert AuditEntry.objects.filter(
        kind=EntryKind.ACCESS, object_type="surveillance.worklist"
    ).exists()
