"""Casework by health-centre staff: 療養先, 重症度, the date symptoms improved, 健康観察の状況."""

from __future__ import annotations

import datetime

from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.diseases import DISEASES
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, FollowUpStatus, ReportLink
from madoguchi.surveillance.reports import end_of_day
from madoguchi.surveillance.rules import observation_last_day

__all__ = [
    "FOLLOW_UP_NOTE_MAX",
    "CareSetting",
    "FollowUpStatus",
    "Severity",
    "case_care_update",
    "case_follow_up_set",
    "severity_for_spo2",
]

FOLLOW_UP_NOTE_MAX = 500


class CareSetting(models.TextChoices):
    HOME = "home", gettext_lazy("自宅療養")
    HOTEL = "hotel", gettext_lazy("宿泊療養")
    HOSPITAL = "hospital", gettext_lazy("入院")


class Severity(models.TextChoices):
    MILD = "mild", gettext_lazy("軽症")
    MODERATE_1 = "moderate1", gettext_lazy("中等症I")
    MODERATE_2 = "moderate2", gettext_lazy("中等症II")
    SEVERE = "severe", gettext_lazy("重症")


def severity_for_spo2(spo2: int) -> Severity:
    """The 重症度 an SpO2 alone suggests: 軽症 ≥ 96, 中等症I 93–96, 中等症II ≤ 93.

    重症 (ICU or ventilator) is never inferred from SpO2; staff set it.
    """
    if spo2 >= 96:
        return Severity.MILD
    if spo2 > 93:
        return Severity.MODERATE_1
    return Severity.MODERATE_2


@transaction.atomic
def case_care_update(
    *,
    case: Case,
    care_setting: str,
    care_from: datetime.date | None,
    severity: str,
    improved_on: datetime.date | None,
    actor: AuditActor,
) -> Case:
    """Record where the patient is cared for, how severe, and when symptoms improved.

    ``improved_on`` recomputes the last day of observation under the disease's rule in force on
    day 0 (the 麻しん rule does not move with improvement). The 重症度 is the COVID-19
    classification (by SpO2): refused for a disease that does not use it, such as 麻しん.
    """
    if care_setting not in CareSetting.values:
        raise SurveillanceError(ErrorCode.REQUIRED, _("療養先を選んでください。"), field="care")
    if severity and severity not in Severity.values:
        raise SurveillanceError(ErrorCode.REQUIRED, _("重症度を選んでください。"), field="severity")
    disease = DISEASES[case.disease]
    if severity and not disease.investigation.severity_by_spo2:
        raise SurveillanceError(
            ErrorCode.NOT_FOR_DISEASE,
            _("%(disease)sでは重症度（軽症・中等症・重症の分類）を記録しません。")
            % {"disease": disease.name},
            field="severity",
        )
    case = Case.objects.select_for_update().get(pk=case.pk)
    for name, day in (("care_from", care_from), ("improved_on", improved_on)):
        if day is not None and day < case.day_zero:
            raise SurveillanceError(
                ErrorCode.DATE_ORDER, _("起算日（0日目）より前の日付です。"), field=name
            )
    health = dict(case.health)
    health.update(
        care_setting=care_setting,
        care_from=care_from.isoformat() if care_from else None,
        severity=severity,
        improved_on=improved_on.isoformat() if improved_on else None,
    )
    case.health = health
    case.observation_end = observation_last_day(
        symptomatic=bool(health.get("symptomatic")),
        day_zero=case.day_zero,
        improved_on=improved_on,
        disease=case.disease,
    )
    case.save(update_fields=["health", "observation_end"])
    if case.report_link_id is not None:
        # The household's link lives as long as its longest observation.
        ends = Case.objects.filter(report_link_id=case.report_link_id).values_list(
            "observation_end", flat=True
        )
        ReportLink.objects.filter(pk=case.report_link_id).update(expires_at=end_of_day(max(ends)))
    audit_event(
        municipality=case.municipality,
        action="surveillance.case_care_updated",
        actor=actor,
        obj=case,
        data={"care_setting": care_setting, "severity": severity},
    )
    return case


@transaction.atomic
def case_follow_up_set(*, case: Case, status: str, note: str, actor: AuditActor) -> Case:
    """Set the 健康観察の状況 of ``case`` with an optional note (replacing the previous one).

    Any status may follow any other: a patient who could not be reached may be reached later,
    and an ended follow-up may start again when symptoms return.
    """
    if status not in FollowUpStatus.values:
        raise SurveillanceError(
            ErrorCode.REQUIRED, _("健康観察の状況を選んでください。"), field="follow_up"
        )
    note = note.strip()
    if len(note) > FOLLOW_UP_NOTE_MAX:
        raise SurveillanceError(
            ErrorCode.TOO_LONG,
            _("メモは%(max)d文字以内で入力してください。") % {"max": FOLLOW_UP_NOTE_MAX},
            field="follow_up_note",
        )
    case = Case.objects.select_for_update().get(pk=case.pk)
    previous = case.follow_up
    case.follow_up = status
    case.follow_up_note = note
    case.save(update_fields=["follow_up", "follow_up_note"])
    audit_event(
        municipality=case.municipality,
        action="surveillance.follow_up_set",
        actor=actor,
        obj=case,
        data={"from": previous, "to": status},
    )
    return case
