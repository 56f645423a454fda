"""Every console page is refused to another municipality's admin and to non-admin roles."""

from __future__ import annotations

from typing import Any

import pytest

from madoguchi.tenants.models import Department, Membership
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot


def state(tenant: Tenant) -> list[list[dict[str, Any]]]:
    return [
        snapshot(Department.objects.filter(municipality=tenant.municipality)),
        snapshot(Membership.objects.filter(municipality=tenant.municipality)),
    ]


def reads(tenant: Tenant) -> list[str]:
    clerk, welfare = tenant.staff["clerk"], tenant.departments["welfare"]
    return [
        tenant.url("staff/admin/"),
        tenant.url("staff/admin/departments/"),
        tenant.url(f"staff/admin/departments/{welfare.pk}/"),
        tenant.url("staff/admin/staff/"),
        tenant.url("staff/admin/staff/invite/"),
        tenant.url(f"staff/admin/staff/{clerk.pk}/"),
    ]


def changes(tenant: Tenant) -> list[tuple[str, dict[str, str]]]:
    clerk, welfare = tenant.staff["clerk"], tenant.departments["welfare"]
    return [
        (tenant.url("staff/admin/departments/"), {"code": "evil", "name": "乗っ取り課"}),
        (tenant.url(f"staff/admin/departments/{welfare.pk}/rename/"), {"name": "乗っ取り課"}),
        (tenant.url(f"staff/admin/departments/{welfare.pk}/retire/"), {}),
        (
            tenant.url("staff/admin/staff/invite/"),
            {
                "email": "x@example.jp",
                "username": "intruder",
                "department": "whole",
                "role": "admin",
            },
        ),
        (tenant.url(f"staff/admin/staff/{clerk.pk}/roles/"), {"role_whole": "admin"}),
        (tenant.url(f"staff/admin/staff/{clerk.pk}/deactivate/"), {}),
        (tenant.url(f"staff/admin/staff/{clerk.pk}/reset-2fa/"), {}),
        (tenant.url(f"staff/admin/staff/{clerk.pk}/unlock/"), {}),
    ]


def test_another_municipalitys_admin_cannot_read_or_change_anything(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    intruder = tenant_b.client("admin")
    for url in reads(tenant_a):
        assert_cannot_read(intruder, url, must_not_contain=["kobe-clerk", "福祉課"])
    for url, data in changes(tenant_a):
        assert_cannot_change(intruder, url, data=data, state=lambda: state(tenant_a))


def test_an_admin_cannot_reach_another_bodys_records_through_their_own_pages(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """Ids of tenant_a's staff and departments under tenant_b's address are 404."""
    intruder = tenant_b.client("admin")
    clerk, welfare = tenant_a.staff["clerk"], tenant_a.departments["welfare"]
    assert_cannot_read(intruder, tenant_b.url(f"staff/admin/staff/{clerk.pk}/"))
    assert_cannot_read(intruder, tenant_b.url(f"staff/admin/departments/{welfare.pk}/"))
    for action in ("deactivate", "reset-2fa", "unlock", "roles"):
        assert_cannot_change(
            intruder,
            tenant_b.url(f"staff/admin/staff/{clerk.pk}/{action}/"),
            data={"role_whole": "admin"},
            state=lambda: state(tenant_a),
        )
    assert_cannot_change(
        intruder,
        tenant_b.url(f"staff/admin/departments/{welfare.pk}/retire/"),
        state=lambda: state(tenant_a),
    )


@pytest.mark.parametrize("role", ["supervisor", "clerk", "viewer", "clerk-other"])
def test_roles_below_municipality_admin_get_403(tenant_a: Tenant, role: str) -> None:
    client = tenant_a.client(role)
    for url in reads(tenant_a):
        response = client.get(url)
        assert response.status_code == 403, url
    for url, data in changes(tenant_a):
        assert_cannot_change(client, url, data=data, state=lambda: state(tenant_a))
