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

from madoguchi.audit.services import AuditActor, audit_access
from madoguchi.surveillance import selectors
from madoguchi.surveillance.access import CentreContext, centre_view
from madoguchi.surveillance.cards import report_card_issue
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.tenants.models import Municipality

_PURPOSE = "積極的疫学調査・健康観察"
_STATUS = {ErrorCode.LINK_EXPIRED: 410, ErrorCode.RATE_LIMITED: 429}


@require_http_methods(["GET", "POST"])
@centre_view
def report_card(
    request: HttpRequest, municipality: Municipality, ctx: CentreContext, pk: int
) -> HttpResponse:
    """Issue a household link and show it as a card to print (a GET goes back to the case)."""
    case = selectors.case_get(municipality=municipality, centres=ctx.centres, pk=pk)
    if case is None:
        return render(request, "404.html", {"message": _("この患者は見つかりません。")}, status=404)
    back_url = reverse(
        "surveillance:case", kwargs={"municipality_slug": municipality.slug, "pk": pk}
    )
    if request.method == "GET":
        return HttpResponseRedirect(f"{back_url}#report-card")
    actor = AuditActor(
        user=ctx.staff.user, ip=ctx.staff.ip, department=case.health_centre.department
    )
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
        audit_access(municipality=municipality, actor=actor, purpose=_PURPOSE, obj=person)
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
