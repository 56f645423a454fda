"""Staff pages of reports: the department's queue, a report with its status and merge, and the
admin's setup of categories and areas."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.services import audit_access
from madoguchi.core.uploads import open_stored
from madoguchi.reports import selectors, services
from madoguchi.reports.errors import ErrorCode, ReportError
from madoguchi.reports.errors import error_message as report_error_message
from madoguchi.reports.forms import AreaForm, CategoryForm, RouteForm
from madoguchi.reports.models import Report, ReportArea, ReportCategory, ReportStatus
from madoguchi.reports.workflow import TRANSITIONS
from madoguchi.tenants.models import Department, Municipality, Role

logger = logging.getLogger(__name__)

READ_PURPOSE = "通報への対応"
WORKERS = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK)


def _departments(staff: StaffContext) -> list[Department] | None:
    wide = any(m.department_id is None for m in staff.memberships)
    return None if wide else staff.departments


def reports_allowed(staff: StaffContext) -> bool:
    return selectors.works_on_reports(
        municipality=staff.municipality, departments=_departments(staff)
    )


def error_message(code: ErrorCode) -> str:
    messages = {
        ErrorCode.TRANSITION_NOT_ALLOWED: _("この状態には変更できません。"),
        ErrorCode.MERGE_INVALID: _("統合先の受付番号を確認してください（対応中の別の通報）。"),
    }
    return str(messages.get(code, _("入力内容を確認してください。")))


@require_safe
@staff_view()
def queue(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    if not reports_allowed(staff):
        raise PermissionDenied("no report categories for this member's departments")
    reports = list(
        selectors.staff_queue(municipality=municipality, departments=_departments(staff))
    )
    return render(request, "reports/queue.html", {"municipality": municipality, "reports": reports})


def _report_for(staff: StaffContext, municipality: Municipality, pk: int) -> Report:
    report = selectors.staff_queue_all(municipality=municipality, departments=_departments(staff))
    found = report.filter(pk=pk).first()
    if found is None:
        raise PermissionDenied("not a report of this member's departments")
    return found


@require_http_methods(["GET", "POST"])
@staff_view()
def detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int
) -> HttpResponse:
    report = _report_for(staff, municipality, pk)
    error = ""
    status = 200
    if request.method == "POST":
        if not staff.has_role(WORKERS, report.department):
            raise PermissionDenied("viewers do not handle reports")
        actor = staff.actor(report.department)
        try:
            if request.POST.get("action") == "merge":
                into = (
                    Report.objects.filter(
                        municipality=municipality,
                        receipt_number=request.POST.get("into", "").replace("-", "").strip(),
                    )
                    .values_list("pk", flat=True)
                    .first()
                )
                services.report_merge(
                    municipality=municipality, report_id=report.pk, into_id=into or 0, actor=actor
                )
            else:
                services.report_transition(
                    municipality=municipality,
                    report_id=report.pk,
                    status=request.POST.get("status", ""),
                    note=request.POST.get("note", ""),
                    actor=actor,
                )
        except ReportError as refused:
            error = error_message(refused.code)
            status = 400
        else:
            return HttpResponseRedirect(
                reverse(
                    "reports_staff:detail",
                    kwargs={"municipality_slug": municipality.slug, "pk": report.pk},
                )
            )
    audit_access(
        municipality=municipality,
        actor=staff.actor(report.department),
        purpose=READ_PURPOSE,
        obj=report,
    )
    choices = [(s, ReportStatus(s).label) for s in sorted(TRANSITIONS.get(report.status, ()))]
    return render(
        request,
        "reports/detail.html",
        {
            "municipality": municipality,
            "report": report,
            "choices": choices,
            "error": error,
            "photos": report.photos.all(),
        },
        status=status,
    )


@require_safe
@staff_view()
def photo(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, pk: int, photo_id: int
) -> HttpResponse:
    """A stored (EXIF-free) photo of a report, to staff of the report's departments only."""
    report = _report_for(staff, municipality, pk)
    stored = report.photos.filter(pk=photo_id).first()
    if stored is None:
        raise Http404("no such photo")
    audit_access(
        municipality=municipality,
        actor=staff.actor(report.department),
        purpose=READ_PURPOSE,
        obj=stored,
        action="view_photo",
    )
    try:
        # Through the file storage, with the name from the database checked first.
        with open_stored(stored.image.name) as handle:
            data = handle.read()
    except (ValueError, FileNotFoundError):
        logger.error("report photo %s cannot be read from the file storage", stored.pk)
        raise Http404("no such photo") from None
    kind = "image/png" if stored.image.name.endswith(".png") else "image/jpeg"
    response = HttpResponse(data, content_type=kind)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def setup(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    """Categories (with their department), areas residents choose from, and the routes that
    send a category's reports in an area to another department."""
    which = request.POST.get("form", "") if request.method == "POST" else ""
    category_form = CategoryForm(
        request.POST if which == "category" else None, municipality=municipality, prefix="category"
    )
    area_form = AreaForm(
        request.POST if which == "area" else None, municipality=municipality, prefix="area"
    )
    route_form = RouteForm(
        request.POST if which == "route" else None, municipality=municipality, prefix="route"
    )
    error = ""
    if request.method == "POST":
        try:
            if which == "category" and category_form.is_valid():
                data = category_form.cleaned_data
                services.category_save(
                    municipality=municipality,
                    code=data["code"],
                    name=data["name"].strip(),
                    name_en=data["name_en"].strip(),
                    department_id=data["department"],
                    active=data["active"],
                    actor=staff.actor(),
                )
                return HttpResponseRedirect(_setup_url(municipality))
            if which == "area" and area_form.is_valid():
                services.area_save(
                    municipality=municipality,
                    area_id=area_form.cleaned_data["area"],
                    name=area_form.cleaned_data["name"].strip(),
                    name_en=area_form.cleaned_data["name_en"].strip(),
                    actor=staff.actor(),
                )
                return HttpResponseRedirect(_setup_url(municipality))
            if which == "route" and route_form.is_valid():
                services.route_save(
                    municipality=municipality,
                    category_id=route_form.cleaned_data["category"],
                    area_id=route_form.cleaned_data["area"],
                    department_id=route_form.cleaned_data["department"],
                    actor=staff.actor(),
                )
                return HttpResponseRedirect(_setup_url(municipality) + "#routes")
            if which == "route_delete":
                route_id = request.POST.get("route", "")
                services.route_delete(
                    municipality=municipality,
                    route_id=int(route_id) if route_id.isdigit() else 0,
                    actor=staff.actor(),
                )
                return HttpResponseRedirect(_setup_url(municipality) + "#routes")
            if which not in ("category", "area", "route"):
                error = str(_("入力内容を確認してください。"))
        except ReportError as refused:
            error = report_error_message(refused.code)
    return render(
        request,
        "reports/setup.html",
        {
            "municipality": municipality,
            "category_form": category_form,
            "area_form": area_form,
            "route_form": route_form,
            "error": error,
            "categories": ReportCategory.objects.filter(municipality=municipality)
            .select_related("department")
            .order_by("code"),
            "areas": ReportArea.objects.filter(municipality=municipality).order_by("name"),
            "routes": selectors.route_list(municipality=municipality),
        },
        status=400 if request.method == "POST" else 200,
    )


def _setup_url(municipality: Municipality) -> str:
    return reverse("reports_staff:setup", kwargs={"municipality_slug": municipality.slug})
