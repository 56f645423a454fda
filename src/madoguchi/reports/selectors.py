"""Reads of reports, always for one municipality."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from madoguchi.reports.models import OPEN, Report, ReportCategory, ReportRoute, ReportStatus
from madoguchi.tenants.models import Department, Municipality

__all__ = [
    "PublicReport",
    "nearby_recent",
    "public_open_reports",
    "report_status",
    "route_list",
    "staff_queue",
    "staff_queue_all",
    "works_on_reports",
]


@dataclass(frozen=True, slots=True)
class PublicReport:
    """What anyone may see of a report: no description, no e-mail, no photo."""

    category: str
    area: str
    status: str
    latitude: Decimal | None
    longitude: Decimal | None
    created: datetime.date


def public_open_reports(*, municipality: Municipality, limit: int = 200) -> list[PublicReport]:
    rows = (
        Report.objects.filter(municipality=municipality, status__in=OPEN)
        .select_related("category", "area")
        .order_by("-created_at")[:limit]
    )
    language = get_language() or "ja"
    return [
        PublicReport(
            r.category.label(language),
            r.area.label(language) if r.area else "",
            r.get_status_display(),
            # Rounded to about 100 m: enough to see the place, not a doorstep.
            round(r.latitude, 3) if r.latitude is not None else None,
            round(r.longitude, 3) if r.longitude is not None else None,
            timezone.localtime(r.created_at).date(),
        )
        for r in rows
    ]


def nearby_recent(
    *,
    municipality: Municipality,
    category_id: int,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    area_id: int | None = None,
    days: int = 14,
    radius_degrees: Decimal = Decimal("0.002"),  # about 200 m
) -> QuerySet[Report]:
    """Open reports of the same category filed lately close by (same area, or within ~200 m),
    to hint a resident that the problem may already be known."""
    since = timezone.now() - datetime.timedelta(days=days)
    reports = Report.objects.filter(
        municipality=municipality,
        category_id=category_id,
        status__in=OPEN,
        created_at__gte=since,
    )
    if latitude is not None and longitude is not None:
        return reports.filter(
            latitude__range=(latitude - radius_degrees, latitude + radius_degrees),
            longitude__range=(longitude - radius_degrees, longitude + radius_degrees),
        )
    if area_id is not None:
        return reports.filter(area_id=area_id)
    return reports.none()


def report_status(*, report: Report) -> tuple[str, str]:
    """(status label, public note) the reporter sees; a duplicate follows the report it joined."""
    followed = report
    seen = {report.pk}
    while followed.status == ReportStatus.DUPLICATE and followed.duplicate_of is not None:
        followed = followed.duplicate_of
        if followed.pk in seen:
            break
        seen.add(followed.pk)
    return followed.get_status_display(), followed.public_note


def staff_queue(
    *, municipality: Municipality, departments: list[Department] | None
) -> QuerySet[Report]:
    """Open reports of the departments (None: the whole municipality), oldest first."""
    reports = Report.objects.filter(municipality=municipality, status__in=OPEN)
    if departments is not None:
        reports = reports.filter(department__in=departments)
    return reports.select_related("category", "area", "department").order_by("created_at")


def staff_queue_all(
    *, municipality: Municipality, departments: list[Department] | None
) -> QuerySet[Report]:
    """Every report (open or not) of the departments (None: the whole municipality)."""
    reports = Report.objects.filter(municipality=municipality)
    if departments is not None:
        reports = reports.filter(department__in=departments)
    return reports.select_related("category", "area", "department")


def works_on_reports(*, municipality: Municipality, departments: list[Department] | None) -> bool:
    """Whether a category is routed to one of the departments (None: any category at all)."""
    categories = ReportCategory.objects.filter(municipality=municipality)
    if departments is None:
        return categories.exists()
    return categories.filter(
        Q(department__in=departments) | Q(routes__department__in=departments)
    ).exists()


def route_list(*, municipality: Municipality) -> QuerySet[ReportRoute]:
    """The municipality's routes by category, the every-area route of each category first."""
    return (
        ReportRoute.objects.filter(category__municipality=municipality)
        .select_related("category", "area", "department")
        .order_by("category__code", F("area__name").asc(nulls_first=True))
    )
