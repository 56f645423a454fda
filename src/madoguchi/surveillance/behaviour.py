"""The 疫学調査 behaviour history (行動歴): where the patient was in the days before day 0.

The window starts where the case's disease says (the longest incubation period its
investigation asks about: 14 days before day 0 for COVID-19, 21 days before the onset for
麻しん; see :mod:`madoguchi.surveillance.diseases`) and ends today; nothing outside it is
accepted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.diseases import DISEASES, day_resolve
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import BehaviourEntry, Case

__all__ = [
    "DESCRIPTION_MAX",
    "BehaviourInput",
    "PlaceKind",
    "Precautions",
    "TimeBand",
    "behaviour_add",
    "behaviour_from",
    "behaviour_window",
]

DESCRIPTION_MAX = 500


class PlaceKind(models.TextChoices):
    """Kind of place (場所の種類) of a behaviour entry."""

    WORKPLACE = "workplace", gettext_lazy("職場")
    SCHOOL = "school", gettext_lazy("学校・保育施設")
    RESTAURANT = "restaurant", gettext_lazy("飲食店")
    MEDICAL = "medical", gettext_lazy("医療機関")
    CARE_FACILITY = "care_facility", gettext_lazy("高齢者施設等")
    TRAVEL = "travel", gettext_lazy("移動（公共交通機関など）")
    GATHERING = "gathering", gettext_lazy("イベント・集まり")
    OTHER = "other", gettext_lazy("その他")


class TimeBand(models.TextChoices):
    MORNING = "morning", gettext_lazy("午前")
    AFTERNOON = "afternoon", gettext_lazy("午後")
    NIGHT = "night", gettext_lazy("夜間")
    ALL_DAY = "all_day", gettext_lazy("終日")


class Precautions(models.TextChoices):
    """Whether masks and other precautions were used (マスク等の感染対策)."""

    YES = "yes", gettext_lazy("マスク等の対策あり")
    NO = "no", gettext_lazy("対策なし")
    UNKNOWN = "unknown", gettext_lazy("不明")


@dataclass(frozen=True, slots=True)
class BehaviourInput:
    day: datetime.date
    place_kind: str
    description: str
    precautions: str = Precautions.UNKNOWN
    time_band: str = ""  # optional


def behaviour_from(case: Case) -> tuple[datetime.date, str]:
    """The first day the 行動歴 of ``case`` asks about, with how the page explains it."""
    first = day_resolve(
        DISEASES[case.disease].investigation.behaviour_from,
        day_zero=case.day_zero,
        dates=case.health,
    )
    assert first is not None, "every behaviour_from ends with an offset from day 0"
    return first[0], str(first[1])


def behaviour_window(case: Case, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day a behaviour entry of ``case`` may have."""
    return behaviour_from(case)[0], today


def _check(case: Case, data: BehaviourInput, today: datetime.date) -> None:
    first, basis = behaviour_from(case)
    last = today
    if data.day > last:
        raise SurveillanceError(
            ErrorCode.DATE_FUTURE, _("未来の日付は入力できません。"), field="behaviour_day"
        )
    if data.day < first:
        raise SurveillanceError(
            ErrorCode.OUT_OF_RANGE,
            _("行動歴は %(first)s（%(basis)s）から今日までの日付で入力してください。")
            % {"first": first.isoformat(), "basis": basis},
            field="behaviour_day",
        )
    if data.place_kind not in PlaceKind.values:
        raise SurveillanceError(
            ErrorCode.REQUIRED, _("場所の種類を選んでください。"), field="place_kind"
        )
    if data.time_band and data.time_band not in TimeBand.values:
        raise SurveillanceError(
            ErrorCode.REQUIRED, _("時間帯を選んでください。"), field="time_band"
        )
    if data.precautions not in Precautions.values:
        raise SurveillanceError(
            ErrorCode.REQUIRED, _("感染対策の有無を選んでください。"), field="precautions"
        )
    if not data.description.strip():
        raise SurveillanceError(
            ErrorCode.REQUIRED, _("行動の内容を入力してください。"), field="description"
        )
    if len(data.description.strip()) > DESCRIPTION_MAX:
        raise SurveillanceError(
            ErrorCode.TOO_LONG,
            _("行動の内容は%(max)d文字以内で入力してください。") % {"max": DESCRIPTION_MAX},
            field="description",
        )


@transaction.atomic
def behaviour_add(
    *, case: Case, data: BehaviourInput, actor: AuditActor, today: datetime.date
) -> BehaviourEntry:
    """Record one entry of the behaviour history of ``case``; refused outside the window."""
    _check(case, data, today)
    entry = BehaviourEntry.objects.create(
        municipality_id=case.municipality_id,
        case=case,
        day=data.day,
        description=data.description.strip(),
        details={
            "time_band": data.time_band,
            "place_kind": data.place_kind,
            "precautions": data.precautions,
        },
    )
    audit_event(
        municipality=case.municipality,
        action="surveillance.behaviour_added",
        actor=actor,
        obj=entry,
        data={"case": case.pk, "place_kind": data.place_kind},
    )
    return entry
