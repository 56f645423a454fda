"""Reads of the case register. A selector never returns another body's cases."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Max, Min, QuerySet, Sum

from madoguchi.audit.models import EntryKind
from madoguchi.audit.selectors import audit_entries_for_object
from madoguchi.surveillance.diseases import COVID19, DISEASES, disease_codes
from madoguchi.surveillance.models import (
    AgeBandCount,
    Alert,
    BehaviourEntry,
    Case,
    CaseStatus,
    Certificate,
    Clinic,
    FollowUpStatus,
    HealthCentre,
    Notification,
    SelfReport,
    SurveillanceSetting,
)
from madoguchi.surveillance.residence import routing_codes
from madoguchi.tenants.contacts import contact_point_list
from madoguchi.tenants.models import ContactPurpose, Department, Municipality


def health_centre_covering(*, code: str) -> HealthCentre | None:
    """The health centre whose area includes the 団体コード ``code``."""
    return HealthCentre.objects.select_related("municipality").filter(areas__code=code).first()


def health_centre_route(*, code: str) -> tuple[HealthCentre, str] | None:
    """The centre covering ``code`` and the code it covers it under.

    A ward of a designated city is looked up as itself, then as its city (281069 神戸市長田区
    is covered as 281000 神戸市). None when no registered centre covers the place.
    """
    for candidate in routing_codes(code):
        centre = health_centre_covering(code=candidate)
        if centre is not None:
            return centre, candidate
    return None


def health_centres_for_departments(
    *, municipality: Municipality, departments: list[Department] | None
) -> list[HealthCentre]:
    """The body's health centres, limited to ``departments`` (None: all of them)."""
    centres = HealthCentre.objects.filter(municipality=municipality).select_related("department")
    if departments is not None:
        centres = centres.filter(department__in=departments)
    return list(centres.order_by("pk"))


def clinic_for_user(*, municipality: Municipality, user_id: int) -> Clinic | None:
    return (
        Clinic.objects.filter(municipality=municipality, user_id=user_id)
        .select_related("health_centre", "municipality")
        .first()
    )


def clinics_of(*, municipality: Municipality) -> QuerySet[Clinic]:
    """The clinic accounts the body's health centres issued, oldest first."""
    return (
        Clinic.objects.filter(municipality=municipality)
        .select_related("health_centre__department", "health_centre__municipality")
        .order_by("pk")
    )


def clinic_get(*, municipality: Municipality, pk: int) -> Clinic | None:
    """One of the body's clinics (None for another body's or an unknown id)."""
    return clinics_of(municipality=municipality).filter(pk=pk).first()


def clinic_user_ids() -> QuerySet[Clinic, int]:
    """The user ids of every clinic account, of any body (no hand-over is open to them)."""
    return Clinic.objects.values_list("user_id", flat=True)


@dataclass(frozen=True, slots=True)
class UrgentContact:
    """The number a patient calls on a sudden change, and the note shown beside it."""

    phone: str
    note: str = ""

    @property
    def text(self) -> str:
        return f"{self.phone}（{self.note}）" if self.note else self.phone


def urgent_contact(*, centre: HealthCentre) -> UrgentContact | None:
    """The body's contact point for sudden changes (urgent_health), else the centre's number.

    A contact point whose key starts with ``urgent_health`` and that names the centre's
    department wins (a prefecture has several centres); then the one keyed ``urgent_health``.
    None when neither is set: the pages then name the centre without a number.
    """
    key = str(ContactPurpose.URGENT_HEALTH)
    candidates = [
        c
        for c in contact_point_list(municipality=centre.municipality)
        if c.phone and (c.key == key or c.key.startswith(key + "_"))
    ]
    chosen = next((c for c in candidates if c.department_id == centre.department_id), None)
    chosen = chosen or next((c for c in candidates if c.key == key), None)
    if chosen is not None:
        return UrgentContact(chosen.phone, chosen.note)
    return UrgentContact(centre.urgent_phone) if centre.urgent_phone else None


def is_clinic_account(*, user_id: int) -> bool:
    """Whether the user is a clinic's (医療機関) account, of any body: it opens only the clinic
    pages, and no hand-over is open to it."""
    return Clinic.objects.filter(user_id=user_id).exists()


def clinic_notifications(*, clinic: Clinic) -> QuerySet[Notification]:
    """The clinic's own notifications, newest first."""
    return Notification.objects.filter(clinic=clinic).order_by("-submitted_at", "-pk")


def case_list(
    *,
    municipality: Municipality,
    centres: list[HealthCentre],
    follow_up: str = "",
    disease: str = "",
) -> QuerySet[Case]:
    """The centres' cases, newest first; ``follow_up`` keeps one 健康観察の状況 and ``disease``
    one disease (an unknown value: all)."""
    cases = Case.objects.filter(municipality=municipality, health_centre__in=centres)
    if follow_up in FollowUpStatus.values:
        cases = cases.filter(follow_up=follow_up)
    if disease in DISEASES:
        cases = cases.filter(disease=disease)
    return cases.select_related("health_centre").order_by("-created_at", "-pk")


def transfer_targets(*, case: Case) -> QuerySet[HealthCentre]:
    """Every other health centre, of any body: a case may move to another prefecture's centre."""
    return HealthCentre.objects.exclude(pk=case.health_centre_id).order_by("pk")


def health_centre_get(*, pk: int) -> HealthCentre | None:
    """A health centre of any body, as a transfer target (None when unknown)."""
    return HealthCentre.objects.filter(pk=pk).first()


def case_get(*, municipality: Municipality, centres: list[HealthCentre], pk: int) -> Case | None:
    return case_list(municipality=municipality, centres=centres).filter(pk=pk).first()


def worklist(*, municipality: Municipality, centres: list[HealthCentre]) -> QuerySet[Alert]:
    """Open alerts, the most severe first, then the oldest."""
    return (
        Alert.objects.filter(
            municipality=municipality, case__health_centre__in=centres, acknowledged_at__isnull=True
        )
        .select_related("case")
        .order_by("severity", "created_at", "pk")
    )


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """The open alerts of one kind for one case, folded into one row of the worklist."""

    case: Case
    rule_code: str
    severity: int
    count: int
    first_day: datetime.date
    latest_at: datetime.datetime
    last_report_at: datetime.datetime | None  # the case's latest self-report, any day


def worklist_rows(
    *, municipality: Municipality, centres: list[HealthCentre], limit: int = 500
) -> list[WorklistRow]:
    """Open alerts folded per case and kind: the most severe first, then the longest waiting.

    A case reporting SpO2 ≤ 93 % for 30 days is one row with a count of 30, not 30 rows.
    """
    groups = list(
        worklist(municipality=municipality, centres=centres)
        .order_by()
        .values("case_id", "rule_code")
        .annotate(
            n=Count("pk"),
            severity_min=Min("severity"),
            first=Min("created_at"),
            first_day=Min("day"),
            latest=Max("created_at"),
        )
        .order_by("severity_min", "first", "case_id")[:limit]
    )
    ids = {g["case_id"] for g in groups}
    cases = Case.objects.filter(municipality=municipality, pk__in=ids).in_bulk()
    reported = dict(
        SelfReport.objects.filter(municipality=municipality, case_id__in=ids)
        .values("case_id")
        .annotate(last=Max("updated_at"))
        .values_list("case_id", "last")
    )
    return [
        WorklistRow(
            case=cases[g["case_id"]],
            rule_code=g["rule_code"],
            severity=g["severity_min"],
            count=g["n"],
            first_day=g["first_day"],
            latest_at=g["latest"],
            last_report_at=reported.get(g["case_id"]),
        )
        for g in groups
        if g["case_id"] in cases
    ]


def not_reported(
    *, municipality: Municipality, centres: list[HealthCentre], day: datetime.date
) -> QuerySet[Case]:
    """Observed cases with no report on ``day`` (the morning phone list).

    Only diseases with daily self-reports: a 麻しん case is never on this list.
    """
    return (
        Case.objects.filter(
            municipality=municipality,
            health_centre__in=centres,
            disease__in=disease_codes(self_reports=True),
            status=CaseStatus.OBSERVING,
            day_zero__lt=day,
            observation_end__gte=day,
        )
        .exclude(reports__report_date=day)
        .order_by("pk")
    )


def daily_counts_by_age_band(
    *,
    municipality: Municipality,
    day_from: datetime.date,
    day_to: datetime.date,
    residence_code: str = "",
) -> dict[datetime.date, dict[str, int]]:
    """New COVID-19 cases by day and age band for a body: notified cases plus the clinics' counts.

    Other diseases are not counted here (the counts belong to the four-groups rule). With
    ``residence_code``, only the notified cases living in that town (the clinics' counts
    carry no address). Only counts: nothing here identifies a person.
    """
    out: dict[datetime.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    cases = Case.objects.filter(
        municipality=municipality,
        disease=COVID19,
        created_at__date__gte=day_from,
        created_at__date__lte=day_to,
    )
    if residence_code:
        cases = cases.filter(residence_code=residence_code)
    for row in cases.values("created_at__date", "age_band").annotate(n=Count("pk")):
        out[row["created_at__date"]][row["age_band"]] += row["n"]
    if not residence_code:
        counts = AgeBandCount.objects.filter(
            municipality=municipality, day__gte=day_from, day__lte=day_to
        )
        for row in counts.values("day", "age_band").annotate(n=Sum("count")):
            out[row["day"]][row["age_band"]] += row["n"] or 0
    return {day: dict(bands) for day, bands in sorted(out.items())}


def bodies_with_health_centres() -> list[Municipality]:
    """Every body that runs at least one health centre."""
    return list(Municipality.objects.filter(pk__in=HealthCentre.objects.values("municipality")))


def four_groups_only(*, municipality: Municipality) -> bool:
    """Whether the body's health centres take 発生届 only for the four groups."""
    return SurveillanceSetting.objects.filter(
        municipality=municipality, four_groups_only=True
    ).exists()


def case_accesses(*, case: Case) -> list[tuple[datetime.datetime, str, str]]:
    """Who looked at the case page ("who looked" for the patient): when, department, purpose.

    Covers every body that held the case (a transferred case was looked at in both).
    """
    bodies = {case.municipality, *(t.from_centre.municipality for t in case.transfers.all())}
    rows: list[tuple[datetime.datetime, str, str]] = []
    for body in bodies:
        entries = audit_entries_for_object(
            municipality=body,
            object_type="surveillance.case",
            object_id=str(case.pk),
            kind=EntryKind.ACCESS,
        )
        rows.extend((e.created_at, e.department_label, e.purpose) for e in entries)
    return sorted(rows)


def publish_sex(*, municipality: Municipality) -> bool:
    """Whether the body publishes 患者_性別 in its open data."""
    return SurveillanceSetting.objects.filter(municipality=municipality, publish_sex=True).exists()


def case_self_reports(*, case: Case) -> QuerySet[SelfReport]:
    """The case's daily self-reports, the latest day first."""
    return SelfReport.objects.filter(municipality=case.municipality, case=case).order_by(
        "-report_date"
    )


def behaviour_history(*, case: Case) -> list[BehaviourEntry]:
    """The case's 行動歴, oldest day first (the day is encrypted, so sorted here)."""
    entries = list(BehaviourEntry.objects.filter(municipality=case.municipality, case=case))
    return sorted(entries, key=lambda e: (e.day, e.pk))


def case_certificates(*, case: Case) -> QuerySet[Certificate]:
    """療養証明書 issued for the case, newest first."""
    return Certificate.objects.filter(municipality=case.municipality, case=case).order_by("-pk")


def is_centre_member(
    *, municipality: Municipality, user_id: int, departments: list[Department] | None
) -> bool:
    """Whether a staff member may open the body's health-centre pages.

    ``departments`` are the member's departments, None for a municipality-wide member; the
    same rule as the pages themselves (a clinic account never counts).
    """
    if Clinic.objects.filter(user_id=user_id).exists():
        return False
    centres = HealthCentre.objects.filter(municipality=municipality)
    if departments is not None:
        centres = centres.filter(department__in=departments)
    return centres.exists()


def case_active_count(*, municipality: Municipality, department: Department) -> int:
    """Cases under observation at the health centre that is ``department`` (0 for others)."""
    return Case.objects.filter(
        municipality=municipality,
        health_centre__department=department,
        status=CaseStatus.OBSERVING,
    ).count()
