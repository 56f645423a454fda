"""Pages of the case register: the clinic's notification form and the patient's self-report."""

from __future__ import annotations

import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.services import AuditActor
from madoguchi.surveillance import selectors, services
from madoguchi.surveillance.access import clinic_view
from madoguchi.surveillance.diseases import COVID19, DISEASES
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.forms import AgeBandCountForm, NotificationForm, SelfReportForm
from madoguchi.surveillance.intake import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    CsvRowResult,
    notification_csv_import,
)
from madoguchi.surveillance.models import Case, Clinic, ReportLink
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality


def _actor(staff: StaffContext, clinic: Clinic) -> AuditActor:
    return AuditActor(user=staff.user, ip=staff.ip, department=clinic.health_centre.department)


@require_safe
@clinic_view
def clinic_home(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, clinic: Clinic
) -> HttpResponse:
    """Choose the disease (COVID-19 unless ``?disease=`` names another), then the 類型."""
    notifications = selectors.clinic_notifications(clinic=clinic)[:50]
    disease = DISEASES.get(request.GET.get("disease", "")) or DISEASES[COVID19]
    return render(
        request,
        "surveillance/clinic_home.html",
        {
            "municipality": municipality,
            "clinic": clinic,
            "notifications": notifications,
            "diseases": list(DISEASES.values()),
            "disease": disease,
            "categories": disease.category_choices(),
        },
    )


@require_http_methods(["GET", "POST"])
@clinic_view
def notification_new(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    clinic: Clinic,
    category: str,
    disease: str = COVID19,
) -> HttpResponse:
    """The 発生届 form of one disease and 類型 (``clinic/new/<類型>/`` is COVID-19)."""
    entry = DISEASES.get(disease)
    if entry is None:
        return render(request, "404.html", {"message": _("疾患が正しくありません。")}, status=404)
    spec = entry.category(category)
    if spec is None:
        return render(request, "404.html", {"message": _("類型が正しくありません。")}, status=404)
    searching = "residence_search" in request.POST
    form = NotificationForm(
        request.POST or None,
        category=category,
        disease=disease,
        prefecture=clinic.health_centre.municipality.code[:2],
        searching=searching,
    )
    done = None
    if request.method == "POST" and not searching and form.is_valid():
        try:
            done = services.notification_submit(
                clinic=clinic, data=form.to_input(), actor=_actor(staff, clinic)
            )
        except services.NotificationInvalidError as exc:
            for error in exc.errors:
                # The place is typed into 「所在地の市区町村」; the code is only its candidate.
                name = "residence" if error.field == "residence_code" else error.field
                form.add_error(name if name in form.fields else None, error.message)
    if done is not None:
        return render(
            request,
            "surveillance/notification_done.html",
            {"municipality": municipality, "clinic": clinic, "result": done},
        )
    return render(
        request,
        "surveillance/notification_form.html",
        {
            "municipality": municipality,
            "clinic": clinic,
            "form": form,
            "disease": entry,
            "category_label": spec.label,
        },
        status=400 if request.method == "POST" and not searching else 200,
    )


@require_http_methods(["GET", "POST"])
@clinic_view
def age_band_counts(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, clinic: Clinic
) -> HttpResponse:
    form = AgeBandCountForm(request.POST or None, initial={"day": timezone.localdate()})
    saved = None
    if request.method == "POST" and form.is_valid():
        day: datetime.date = form.cleaned_data["day"]
        try:
            saved = services.age_band_counts_submit(
                clinic=clinic, day=day, counts=form.counts(), actor=_actor(staff, clinic)
            )
        except SurveillanceError as exc:
            form.add_error(None, exc.message)
    return render(
        request,
        "surveillance/age_band_counts.html",
        {"municipality": municipality, "clinic": clinic, "form": form, "saved": saved},
        status=400 if request.method == "POST" and saved is None else 200,
    )


def _refused(
    request: HttpRequest, municipality: Municipality, message: str, status: int
) -> HttpResponse:
    return render(
        request,
        "surveillance/report_refused.html",
        {"municipality": municipality, "message": message},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@municipality_view
def self_report(request: HttpRequest, municipality: Municipality, token: str) -> HttpResponse:
    """The patient's daily report; one page per person on the household's link."""
    try:
        link = services.report_link_resolve(municipality=municipality, token=token)
    except SurveillanceError as exc:
        status = 410 if exc.code == ErrorCode.LINK_EXPIRED else 404
        return _refused(request, municipality, exc.message, status)
    cases = list(link.cases.order_by("pk"))
    person = _person(request, cases)
    if person is None:
        return _refused(request, municipality, _("このリンクでは報告できない方です。"), 404)
    today = timezone.localdate()
    form = SelfReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.self_report_submit(
                link=link,
                case=person,
                day=today,
                values={k: str(v) for k, v in form.cleaned_data.items() if isinstance(v, str)},
                urgent_signs=form.cleaned_data["urgent_signs"],
                message=form.cleaned_data["message"],
            )
        except SurveillanceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            page = "report_urgent.html" if outcome.urgent else "report_done.html"
            done = _report_context(municipality, link, token, cases, person)
            done["temperature"] = outcome.report.items["temperature"]
            return render(request, f"surveillance/{page}", done)
    context = _report_context(municipality, link, token, cases, person)
    context["form"] = form
    context["already"] = person.reports.filter(report_date=today).exists()
    context["accesses"] = selectors.case_accesses(case=person)
    context["line_linking"] = services.line_linking_available(municipality=municipality)
    return render(
        request,
        "surveillance/report_form.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


def _person(request: HttpRequest, cases: list[Case]) -> Case | None:
    raw = request.GET.get("person") or request.POST.get("person") or ""
    if not raw:
        return cases[0] if cases else None
    return next((c for c in cases if str(c.pk) == raw), None)


def _report_context(
    municipality: Municipality, link: ReportLink, token: str, cases: list[Case], person: Case
) -> dict[str, object]:
    url = reverse(
        "surveillance:self-report", kwargs={"municipality_slug": municipality.slug, "token": token}
    )
    return {
        "municipality": municipality,
        "url": url,
        "people": cases,
        "person": person,
        "urgent": selectors.urgent_contact(centre=person.health_centre),
        "centre_name": person.health_centre.name,
        "expires_at": link.expires_at,
    }


_MAX_CSV_BYTES = 2 * 1024 * 1024


@require_http_methods(["GET", "POST"])
@clinic_view
def notification_csv(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, clinic: Clinic
) -> HttpResponse:
    """Upload a CSV batch; the page lists each row's outcome."""
    results: list[CsvRowResult] = []
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None or upload.size is None or upload.size > _MAX_CSV_BYTES:
            error = _("2MBまでのCSVファイルを選んでください。")
        else:
            try:
                results = notification_csv_import(
                    clinic=clinic, content=upload.read(), actor=_actor(staff, clinic)
                )
            except ValueError as exc:
                error = str(exc)
    return render(
        request,
        "surveillance/notification_csv.html",
        {
            "municipality": municipality,
            "clinic": clinic,
            "columns": list(COLUMNS),
            "optional_columns": list(OPTIONAL_COLUMNS),
            "results": results,
            "filed": sum(1 for r in results if not r.errors),
            "error": error,
        },
        status=400 if error else 200,
    )
