"""Reservations and reports are reachable: the residents' top page lists them once they exist,
and each staff role's menu leads to every reservations and reports page the role may open,
offering no link the role cannot open."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from madoguchi.reports import services as report_services
from madoguchi.reports.models import ReportCategory
from tests.isolation import Tenant
from tests.reservations.conftest import ACTOR, resource_new, slot_new

pytestmark = pytest.mark.django_db

_HREF = re.compile(r'href="([^"#]*)')


def _services(tenant: Tenant) -> list[str]:
    return re.findall(r'data-service="([^"]+)"', Client().get(tenant.url("")).content.decode())


def test_the_top_page_links_reservations_and_reports_once_they_exist(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    assert _services(tenant_a) == []
    resource = resource_new(tenant_a.municipality, active=False)
    assert _services(tenant_a) == []  # a resource not bookable yet offers nothing
    resource.active = True
    resource.save()
    ReportCategory.objects.create(municipality=tenant_a.municipality, code="road", name="道路")
    assert _services(tenant_a) == ["reservations", "reports"]
    body = Client().get(tenant_a.url("")).content.decode()
    assert f'href="{tenant_a.url("reservations/")}"' in body
    assert f'href="{tenant_a.url("reports/new/")}"' in body
    english = Client()
    english.cookies["django_language"] = "en"
    assert "Book a counter or facility" in english.get(tenant_a.url("")).content.decode()
    assert _services(tenant_b) == []


# Pages each role must reach (by the menu or a page it links to), and pages it must not be
# offered. {code}, {pk} and {day} are filled in by the test.
REACH = {
    "admin": {
        "staff/reports/",
        "staff/reports/{pk}/",
        "staff/reports/setup/",
        "staff/reservations/",
        "staff/reservations/report/",
        "staff/reservations/resources/",
        "staff/reservations/closed/",
        "staff/reservations/{code}/day/",
        "staff/reservations/{code}/slots/",
    },
    "supervisor": {
        "staff/reports/",
        "staff/reports/{pk}/",
        "staff/reservations/",
        "staff/reservations/report/",
        "staff/reservations/{code}/day/",
        "staff/reservations/{code}/slots/",
    },
    "clerk": {
        "staff/reports/",
        "staff/reports/{pk}/",
        "staff/reservations/",
        "staff/reservations/report/",
        "staff/reservations/{code}/day/",
    },
    "viewer": {
        "staff/reports/",
        "staff/reports/{pk}/",
        "staff/reservations/",
        "staff/reservations/report/",
        "staff/reservations/{code}/day/",
    },
}


@pytest.mark.parametrize("role", sorted(REACH))
def test_each_role_reaches_every_reservations_and_reports_page_it_may_open(
    role: str, tenant_a: Tenant
) -> None:
    welfare = tenant_a.departments["welfare"]
    resource = resource_new(tenant_a.municipality, department=welfare)
    slot_new(resource)
    ReportCategory.objects.create(
        municipality=tenant_a.municipality, code="road", name="道路", department=welfare
    )
    report = report_services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="段差",
        address="三宮1-1",
        actor=ACTOR,
    ).report
    client = tenant_a.client(role)
    prefix = tenant_a.url("")
    wanted = {
        prefix + p.format(code=resource.code, pk=report.pk).split("?")[0] for p in REACH[role]
    }
    # Walk two steps from the staff menu, keeping the pages of these two apps.
    seen: set[str] = set()
    frontier = [tenant_a.url("staff/")]
    for _step in range(3):
        found: list[str] = []
        for url in frontier:
            response = client.get(url)
            assert response.status_code == 200, f"{role}: {url} answered {response.status_code}"
            for href in _HREF.findall(response.content.decode()):
                path = html.unescape(href).split("?")[0]
                if ("/staff/reservations/" in path or "/staff/reports/" in path) and (
                    path not in seen
                ):
                    seen.add(path)
                    found.append(html.unescape(href))
        frontier = found
    reached = {p for p in seen if "/photos/" not in p}
    assert reached == wanted, f"{role}: missing {wanted - reached}, offered {reached - wanted}"
