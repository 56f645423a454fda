"""The behaviour history (行動歴) of the 疫学調査: its window per disease, encryption, audit and
transfer."""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.surveillance.behaviour import BehaviourInput, behaviour_add, behaviour_from
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import BehaviourEntry
from madoguchi.surveillance.services import case_transfer
from tests.isolation import assert_cannot_change, signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, TODAY, World, adult, file, measles, recent

D = datetime.date
# adult(): day 0 is 2026-11-17, so the window runs from 2026-11-03 to TODAY (2026-11-20).
ENTRY = BehaviourInput(
    day=D(2026, 11, 14),
    place_kind="restaurant",
    description="三宮の居酒屋で友人4人と会食",
    precautions="no",
    time_band="night",
)


@pytest.mark.parametrize("day", [D(2026, 11, 3), D(2026, 11, 17), TODAY])
def test_days_from_14_days_before_day_zero_to_today_are_accepted(
    world: World, day: datetime.date
) -> None:
    case = file(world, adult()).case
    entry = behaviour_add(case=case, data=replace(ENTRY, day=day), actor=ACTOR, today=TODAY)
    entry.refresh_from_db()
    assert (entry.day, entry.description, entry.municipality) == (
        day,
        "三宮の居酒屋で友人4人と会食",
        world.kobe.municipality,
    )
    assert entry.details == {"time_band": "night", "place_kind": "restaurant", "precautions": "no"}


@pytest.mark.parametrize(
    ("day", "code", "message"),
    [
        (
            D(2026, 11, 2),
            ErrorCode.OUT_OF_RANGE,
            "行動歴は 2026-11-03（起算日の14日前）から今日までの日付で入力してください。",
        ),
        (D(2026, 11, 21), ErrorCode.DATE_FUTURE, "未来の日付は入力できません。"),
    ],
)
def test_days_outside_the_window_are_refused_at_the_date_field(
    world: World, day: datetime.date, code: ErrorCode, message: str
) -> None:
    case = file(world, adult()).case
    with pytest.raises(SurveillanceError) as info:
        behaviour_add(case=case, data=replace(ENTRY, day=day), actor=ACTOR, today=TODAY)
    assert (info.value.code, info.value.field, info.value.message) == (
        code,
        "behaviour_day",
        message,
    )
    assert BehaviourEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"place_kind": "moon"}, "place_kind", ErrorCode.REQUIRED),
        ({"place_kind": ""}, "place_kind", ErrorCode.REQUIRED),
        ({"time_band": "noon"}, "time_band", ErrorCode.REQUIRED),
        ({"precautions": "maybe"}, "precautions", ErrorCode.REQUIRED),
        ({"description": "  "}, "description", ErrorCode.REQUIRED),
        ({"description": "あ" * 501}, "description", ErrorCode.TOO_LONG),
    ],
)
def test_bad_items_are_refused_and_nothing_is_stored(
    world: World, changes: dict[str, Any], field: str, code: ErrorCode
) -> None:
    case = file(world, adult()).case
    with pytest.raises(SurveillanceError) as info:
        behaviour_add(case=case, data=replace(ENTRY, **changes), actor=ACTOR, today=TODAY)
    assert (info.value.code, info.value.field) == (code, field)
    assert BehaviourEntry.objects.count() == 0
    assert not AuditEntry.objects.filter(action="surveillance.behaviour_added").exists()


def test_the_time_band_is_optional(world: World) -> None:
    case = file(world, adult()).case
    entry = behaviour_add(case=case, data=replace(ENTRY, time_band=""), actor=ACTOR, today=TODAY)
    assert entry.details["time_band"] == ""


def test_the_history_is_encrypted_at_rest(world: World) -> None:
    case = file(world, adult()).case
    behaviour_add(case=case, data=ENTRY, actor=ACTOR, today=TODAY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT day, description, details FROM surveillance_behaviourentry")
        row = cursor.fetchone()
    stored = "".join(row)
    for clear in ("2026-11-14", "居酒屋", "restaurant", "night"):
        assert clear not in stored


def test_an_addition_is_audited_without_its_content(world: World) -> None:
    case = file(world, adult()).case
    entry = behaviour_add(case=case, data=ENTRY, actor=ACTOR, today=TODAY)
    audit = AuditEntry.objects.get(action="surveillance.behaviour_added")
    assert (audit.kind, audit.object_id, audit.chain) == (EntryKind.EVENT, str(entry.pk), "281000")
    assert audit.data == {"case": case.pk, "place_kind": "restaurant"}
    assert "居酒屋" not in str(audit.data)


def test_the_history_moves_with_a_transfer(world: World) -> None:
    case = file(world, adult()).case
    entry = behaviour_add(case=case, data=ENTRY, actor=ACTOR, today=TODAY)
    case_transfer(case=case, to_centre=world.hyogo_centre, reason="転居のため", actor=ACTOR)
    entry.refresh_from_db()
    assert (entry.municipality, entry.case_id) == (world.hyogo, case.pk)
    hyogo = signed_in_client(world.hyogo_nurse)
    page = hyogo.get(f"/{world.hyogo.slug}/health/cases/{case.pk}/").content.decode()
    assert "三宮の居酒屋で友人4人と会食" in page


def _form(**changes: str) -> dict[str, str]:
    today = timezone.localdate()
    return {
        "action": "behaviour",
        "behaviour_day": (today - datetime.timedelta(days=3)).isoformat(),
        "time_band": "afternoon",
        "place_kind": "workplace",
        "description": "職場の会議（会議室、6人）",
        "precautions": "yes",
        **changes,
    }


def test_added_and_shown_on_the_case_page(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url(f"health/cases/{case.pk}/")
    assert nurse.post(url, _form()).status_code == 302
    page = nurse.get(url).content.decode()
    assert "職場の会議（会議室、6人）" in page
    assert "マスク等の対策あり" in page
    assert "午後" in page
    entry = BehaviourEntry.objects.get()
    assert entry.day == timezone.localdate() - datetime.timedelta(days=3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"behaviour_day": ""}, "日付を入力してください。"),
        ({"behaviour_day": "令和8年"}, "日付は 2026-11-20 の形で入力してください。"),
        (
            {"behaviour_day": "2000-01-01"},
            "（起算日の14日前）から今日までの日付で入力してください。",
        ),
        ({"behaviour_day": "2999-01-01"}, "未来の日付は入力できません。"),
        ({"place_kind": "<script>"}, "場所の種類を選んでください。"),
        ({"time_band": "x"}, "時間帯を選んでください。"),
        ({"precautions": ""}, "感染対策の有無を選んでください。"),
        ({"description": ""}, "行動の内容を入力してください。"),
        ({"description": "x" * 5000}, "行動の内容は500文字以内で入力してください。"),
    ],
)
def test_bad_input_on_the_page_is_a_400_at_the_field(
    world: World, changes: dict[str, str], message: str
) -> None:
    case = file(world, recent(), real_today=True).case
    nurse = signed_in_client(world.nurse)
    response = nurse.post(world.kobe.url(f"health/cases/{case.pk}/"), _form(**changes))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'class="field__error"' in body
    assert BehaviourEntry.objects.count() == 0


def test_other_staff_cannot_add(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    url = world.kobe.url(f"health/cases/{case.pk}/")
    for client in (
        world.kobe.client("clerk"),
        signed_in_client(world.hyogo_nurse),
        signed_in_client(world.clinic.user),
    ):
        assert_cannot_change(
            client, url, data=_form(), state=lambda: snapshot(BehaviourEntry.objects.all())
        )


# 麻しん (measles()): onset 11-15, so the 行動歴 runs from 21 days before it, 2026-10-25.
@pytest.mark.parametrize("day", [D(2026, 10, 25), D(2026, 11, 15), TODAY])
def test_measles_days_from_21_days_before_the_onset_are_accepted(
    world: World, day: datetime.date
) -> None:
    case = file(world, measles()).case
    entry = behaviour_add(case=case, data=replace(ENTRY, day=day), actor=ACTOR, today=TODAY)
    assert (entry.day, entry.case_id) == (day, case.pk)


def test_measles_day_before_the_window_is_refused(world: World) -> None:
    case = file(world, measles()).case
    with pytest.raises(SurveillanceError) as info:
        behaviour_add(case=case, data=replace(ENTRY, day=D(2026, 10, 24)), actor=ACTOR, today=TODAY)
    assert (info.value.code, info.value.field, info.value.message) == (
        ErrorCode.OUT_OF_RANGE,
        "behaviour_day",
        "行動歴は 2026-10-25（発病日の21日前）から今日までの日付で入力してください。",
    )
    assert BehaviourEntry.objects.count() == 0


def test_21_days_back_is_accepted_for_measles_and_refused_for_covid(world: World) -> None:
    """Both cases with onset 11-15: 麻しん looks back 21 days, COVID-19 14 days from day 0."""
    sick = file(world, measles()).case
    covid = file(world, adult(onset_date=D(2026, 11, 15))).case
    three_weeks = replace(ENTRY, day=D(2026, 10, 25))
    assert behaviour_add(case=sick, data=three_weeks, actor=ACTOR, today=TODAY).day == D(
        2026, 10, 25
    )
    with pytest.raises(SurveillanceError) as info:
        behaviour_add(case=covid, data=three_weeks, actor=ACTOR, today=TODAY)
    assert (info.value.code, info.value.message) == (
        ErrorCode.OUT_OF_RANGE,
        "行動歴は 2026-11-01（起算日の14日前）から今日までの日付で入力してください。",
    )
    assert list(BehaviourEntry.objects.values_list("case_id", flat=True)) == [sick.pk]


def test_measles_without_an_onset_counts_from_the_rash(world: World) -> None:
    """Onset unknown (a death notified with the rash, 11-18): 25 days before the rash."""
    dead = measles(category="dead", onset_date=None, death_date=D(2026, 11, 20))
    case = file(world, dead).case
    assert behaviour_from(case) == (D(2026, 10, 24), "発疹出現日の25日前")
    with pytest.raises(SurveillanceError) as info:
        behaviour_add(case=case, data=replace(ENTRY, day=D(2026, 10, 23)), actor=ACTOR, today=TODAY)
    assert info.value.code == ErrorCode.OUT_OF_RANGE
    assert BehaviourEntry.objects.count() == 0


def test_the_measles_case_page_states_its_window(world: World) -> None:
    case = file(world, measles()).case
    nurse = signed_in_client(world.nurse)
    page = nurse.get(world.kobe.url(f"health/cases/{case.pk}/")).content.decode()
    assert "2026-10-25（発病日の21日前）から今日まで" in page
