"""Public pages of the site and of each municipality, and the staff console's front page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.core import menus
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import municipality_list_active


@require_safe
def site_index(request: HttpRequest) -> HttpResponse:
    municipalities = list(municipality_list_active())
    return render(request, "tenants/site_index.html", {"municipalities": municipalities})


@require_safe
@municipality_view
def municipality_home(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return render(
        request,
        "tenants/municipality_home.html",
        {"municipality": municipality, "services": menus.public_services(municipality)},
    )


@require_safe
@staff_view()
def console_home(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    return render(
        request,
        "tenants/console_home.html",
        {
            "municipality": municipality,
            "staff": staff,
            "sections": menus.staff_sections(staff),
        },
    )
