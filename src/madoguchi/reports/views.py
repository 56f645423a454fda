"""Resident pages: file a report without an account, follow it by receipt number and code, and
see the open reports of the town. Every page works without JavaScript."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip, client_key
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.reports import selectors, services
from madoguchi.reports.errors import ErrorCode, ReportError, error_message
from madoguchi.reports.forms import MAX_PHOTO_BYTES, LookupForm, ReportForm
from madoguchi.reports.map import public_map
from madoguchi.reports.models import ReportCategory
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def _resident(request: HttpRequest) -> AuditActor:
    return AuditActor(ip=client_ip(request), label="resident")


@require_safe
@municipality_view
def open_list(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    """The open reports as a list, and as a map above it when a tile server is configured."""
    reports = selectors.public_open_reports(municipality=municipality)
    drawn = None
    if settings.REPORTS_MAP_TILE_URL:
        drawn = public_map(
            [(r.latitude, r.longitude) for r in reports], tile_url=settings.REPORTS_MAP_TILE_URL
        )
    return render(
        request,
        "reports/open_list.html",
        {
            "municipality": municipality,
            "reports": reports,
            "map": drawn,
            "attribution": settings.REPORTS_MAP_ATTRIBUTION,
        },
    )


def _hints(municipality: Municipality, form: ReportForm) -> int:
    """How many open reports of the chosen category were filed lately in the chosen area."""
    code = form.data.get("category", "")
    area = form.data.get("area", "")
    category = ReportCategory.objects.filter(municipality=municipality, code=code).first()
    if category is None or not str(area).isdigit():
        return 0
    return selectors.nearby_recent(
        municipality=municipality, category_id=category.pk, area_id=int(area)
    ).count()


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def file_report(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    form = ReportForm(
        request.POST if request.method == "POST" else None,
        municipality=municipality,
        english=_english(),
    )
    error = ""
    status = 200
    hints = 0
    if request.method == "POST" and request.POST.get("action") == "check":
        # "Look for similar reports": show the hint, keep everything entered.
        hints = _hints(municipality, form)
        return render(
            request,
            "reports/file.html",
            {
                "municipality": municipality,
                "form": ReportForm(
                    initial=request.POST.dict(), municipality=municipality, english=_english()
                ),
                "hints": hints,
                "checked": True,
            },
        )
    if request.method == "POST" and form.is_valid():
        uploads = request.FILES.getlist("photos")
        if any((f.size or 0) > MAX_PHOTO_BYTES for f in uploads):
            error = _("写真が大きすぎます。1枚10MB以内にしてください。")
            form.add_error(None, error)
            status = 400
        else:
            data = form.cleaned_data
            try:
                filed = services.report_file(
                    municipality=municipality,
                    category_code=data["category"],
                    description=data["description"],
                    photos=[f.read() for f in uploads],
                    area_id=int(data["area"]) if data.get("area") else None,
                    address=data.get("address", ""),
                    latitude=None,
                    longitude=None,
                    email=data.get("email", ""),
                    actor=_resident(request),
                )
            except ReportError as refused:
                error = error_message(refused.code)
                field = "address" if refused.code == ErrorCode.LOCATION_REQUIRED else None
                if refused.field in form.fields:
                    field = refused.field
                form.add_error(field, error)
                status = 400
            else:
                return render(
                    request,
                    "reports/filed.html",
                    {
                        "municipality": municipality,
                        "report": filed.report,
                        "category": filed.report.category.label(get_language() or "ja"),
                        "receipt": receipt_number_display(filed.report.receipt_number),
                        "secret": lookup_secret_display(filed.secret),
                    },
                    status=201,
                )
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "reports/file.html",
        {"municipality": municipality, "form": form, "hints": hints, "checked": False},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def status(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    form = LookupForm(request.POST if request.method == "POST" else None)
    code = 200
    context: dict[str, object] = {"municipality": municipality, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            report = services.report_lookup(
                municipality=municipality,
                receipt_text=form.cleaned_data["receipt_number"],
                secret_text=form.cleaned_data["secret"],
                client=client_key(request, "reports"),
            )
        except ReportError as refused:
            form.add_error(None, error_message(refused.code))
            code = 429 if refused.code == ErrorCode.RATE_LIMITED else 400
        else:
            label, note = selectors.report_status(report=report)
            context.update(
                report=report,
                category=report.category.label(get_language() or "ja"),
                receipt=receipt_number_display(report.receipt_number),
                status_label=label,
                note=note,
            )
    elif request.method == "POST":
        code = 400
    return render(request, "reports/status.html", context, status=code)
