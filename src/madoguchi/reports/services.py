"""Writes of reports: filing with photos, routing, status changes and merging duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.ratelimit import ratelimit_hit
from madoguchi.procedures.receipts import (
    ReceiptFormatError,
    lookup_secret_hash,
    lookup_secret_matches,
    lookup_secret_new,
    receipt_number_new,
    receipt_number_parse,
)
from madoguchi.reports.errors import ErrorCode, ReportError
from madoguchi.reports.models import (
    LocationSource,
    Report,
    ReportArea,
    ReportCategory,
    ReportPhoto,
    ReportRoute,
    ReportStatus,
)
from madoguchi.reports.photos import CleanPhoto, PhotoError, photo_clean
from madoguchi.reports.workflow import transition_allowed
from madoguchi.tenants.models import Department, Municipality

__all__ = [
    "FiledReport",
    "area_save",
    "category_save",
    "report_file",
    "report_lookup",
    "report_merge",
    "report_transition",
    "route_delete",
    "route_department",
    "route_save",
]

MAX_PHOTOS = 4


@dataclass(frozen=True, slots=True)
class FiledReport:
    report: Report
    secret: str


def route_department(*, category: ReportCategory, area: ReportArea | None) -> Department | None:
    """The responsible department: the most specific route wins.

    The route of (category, area), else the category's route for every area, else the
    category's own department (None when it has none: the report then waits for staff who
    see the whole municipality).
    """
    routes = ReportRoute.objects.filter(category=category).select_related("department")
    if area is not None:
        route = routes.filter(area=area).first()
        if route is not None:
            return route.department
    route = routes.filter(area__isnull=True).first()
    if route is not None:
        return route.department
    return category.department


def report_file(
    *,
    municipality: Municipality,
    category_code: str,
    description: str,
    photos: list[bytes] | None = None,
    area_id: int | None = None,
    address: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    email: str = "",
    actor: AuditActor,
) -> FiledReport:
    """File a report. The location is the first photo's GPS position when it has one, else the
    map pin, else the address or the chosen area (one of them is required)."""
    category = ReportCategory.objects.filter(
        municipality=municipality, code=category_code, active=True
    ).first()
    if category is None:
        raise ReportError(ErrorCode.CATEGORY_UNKNOWN, field="category")
    if not description.strip():
        raise ReportError(ErrorCode.DESCRIPTION_REQUIRED, field="description")
    area = None
    if area_id is not None:
        area = ReportArea.objects.filter(municipality=municipality, pk=area_id).first()
        if area is None:
            raise ReportError(ErrorCode.AREA_UNKNOWN, field="area")
    if len(photos or []) > MAX_PHOTOS:
        raise ReportError(ErrorCode.TOO_MANY_PHOTOS, field="photos")
    cleaned: list[CleanPhoto] = []
    for data in photos or []:
        try:
            cleaned.append(photo_clean(data))
        except PhotoError:
            raise ReportError(ErrorCode.PHOTO_UNREADABLE, field="photos") from None
    located = next((p for p in cleaned if p.latitude is not None), None)
    if located is not None:
        latitude, longitude, source = located.latitude, located.longitude, LocationSource.PHOTO
    elif latitude is not None and longitude is not None:
        source = LocationSource.PIN
    elif address.strip():
        latitude = longitude = None
        source = LocationSource.ADDRESS
    elif area is not None:
        latitude = longitude = None
        source = LocationSource.AREA
    else:
        raise ReportError(ErrorCode.LOCATION_REQUIRED, field="address")
    with transaction.atomic():
        for _attempt in range(5):
            number = receipt_number_new()
            secret = lookup_secret_new()
            try:
                with transaction.atomic():
                    report = Report.objects.create(
                        municipality=municipality,
                        category=category,
                        department=route_department(category=category, area=area),
                        area=area,
                        address=address.strip(),
                        latitude=latitude,
                        longitude=longitude,
                        location_source=source,
                        description=description.strip(),
                        email=email,
                        receipt_number=number,
                        secret_hash=lookup_secret_hash(number, secret),
                    )
                break
            except IntegrityError:
                continue
        else:
            raise RuntimeError("no free receipt number after 5 attempts")
        for n, photo in enumerate(cleaned, start=1):
            stored = ReportPhoto(report=report, width=photo.width, height=photo.height)
            stored.image.save(f"photo-{n}.{photo.extension}", ContentFile(photo.data), save=False)
            stored.save()
        audit_event(
            municipality=municipality,
            action="reports.report.file",
            actor=actor,
            obj=report,
            data={"category": category.code, "photos": len(cleaned), "location": source},
        )
    return FiledReport(report, secret)


def report_lookup(
    *, municipality: Municipality, receipt_text: str, secret_text: str, client: str
) -> Report:
    """The report proven by its receipt number and code (LOOKUP_FAILED otherwise); at most
    ``STATUS_LOOKUP_RATE_PER_CLIENT`` tries a minute per client (RATE_LIMITED)."""
    limit = ratelimit_hit(
        f"reports:lookup:{client}",
        limit=settings.STATUS_LOOKUP_RATE_PER_CLIENT,
        window_seconds=60,
    )
    if not limit.allowed:
        raise ReportError(ErrorCode.RATE_LIMITED)
    try:
        number = receipt_number_parse(receipt_text)
    except ReceiptFormatError:
        raise ReportError(ErrorCode.LOOKUP_FAILED, field="receipt_number") from None
    report = Report.objects.filter(municipality=municipality, receipt_number=number).first()
    if report is None or not lookup_secret_matches(number, secret_text, report.secret_hash):
        raise ReportError(ErrorCode.LOOKUP_FAILED, field="secret")
    return report


def report_transition(
    *, municipality: Municipality, report_id: int, status: str, note: str = "", actor: AuditActor
) -> Report:
    with transaction.atomic():
        report = (
            Report.objects.select_for_update()
            .filter(municipality=municipality, pk=report_id)
            .first()
        )
        if report is None or not transition_allowed(report.status, status):
            raise ReportError(ErrorCode.TRANSITION_NOT_ALLOWED, field="status")
        before = report.status
        report.status = status
        report.public_note = note[:500]
        report.save(update_fields=["status", "public_note", "changed_at"])
        audit_event(
            municipality=municipality,
            action="reports.report.transition",
            actor=actor,
            obj=report,
            data={"from": before, "to": status},
        )
    return report


def report_merge(
    *, municipality: Municipality, report_id: int, into_id: int, actor: AuditActor
) -> Report:
    """Mark ``report_id`` a duplicate of the open report ``into_id``; its reporter then follows
    the status of the one it was merged into."""
    if report_id == into_id:
        raise ReportError(ErrorCode.MERGE_INVALID, field="into")
    with transaction.atomic():
        rows = {
            r.pk: r
            for r in Report.objects.select_for_update().filter(
                municipality=municipality, pk__in=[report_id, into_id]
            )
        }
        report, into = rows.get(report_id), rows.get(into_id)
        if (
            report is None
            or into is None
            or into.status == ReportStatus.DUPLICATE
            or report.status == ReportStatus.DUPLICATE
        ):
            raise ReportError(ErrorCode.MERGE_INVALID, field="into")
        report.status = ReportStatus.DUPLICATE
        report.duplicate_of = into
        report.save(update_fields=["status", "duplicate_of", "changed_at"])
        audit_event(
            municipality=municipality,
            action="reports.report.merge",
            actor=actor,
            obj=report,
            data={"into": into.pk},
        )
    return report


def category_save(
    *,
    municipality: Municipality,
    code: str,
    name: str,
    name_en: str,
    department_id: int | None,
    active: bool,
    actor: AuditActor,
) -> ReportCategory:
    """Add a category, or change the one of the same code (the code itself never changes)."""
    department = None
    if department_id is not None:
        department = Department.objects.filter(municipality=municipality, pk=department_id).first()
        if department is None:
            raise ReportError(ErrorCode.DEPARTMENT_UNKNOWN, field="department")
    with transaction.atomic():
        category, created = ReportCategory.objects.select_for_update().get_or_create(
            municipality=municipality,
            code=code,
            defaults={"name": name, "name_en": name_en, "department": department, "active": active},
        )
        if not created:
            category.name, category.name_en = name, name_en
            category.department, category.active = department, active
            category.save(update_fields=["name", "name_en", "department", "active"])
        audit_event(
            municipality=municipality,
            action="reports.category.create" if created else "reports.category.change",
            actor=actor,
            obj=category,
            data={
                "code": code,
                "name": name,
                "name_en": name_en,
                "department": department.code if department else "",
                "active": active,
            },
        )
    return category


def area_save(
    *,
    municipality: Municipality,
    area_id: int | None,
    name: str,
    name_en: str = "",
    actor: AuditActor,
) -> ReportArea:
    """Add an area (``area_id`` None) or rename one of the municipality's areas; ``name_en`` is
    shown on English pages (blank: the Japanese name)."""
    with transaction.atomic():
        if area_id is None:
            area = ReportArea.objects.create(municipality=municipality, name=name, name_en=name_en)
            action = "reports.area.create"
        else:
            found = (
                ReportArea.objects.select_for_update()
                .filter(municipality=municipality, pk=area_id)
                .first()
            )
            if found is None:
                raise ReportError(ErrorCode.AREA_UNKNOWN, field="area")
            area = found
            area.name, area.name_en = name, name_en
            area.save(update_fields=["name", "name_en"])
            action = "reports.area.change"
        audit_event(
            municipality=municipality,
            action=action,
            actor=actor,
            obj=area,
            data={"name": name, "name_en": name_en},
        )
    return area


def route_save(
    *,
    municipality: Municipality,
    category_id: int,
    area_id: int | None,
    department_id: int,
    actor: AuditActor,
) -> ReportRoute:
    """Send reports of a category in an area (None: in every area) to a department.

    Saving the same (category, area) again changes its department. Reports already filed keep
    their department; only new reports follow the change.
    """
    category = ReportCategory.objects.filter(municipality=municipality, pk=category_id).first()
    if category is None:
        raise ReportError(ErrorCode.CATEGORY_UNKNOWN, field="category")
    area = None
    if area_id is not None:
        area = ReportArea.objects.filter(municipality=municipality, pk=area_id).first()
        if area is None:
            raise ReportError(ErrorCode.AREA_UNKNOWN, field="area")
    department = Department.objects.filter(municipality=municipality, pk=department_id).first()
    if department is None:
        raise ReportError(ErrorCode.DEPARTMENT_UNKNOWN, field="department")
    with transaction.atomic():
        route = (
            ReportRoute.objects.select_for_update(of=("self",))
            .filter(category=category, area=area)
            .select_related("department")
            .first()
        )
        before = route.department.code if route is not None else ""
        if route is None:
            route = ReportRoute.objects.create(category=category, area=area, department=department)
            action = "reports.route.create"
        else:
            route.department = department
            route.save(update_fields=["department"])
            action = "reports.route.change"
        audit_event(
            municipality=municipality,
            action=action,
            actor=actor,
            obj=route,
            data={
                "category": category.code,
                "area": area.name if area is not None else "",
                "department": department.code,
                "before": before,
            },
        )
    return route


def route_delete(*, municipality: Municipality, route_id: int, actor: AuditActor) -> None:
    """Remove a route; reports of its category and area then go to the next matching one."""
    with transaction.atomic():
        route = (
            ReportRoute.objects.select_for_update(of=("self",))
            .filter(pk=route_id, category__municipality=municipality)
            .select_related("category", "area", "department")
            .first()
        )
        if route is None:
            raise ReportError(ErrorCode.ROUTE_UNKNOWN, field="route")
        audit_event(
            municipality=municipality,
            action="reports.route.delete",
            actor=actor,
            obj=route,
            data={
                "category": route.category.code,
                "area": route.area.name if route.area is not None else "",
                "department": route.department.code,
            },
        )
        route.delete()
