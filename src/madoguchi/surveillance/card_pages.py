"""The printable report card page, issued from the case page."""

from __future__ import annotations

import segno
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from madoguchi.audit.services import AuditActor
from madoguchi.surveillance import selectors
from madoguchi.surveillance.access import (
    CentreContext,
    case_read_record,
    case_url,
    centre_case_view,
)
from madoguchi.surveillance.cards import report_card_issue
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case
from madoguchi.tenants.models import Municipality

_STATUS = {ErrorCode.LINK_EXPIRED: 410, ErrorCode.RATE_LIMITED: 429}


@require_http_methods(["GET", "POST"])
@centre_case_view
def report_card(
    request: HttpRequest,
    municipality: Municipality,
    ctx: CentreContext,
    case: Case,
    actor: AuditActor,
) -> HttpResponse:
    """Issue a household link and show it as a card to print (a GET goes back to the case)."""
    back_url = case_url(municipality, case)
    if request.method == "GET":
        return HttpResponseRedirect(f"{back_url}#report-card")
    try:
        card = report_card_issue(case=case, actor=actor)
    except SurveillanceError as exc:
        return render(
            request,
            "surveillance/line_code.html",
            {"municipality": municipality, "error": exc.message, "back_url": back_url},
            status=_STATUS.get(exc.code, 400),
        )
    # The card shows the household's names: a read of their personal data.
    for person in card.cases:
        case_read_record(municipality=municipality, actor=actor, case=person)
    link = request.build_absolute_uri(
        reverse(
            "surveillance:self-report",
            kwargs={"municipality_slug": municipality.slug, "token": card.token},
        )
    )
    # segno escapes nothing it did not make: the SVG holds only paths and the fixed title.
    svg = segno.make(link, error="m").svg_inline(scale=4, omitsize=True)
    qr = format_html(
        '<div class="report-card__qr" role="img" aria-label="{}">{}</div>',
        _("報告用リンクのQRコード"),
        mark_safe(svg),  # noqa: S308
    )
    response = render(
        request,
        "surveillance/report_card.html",
        {
            "municipality": municipality,
            "card": card,
            "link": link,
            "qr": qr,
            "centre": case.health_centre,
            "urgent": selectors.urgent_contact(centre=case.health_centre),
            "back_url": back_url,
        },
    )
    response["Cache-Control"] = "no-store"
    return response
