"""Pages that issue a one-time LINE linking code: the patient's own and the case page's."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip
from madoguchi.surveillance import services
from madoguchi.surveillance.access import CentreContext, case_url, centre_case_view
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality

_STATUS = {
    ErrorCode.LINK_EXPIRED: 410,
    ErrorCode.LINK_UNKNOWN: 404,
    ErrorCode.LINE_UNAVAILABLE: 404,
    ErrorCode.RATE_LIMITED: 429,
}


@require_POST
@municipality_view
def self_report_line_code(
    request: HttpRequest, municipality: Municipality, token: str
) -> HttpResponse:
    """The patient asks for a linking code on their report page; it is shown once."""
    actor = AuditActor(ip=client_ip(request), label="patient")
    try:
        issued = services.line_code_issue_for_token(
            municipality=municipality, token=token, actor=actor
        )
    except SurveillanceError as exc:
        return render(
            request,
            "surveillance/report_refused.html",
            {"municipality": municipality, "message": exc.message},
            status=_STATUS.get(exc.code, 400),
        )
    url = reverse(
        "surveillance:self-report", kwargs={"municipality_slug": municipality.slug, "token": token}
    )
    return render(
        request,
        "surveillance/line_code.html",
        {"municipality": municipality, "issued": issued, "back_url": url, "report_link": ""},
    )


@require_POST
@centre_case_view
def case_line_code(
    request: HttpRequest,
    municipality: Municipality,
    ctx: CentreContext,
    case: Case,
    actor: AuditActor,
) -> HttpResponse:
    """Staff issue a linking code to read to the patient (with a fresh household link)."""
    back_url = case_url(municipality, case)
    try:
        issued = services.line_code_issue_for_case(case=case, actor=actor)
    except SurveillanceError as exc:
        return render(
            request,
            "surveillance/line_code.html",
            {"municipality": municipality, "error": exc.message, "back_url": back_url},
            status=_STATUS.get(exc.code, 400),
        )
    report_link = request.build_absolute_uri(
        reverse(
            "surveillance:self-report",
            kwargs={"municipality_slug": municipality.slug, "token": issued.token},
        )
    )
    return render(
        request,
        "surveillance/line_code.html",
        {
            "municipality": municipality,
            "issued": issued,
            "back_url": back_url,
            "report_link": report_link,
            "staff": True,
        },
    )
