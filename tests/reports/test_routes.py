"""Routing by category x area: the most specific route wins, edited on the setup page."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.reports import services
from madoguchi.reports.errors import ReportError
from madoguchi.reports.models import Report, ReportArea, ReportCategory, ReportRoute
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.reports.test_reports import ACTOR

pytestmark = pytest.mark.django_db

PAGE = "staff/reports/setup/"


def _town(tenant: Tenant) -> tuple[ReportCategory, ReportArea, ReportArea]:
    road = ReportCategory.objects.create(
        municipality=tenant.municipality,
        code="road",
        name="道路の損傷",
        department=tenant.departments["citizens"],
    )
    north = ReportArea.objects.create(municipality=tenant.municipality, name="北区")
    south = ReportArea.objects.create(municipality=tenant.municipality, name="南区")
    return road, north, south


def _file(tenant: Tenant, area: ReportArea | None) -> Report:
    return services.report_file(
        municipality=tenant.municipality,
        category_code="road",
        description="段差があります",
        area_id=area.pk if area is not None else None,
        address="" if area is not None else "三宮1-1",
        actor=ACTOR,
    ).report


def _route(tenant: Tenant, **data: str) -> dict[str, str]:
    values = {"form": "route", "route-area": "", "route-department": ""}
    values.update({f"route-{k}": v for k, v in data.items()})
    return values


def test_the_most_specific_route_wins_and_the_category_department_is_the_fallback(
    tenant_a: Tenant,
) -> None:
    road, north, south = _town(tenant_a)
    welfare = tenant_a.departments["welfare"]
    extra = tenant_a.departments["citizens"]
    # No route yet: the category's own department.
    assert _file(tenant_a, north).department == extra
    # A route for every area beats the category's department ...
    services.route_save(
        municipality=tenant_a.municipality,
        category_id=road.pk,
        area_id=None,
        department_id=welfare.pk,
        actor=ACTOR,
    )
    assert _file(tenant_a, south).department == welfare
    assert _file(tenant_a, None).department == welfare
    # ... and a route for (category, area) beats both in that area only.
    services.route_save(
        municipality=tenant_a.municipality,
        category_id=road.pk,
        area_id=north.pk,
        department_id=extra.pk,
        actor=ACTOR,
    )
    assert _file(tenant_a, north).department == extra
    assert _file(tenant_a, south).department == welfare


def test_admin_adds_changes_and_deletes_a_route_on_the_setup_page_with_audit(
    tenant_a: Tenant,
) -> None:
    road, north, _south = _town(tenant_a)
    welfare = tenant_a.departments["welfare"]
    client = tenant_a.client("admin")
    data = _route(tenant_a, category=str(road.pk), area=str(north.pk), department=str(welfare.pk))
    response = client.post(tenant_a.url(PAGE), data)
    assert response.status_code == 302
    route = ReportRoute.objects.get(category=road)
    assert (route.area, route.department) == (north, welfare)
    assert _file(tenant_a, north).department == welfare

    # Saving the same pair again changes its department, it adds no second row.
    data["route-department"] = str(tenant_a.departments["citizens"].pk)
    assert client.post(tenant_a.url(PAGE), data).status_code == 302
    assert list(ReportRoute.objects.values_list("department_id", flat=True)) == [
        tenant_a.departments["citizens"].pk
    ]
    page = client.get(tenant_a.url(PAGE)).content.decode()
    assert 'id="route-table"' in page
    assert "北区" in page

    response = client.post(tenant_a.url(PAGE), {"form": "route_delete", "route": str(route.pk)})
    assert response.status_code == 302
    assert not ReportRoute.objects.exists()
    actions = list(
        AuditEntry.objects.filter(
            municipality=tenant_a.municipality, action__startswith="reports.route."
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["reports.route.create", "reports.route.change", "reports.route.delete"]


def test_bad_route_input_gives_a_japanese_message_and_changes_nothing(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    road, north, _south = _town(tenant_a)
    welfare = str(tenant_a.departments["welfare"].pk)
    foreign_road, foreign_area, _x = _town(tenant_b)
    services.route_save(
        municipality=tenant_b.municipality,
        category_id=foreign_road.pk,
        area_id=None,
        department_id=tenant_b.departments["welfare"].pk,
        actor=ACTOR,
    )
    foreign_route = ReportRoute.objects.get(category=foreign_road)
    client = tenant_a.client("admin")
    before = snapshot(ReportRoute.objects.all())
    cases = [
        (_route(tenant_a, category="", department=welfare), "種類を選んでください"),
        (_route(tenant_a, category=str(road.pk)), "担当の課を選んでください"),
        (_route(tenant_a, category="abc", department=welfare), "種類は一覧から選んでください"),
        (
            _route(tenant_a, category=str(foreign_road.pk), department=welfare),
            "種類は一覧から選んでください",
        ),
        (
            _route(tenant_a, category=str(road.pk), area=str(foreign_area.pk), department=welfare),
            "地域は一覧から選んでください",
        ),
        (
            _route(
                tenant_a,
                category=str(road.pk),
                area=str(north.pk),
                department=str(tenant_b.departments["welfare"].pk),
            ),
            "担当の課は一覧から選んでください",
        ),
        ({"form": "route_delete", "route": str(foreign_route.pk)}, "この振り分けは見つかりません"),
        ({"form": "route_delete", "route": "x"}, "この振り分けは見つかりません"),
    ]
    for data, message in cases:
        response = client.post(tenant_a.url(PAGE), data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert snapshot(ReportRoute.objects.all()) == before
    # What was typed stays selected after a refusal.
    response = client.post(tenant_a.url(PAGE), _route(tenant_a, category=str(road.pk)))
    assert f'<option value="{road.pk}" selected>' in response.content.decode()


def test_the_service_refuses_another_municipality_s_rows(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    road, north, _south = _town(tenant_a)
    foreign_road, foreign_area, _x = _town(tenant_b)
    before = snapshot(ReportRoute.objects.all())
    for category, area, department in (
        (foreign_road.pk, None, tenant_a.departments["welfare"].pk),
        (road.pk, foreign_area.pk, tenant_a.departments["welfare"].pk),
        (road.pk, north.pk, tenant_b.departments["welfare"].pk),
    ):
        with pytest.raises(ReportError):
            services.route_save(
                municipality=tenant_a.municipality,
                category_id=category,
                area_id=area,
                department_id=department,
                actor=ACTOR,
            )
    assert snapshot(ReportRoute.objects.all()) == before


def test_only_the_own_admin_sees_and_edits_routes(tenant_a: Tenant, tenant_b: Tenant) -> None:
    road, north, _south = _town(tenant_a)
    services.route_save(
        municipality=tenant_a.municipality,
        category_id=road.pk,
        area_id=north.pk,
        department_id=tenant_a.departments["welfare"].pk,
        actor=ACTOR,
    )
    route = ReportRoute.objects.get()

    def state() -> list[object]:
        return snapshot(ReportRoute.objects.all())

    add = _route(
        tenant_a,
        category=str(road.pk),
        department=str(tenant_a.departments["citizens"].pk),
    )
    delete = {"form": "route_delete", "route": str(route.pk)}
    for role in ("supervisor", "clerk", "viewer"):
        assert_cannot_read(tenant_a.client(role), tenant_a.url(PAGE))
        assert_cannot_change(tenant_a.client(role), tenant_a.url(PAGE), data=add, state=state)
    assert_cannot_read(tenant_b.client("admin"), tenant_a.url(PAGE), must_not_contain=["北区"])
    assert_cannot_change(tenant_b.client("admin"), tenant_a.url(PAGE), data=add, state=state)
    assert_cannot_change(tenant_b.client("admin"), tenant_a.url(PAGE), data=delete, state=state)
    # Posted to its own page, the other admin's delete of 神戸's route is refused too.
    response = tenant_b.client("admin").post(tenant_b.url(PAGE), delete)
    assert response.status_code == 400
    assert ReportRoute.objects.filter(pk=route.pk).exists()
    own = tenant_b.client("admin").get(tenant_b.url(PAGE)).content.decode()
    assert "北区" not in own
