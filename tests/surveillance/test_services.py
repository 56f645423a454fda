"""Notifications: 類型 rules, impossible dates, routing, dedup, transfer, the four-groups switch."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.surveillance.contacts import ContactInput, contact_add
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import AgeBandCount, Case, Category, Notification
from madoguchi.surveillance.selectors import daily_counts_by_age_band
from madoguchi.surveillance.services import (
    NotificationInvalidError,
    age_band_counts_submit,
    case_transfer,
    surveillance_setting_set,
)
from tests.isolation import snapshot
from tests.surveillance.factories import ACTOR, TODAY, World, adult, file


def _refused(world: World, **changes: object) -> dict[str, str]:
    before = (snapshot(Case.objects.all()), snapshot(Notification.objects.all()))
    with pytest.raises(NotificationInvalidError) as info:
        file(world, adult(**changes))
    assert (snapshot(Case.objects.all()), snapshot(Notification.objects.all())) == before
    return {e.field: e.code for e in info.value.errors}


def test_new_case_goes_to_the_centre_covering_the_residence(world: World) -> None:
    result = file(world, adult())
    case = Case.objects.get()
    assert result.created is True
    assert case.health_centre == world.kobe_centre
    assert case.municipality == world.kobe.municipality
    assert case.age_band == "30代"
    assert case.day_zero == datetime.date(2026, 11, 17)
    assert case.observation_end == datetime.date(2026, 11, 24)
    assert result.notification.items["doctor"] == "医師 一郎"


def test_a_sayo_resident_goes_to_the_prefecture_centre(world: World) -> None:
    """A Kobe clinic notifies a 佐用町 resident: the case belongs to 兵庫県, not Kobe or Sayo."""
    file(world, adult(residence_code="285013"))
    case = Case.objects.get()
    assert case.health_centre == world.hyogo_centre
    assert case.municipality == world.hyogo


def test_an_uncovered_town_is_refused_at_its_field(world: World) -> None:
    assert _refused(world, residence_code="131016") == {"residence_code": ErrorCode.NOT_COVERED}


def test_identity_and_health_data_are_encrypted_at_rest(world: World) -> None:
    file(world, adult())
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, birth_date, phone, health FROM surveillance_case")
        row = cursor.fetchone()
    assert "山田" not in "".join(row)
    assert "1990" not in "".join(row)
    assert "1234" not in "".join(row)


def test_second_notification_for_the_same_person_links_to_the_case(world: World) -> None:
    """A full-width space in the name and a phone without hyphens still match."""
    first = file(world, adult(category=Category.SUSPECTED, test_method="", specimen_date=None))
    second = file(world, adult(name="山田　太郎", phone="０９０１２３４５６７８"))
    assert second.created is False
    assert second.case.pk == first.case.pk
    assert Case.objects.count() == 1
    assert Notification.objects.filter(case=first.case).count() == 2
    case = Case.objects.get()
    assert case.category == Category.PATIENT  # the later 類型 replaced 疑似症患者


def test_another_birth_date_is_another_person(world: World) -> None:
    file(world, adult())
    result = file(world, adult(birth_date=datetime.date(1990, 4, 2)))
    assert result.created is True
    assert Case.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {
                "onset_date": datetime.date(2026, 11, 20),
                "diagnosis_date": datetime.date(2026, 11, 19),
            },
            {"onset_date": ErrorCode.DATE_ORDER},
        ),
        (
            {
                "category": Category.DEAD,
                "death_date": datetime.date(2026, 11, 16),
            },
            {"death_date": ErrorCode.DATE_ORDER},
        ),
        (
            {"diagnosis_date": datetime.date(2026, 11, 21)},
            {"diagnosis_date": ErrorCode.DATE_FUTURE},
        ),
        (
            {"name": "", "birth_date": None},
            {"name": ErrorCode.REQUIRED, "birth_date": ErrorCode.REQUIRED},
        ),
        ({"symptoms": ()}, {"symptoms": ErrorCode.REQUIRED}),
        ({"category": Category.DEAD}, {"death_date": ErrorCode.REQUIRED}),
        (
            {"category": Category.ASYMPTOMATIC, "specimen_date": None, "test_method": ""},
            {"specimen_date": ErrorCode.REQUIRED, "test_method": ErrorCode.REQUIRED},
        ),
        ({"vaccine_doses": 11}, {"vaccine_doses": ErrorCode.OUT_OF_RANGE}),
    ],
)
def test_bad_notifications_are_refused_whole(
    world: World, changes: dict[str, object], errors: dict[str, str]
) -> None:
    assert _refused(world, **changes) == errors


def test_asymptomatic_counts_from_the_specimen_date(world: World) -> None:
    file(
        world,
        adult(
            category=Category.ASYMPTOMATIC,
            symptoms=(),
            onset_date=None,
            specimen_date=datetime.date(2026, 11, 18),
        ),
    )
    case = Case.objects.get()
    assert (case.day_zero, case.observation_end) == (
        datetime.date(2026, 11, 18),
        datetime.date(2026, 11, 25),
    )


def test_four_groups_switch(world: World) -> None:
    """With the switch on, a low-risk adult is refused and counted by age band instead."""
    surveillance_setting_set(
        municipality=world.kobe.municipality, four_groups_only=True, actor=ACTOR
    )
    assert _refused(world) == {"category": ErrorCode.FOUR_GROUPS}
    age_band_counts_submit(
        clinic=world.clinic, day=TODAY, counts={"30代": 4, "10歳未満": 2}, actor=ACTOR
    )
    # Resubmitting the day replaces it.
    age_band_counts_submit(clinic=world.clinic, day=TODAY, counts={"30代": 5}, actor=ACTOR)
    old = file(world, adult(name="高齢 花子", birth_date=datetime.date(1950, 1, 1)))
    pregnant = file(world, adult(name="妊婦 さくら", sex="female", pregnant=True))
    assert old.created
    assert pregnant.created
    counts = daily_counts_by_age_band(
        municipality=world.kobe.municipality,
        day_from=TODAY - datetime.timedelta(days=1),
        day_to=timezone.localdate(),
    )
    # The counts are by local (Japanese) day, which differs from the UTC day for 9 hours.
    created_day = timezone.localtime(Case.objects.get(pk=old.case.pk).created_at).date()
    expected: dict[datetime.date, dict[str, int]] = {TODAY: {"30代": 5, "10歳未満": 2}}
    expected.setdefault(created_day, {})
    expected[created_day]["70代"] = 1
    expected[created_day]["30代"] = expected[created_day].get("30代", 0) + 1
    assert counts == expected
    surveillance_setting_set(
        municipality=world.kobe.municipality, four_groups_only=False, actor=ACTOR
    )
    assert file(world, adult()).created is True


def test_age_band_counts_refuse_unknown_bands(world: World) -> None:
    with pytest.raises(SurveillanceError) as info:
        age_band_counts_submit(
            clinic=world.clinic, day=TODAY, counts={"30代": 1, "30": 1}, actor=ACTOR
        )
    assert info.value.code == ErrorCode.OUT_OF_RANGE
    assert AgeBandCount.objects.count() == 0


def test_transfer_moves_the_case_and_is_logged_in_both_chains(world: World) -> None:
    result = file(world, adult())
    contact = contact_add(
        case=result.case,
        data=ContactInput(name="家族", phone="", relation="household", last_contact=TODAY),
        actor=ACTOR,
        today=TODAY,
    )
    case_transfer(case=result.case, to_centre=world.hyogo_centre, reason="転居のため", actor=ACTOR)
    contact.refresh_from_db()
    assert contact.municipality == world.hyogo
    case = Case.objects.get()
    assert (case.health_centre, case.municipality) == (world.hyogo_centre, world.hyogo)
    assert Notification.objects.get().municipality == world.hyogo
    chains = set(
        AuditEntry.objects.filter(action="surveillance.case_transferred").values_list(
            "chain", flat=True
        )
    )
    assert chains == {"281000", "280003"}
    assert case.transfers.get().from_centre == world.kobe_centre


def test_transfer_needs_a_reason_and_another_centre(world: World) -> None:
    result = file(world, adult())
    with pytest.raises(SurveillanceError) as info:
        case_transfer(case=result.case, to_centre=world.kobe_centre, reason="x", actor=ACTOR)
    assert info.value.code == ErrorCode.SAME_CENTRE
    with pytest.raises(SurveillanceError) as info:
        case_transfer(case=result.case, to_centre=world.hyogo_centre, reason=" ", actor=ACTOR)
    assert info.value.code == ErrorCode.NOTE_REQUIRED
    assert Case.objects.get().health_centre == world.kobe_centre


def test_a_new_case_with_an_email_gets_its_report_link(
    world: World, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = file(world, adult()).case
    assert case.report_link is not None
    [mail] = mailoutbox
    assert mail.to == ["taro@example.jp"]
    assert mail.subject == "【神戸市保健所】毎日の体調報告のお願い"
    assert "/kobe/health/report/" in mail.body
    assert "078-000-0000" in mail.body
    with django_capture_on_commit_callbacks(execute=True):
        file(world, adult())  # linked to the same case: no second link
    assert len(mailoutbox) == 1
