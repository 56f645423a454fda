"""The public page that adds the municipality's LINE official account as a friend."""

from __future__ import annotations

import segno
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from madoguchi.consultation import selectors
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality


@require_safe
@municipality_view
def line_friend(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    """The friend link and its QR code (to scan from a computer); 404 without a LINE account."""
    url = selectors.line_friend_url(municipality=municipality)
    if not url:
        raise Http404("no LINE account")
    qr_svg = segno.make(url, error="m").svg_inline(
        scale=5, omitsize=True, title=_("LINEの友だち追加用のQRコード")
    )
    return render(
        request,
        "consultation/line_friend.html",
        {"municipality": municipality, "friend_url": url, "qr_svg": qr_svg},
    )
