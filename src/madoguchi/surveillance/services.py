"""Writes of the case register: notifications, routing, dedup, transfers, switches.

Self-reports and alerts live in :mod:`madoguchi.surveillance.reports`, LINE in
:mod:`~madoguchi.surveillance.linecodes`, :mod:`~madoguchi.surveillance.linelink` and
:mod:`~madoguchi.surveillance.linereminders`; their services are re-exported here.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.events import DomainEvent, event_publish
from madoguchi.surveillance.diseases import DISEASES, Disease
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.linecodes import (
    IssuedCode,
    line_code_issue_for_case,
    line_code_issue_for_token,
    line_linking_available,
)
from madoguchi.surveillance.linelink import LineAnswer, line_message_handle, line_postback_handle
from madoguchi.surveillance.linereminders import line_reminders_send
from madoguchi.surveillance.models import (
    AgeBandCount,
    Case,
    CaseStatus,
    Category,
    Clinic,
    HealthCentre,
    Notification,
    SurveillanceSetting,
)
from madoguchi.surveillance.notifications import (
    NotificationInput,
    in_four_groups,
    notification_check,
    notification_visible,
)
from madoguchi.surveillance.notify import report_link_url, send_report_link
from madoguchi.surveillance.publish import cases_publish
from madoguchi.surveillance.reports import (
    alert_acknowledge,
    alerts_raise_missing,
    report_link_issue,
    report_link_resolve,
    self_report_submit,
)
from madoguchi.surveillance.residence import place_get
from madoguchi.surveillance.rules import AGE_BANDS, age_band, age_on, observation_last_day
from madoguchi.surveillance.selectors import health_centre_route, urgent_contact
from madoguchi.tenants.models import Municipality

__all__ = [
    "IssuedCode",
    "LineAnswer",
    "NotificationInvalidError",
    "NotificationResult",
    "age_band_counts_submit",
    "alert_acknowledge",
    "alerts_raise_missing",
    "case_transfer",
    "identity_key_for",
    "line_code_issue_for_case",
    "line_code_issue_for_token",
    "line_linking_available",
    "line_message_handle",
    "line_postback_handle",
    "line_reminders_send",
    "notification_submit",
    "report_link_issue",
    "report_link_resolve",
    "self_report_submit",
    "surveillance_setting_set",
]


class NotificationInvalidError(Exception):
    """A notification refused as a whole; ``errors`` name their fields."""

    def __init__(self, errors: list[SurveillanceError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class NotificationResult:
    notification: Notification
    case: Case
    created: bool  # False when the notification was linked to an existing case


def identity_key_for(*, name: str, birth_date: datetime.date, phone: str) -> str | None:
    """The blind index a case with these items would carry (for dedup lookups)."""
    probe = Case(name=name, birth_date=birth_date, phone=phone)
    field = Case._meta.get_field("identity_key")
    assert hasattr(field, "compute")
    digest = field.compute(probe.identity_source)
    assert digest is None or isinstance(digest, str)
    return digest


def _day_zero(data: NotificationInput, disease: Disease) -> datetime.date:
    """The first date the disease names for day 0 (発病日, 発疹出現日, 検体採取日, 診断日)."""
    items = (
        (*disease.day_zero_symptomatic, *disease.day_zero_otherwise)
        if data.symptomatic
        else disease.day_zero_otherwise
    )
    for item in items:
        day = getattr(data, item)
        if isinstance(day, datetime.date):
            return day
    raise AssertionError("notification_check requires 診断年月日 for every 類型")


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def _health(data: NotificationInput) -> dict[str, object]:
    health: dict[str, object] = {
        "sex": data.sex,
        "symptomatic": data.symptomatic,
        "onset_date": _iso(data.onset_date),
        "specimen_date": _iso(data.specimen_date),
        "diagnosis_date": _iso(data.diagnosis_date),
        "care_setting": "hospital" if data.hospitalisation else "home",
        "severity": "",
        "improved_on": None,
    }
    if data.disease_type:
        health["disease_type"] = data.disease_type
    if data.rash_date:
        health["rash_date"] = _iso(data.rash_date)
    return health


def _observation(data: NotificationInput, disease: Disease) -> tuple[datetime.date, datetime.date]:
    day_zero = _day_zero(data, disease)
    return day_zero, observation_last_day(
        symptomatic=data.symptomatic, day_zero=day_zero, disease=disease.code
    )


@transaction.atomic
def notification_submit(
    *,
    clinic: Clinic,
    data: NotificationInput,
    actor: AuditActor,
    today: datetime.date | None = None,
) -> NotificationResult:
    """File a 発生届: check it, route it to the centre covering 所在地, link or create the case.

    Items the disease's 類型 does not show are ignored. A case is one person with one disease:
    a later notification of the same disease links to it, another disease opens its own case.
    Nothing is stored when any item is refused (:class:`NotificationInvalidError` lists them all).
    """
    today = today or timezone.localdate()
    data = notification_visible(data)
    errors = notification_check(data, today=today)
    route = health_centre_route(code=data.residence_code) if data.residence_code else None
    place = place_get(data.residence_code)
    if data.residence_code and route is None:
        errors.append(
            SurveillanceError(
                ErrorCode.NOT_COVERED,
                _("%(place)sを管轄する保健所が登録されていません。") % {"place": place.name}
                if place is not None
                else _("この団体コードを管轄する保健所が登録されていません。"),
                field="residence_code",
            )
        )
    if errors:
        raise NotificationInvalidError(errors)
    assert route is not None
    # A ward's case is counted under the code its centre covers (its city); the notification
    # keeps the ward as filed.
    centre, covered_code = route
    assert data.birth_date is not None
    disease = DISEASES[data.disease]
    setting = SurveillanceSetting.objects.filter(municipality_id=centre.municipality_id).first()
    four_groups = disease.four_groups and setting is not None and setting.four_groups_only
    if four_groups and not in_four_groups(data, today=today):
        raise NotificationInvalidError(
            [
                SurveillanceError(
                    ErrorCode.FOUR_GROUPS,
                    _(
                        "この自治体では、発生届は65歳以上・入院を要する方・重症化リスクがあり治療や"
                        "酸素投与が必要な方・妊婦に限られます。年代別の人数として報告してください。"
                    ),
                    field="category",
                )
            ]
        )
    key = identity_key_for(name=data.name, birth_date=data.birth_date, phone=data.phone)
    case = (
        Case.objects.select_for_update()
        .filter(municipality_id=centre.municipality_id, disease=disease.code, identity_key=key)
        .order_by("pk")
        .first()
    )
    day_zero, last_day = _observation(data, disease)
    created = case is None
    if case is None:
        case = Case.objects.create(
            municipality_id=centre.municipality_id,
            health_centre=centre,
            residence_code=covered_code,
            disease=disease.code,
            category=data.category,
            age_band=age_band(age_on(data.birth_date, today)),
            name=data.name,
            name_kana=data.name_kana,
            birth_date=data.birth_date,
            phone=data.phone,
            email=data.email,
            health=_health(data),
            day_zero=day_zero,
            observation_end=last_day,
            status=_status_for(data.category),
        )
    elif case.category != data.category or (
        str(case.health.get("disease_type") or "") != data.disease_type
    ):
        # A later 類型 (e.g. 疑似症患者 confirmed as 患者) or 病型 (臨床診断例 confirmed by a
        # test) updates the case it belongs to.
        case.category = data.category
        case.health = {**case.health, **_health(data)}
        case.day_zero, case.observation_end = day_zero, last_day
        case.status = _status_for(data.category)
        case.save(update_fields=["category", "health", "day_zero", "observation_end", "status"])
    notification = Notification.objects.create(
        municipality_id=centre.municipality_id,
        case=case,
        clinic=clinic,
        disease=disease.code,
        category=data.category,
        items={
            **data.items(),
            "residence_name": place.name if place is not None else "",
            "clinic": clinic.name,
            "doctor": clinic.doctor_name,
        },
    )
    audit_event(
        municipality=centre.municipality,
        action="surveillance.notification_filed",
        actor=actor,
        obj=notification,
        data={
            "case": case.pk,
            "linked": not created,
            "disease": disease.code,
            "category": data.category,
        },
    )
    event_publish(
        DomainEvent(
            municipality_id=centre.municipality_id,
            type="case.notified",
            subject=f"cases/{case.pk}",
            data={
                "case": case.pk,
                "notification": notification.pk,
                "disease": disease.code,
                "linked": int(not created),
            },
        )
    )
    if created and data.email and disease.self_reports:
        _mail_report_link(case=case, email=data.email, actor=actor)
    if created and disease.published:
        body = centre.municipality
        transaction.on_commit(lambda: cases_publish(municipality=body, cases=[case], actor=actor))
    return NotificationResult(notification=notification, case=case, created=created)


def _mail_report_link(*, case: Case, email: str, actor: AuditActor) -> None:
    token = report_link_issue(cases=[case], actor=actor)
    url = report_link_url(municipality_slug=case.municipality.slug, token=token)
    centre = case.health_centre
    urgent = urgent_contact(centre=centre)
    phone = urgent.text if urgent is not None else centre.name
    municipality = case.municipality
    transaction.on_commit(
        lambda: send_report_link(
            municipality=municipality, email=email, url=url, centre_name=centre.name, phone=phone
        )
    )


def _status_for(category: str) -> str:
    if category in (Category.DEAD, Category.DEAD_SUSPECTED):
        return CaseStatus.DIED
    return CaseStatus.OBSERVING


@transaction.atomic
def case_transfer(*, case: Case, to_centre: HealthCentre, reason: str, actor: AuditActor) -> Case:
    """Move a case (with its notifications, reports, alerts and 疫学調査) to another centre.

    Both bodies' audit chains record the transfer.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    if to_centre.pk == case.health_centre_id:
        raise SurveillanceError(
            ErrorCode.SAME_CENTRE, _("同じ保健所には移管できません。"), field="to_centre"
        )
    if not reason.strip():
        raise SurveillanceError(
            ErrorCode.NOTE_REQUIRED, _("移管の理由を入力してください。"), field="reason"
        )
    from_centre = case.health_centre
    transfer = case.transfers.create(
        from_centre=from_centre,
        to_centre=to_centre,
        reason=reason.strip()[:200],
        transferred_by=actor.user,
    )
    new_body = to_centre.municipality_id
    case.health_centre = to_centre
    case.municipality_id = new_body
    case.save(update_fields=["health_centre", "municipality"])
    for related in (
        case.notifications,
        case.reports,
        case.alerts,
        case.contacts,
        case.behaviour,
        case.certificates,
    ):
        related.update(municipality_id=new_body)
    data = {"case": case.pk, "from": from_centre.name, "to": to_centre.name}
    for body in {from_centre.municipality, to_centre.municipality}:
        audit_event(
            municipality=body,
            action="surveillance.case_transferred",
            actor=actor,
            obj=transfer,
            data=data,
        )
    return case


@transaction.atomic
def age_band_counts_submit(
    *, clinic: Clinic, day: datetime.date, counts: Mapping[str, int], actor: AuditActor
) -> int:
    """Record a clinic's daily count by age band (patients outside the four groups).

    A second submission for the same day replaces the first. Returns the total.
    """
    for band, count in counts.items():
        if band not in AGE_BANDS:
            raise SurveillanceError(
                ErrorCode.OUT_OF_RANGE, _("年代が正しくありません。"), field=band
            )
        if not 0 <= count <= 10000:
            raise SurveillanceError(
                ErrorCode.OUT_OF_RANGE, _("0から10000の人数で入力してください。"), field=band
            )
    for band, count in counts.items():
        AgeBandCount.objects.update_or_create(
            clinic=clinic,
            day=day,
            age_band=band,
            defaults={"municipality_id": clinic.municipality_id, "count": count},
        )
    audit_event(
        municipality=clinic.municipality,
        action="surveillance.age_band_counts",
        actor=actor,
        obj=clinic,
        data={"day": day.isoformat(), "total": sum(counts.values())},
    )
    return sum(counts.values())


def surveillance_setting_set(
    *, municipality: Municipality, four_groups_only: bool, actor: AuditActor
) -> SurveillanceSetting:
    """Switch the 2022 "only four groups" rule on or off for a body's health centres."""
    setting, _created = SurveillanceSetting.objects.update_or_create(
        municipality=municipality, defaults={"four_groups_only": four_groups_only}
    )
    audit_event(
        municipality=municipality,
        action="surveillance.four_groups_set",
        actor=actor,
        obj=setting,
        data={"four_groups_only": four_groups_only},
    )
    return setting
