"""Isolation matrix of the case register's operations: a client of another body, or without
the scope, is refused (403/404) and nothing is read or changed; another body's case or clinic,
named under the client's own URL, is not found."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.surveillance.models import Case, Notification, SelfReport
from madoguchi.surveillance.services import report_link_issue, self_report_submit
from tests.api.linkage.support import CASE_SCOPES, call, notification_body, token_for
from tests.isolation import REFUSED, Tenant, snapshot
from tests.surveillance.factories import ACTOR, TODAY, World, adult, file, make_world

ALL = ["applications:read", "applications:transition", "webhooks:manage", *CASE_SCOPES]
# (method, path under /api/v1/<body>/, body, scope it needs); {case} is a 神戸市 case and
# {clinic} a 神戸市 clinic.
CASE_OPERATIONS: list[tuple[str, str, Any, str]] = [
    ("get", "clinics", None, "notifications:write"),
    ("post", "notifications", {"clinic": "{clinic}"}, "notifications:write"),
    ("get", "cases", None, "cases:read"),
    ("get", "cases/{case_id}", None, "cases:read"),
    ("post", "cases/{case_id}/follow-up", {"status": "monitoring"}, "cases:write"),
    ("post", "cases/{case_id}/care", {"care_setting": "hotel"}, "cases:write"),
    ("get", "cases/{case_id}/self-reports", None, "selfreports:read"),
]


@pytest.fixture
def world(tenant_a: Tenant, tenant_b: Tenant) -> World:
    world = make_world(tenant_a, tenant_b)
    case = file(world, adult()).case
    report_link_issue(cases=[case], actor=ACTOR)
    case.refresh_from_db()
    assert case.report_link is not None
    self_report_submit(
        link=case.report_link, case=case, day=TODAY, values={"temperature": "36.8"}, urgent_signs=[]
    )
    return world


def _state() -> dict[str, Any]:
    return {
        "cases": snapshot(Case.objects.all()),
        "notifications": snapshot(Notification.objects.all()),
        "reports": snapshot(SelfReport.objects.all()),
        "access": AuditEntry.objects.filter(kind=EntryKind.ACCESS).count(),
        "events": AuditEntry.objects.filter(kind=EntryKind.EVENT).count(),
    }


def _fill(value: Any, world: World) -> Any:
    case = Case.objects.get()
    if value == "{clinic}":
        return world.clinic.pk
    if isinstance(value, str):
        return value.replace("{case_id}", str(case.pk))
    if isinstance(value, dict):
        body = notification_body(world.clinic.pk) if "clinic" in value else value
        return {k: _fill(v, world) for k, v in body.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "scope"), CASE_OPERATIONS)
@pytest.mark.parametrize("who", ["other-municipality", "missing-scope"])
def test_a_client_without_standing_is_refused_and_nothing_changes(
    client: Client,
    world: World,
    method: str,
    path: str,
    body: Any,
    scope: str,
    who: str,
) -> None:
    if who == "other-municipality":
        # 兵庫県 runs a health centre too, so its client holds every scope.
        token = token_for(world.hyogo, ALL, name="兵庫県システム")
    else:
        token = token_for(world.kobe.municipality, [s for s in ALL if s != scope])
    before = _state()

    response = call(client, method, f"/api/v1/kobe/{_fill(path, world)}", token, _fill(body, world))

    assert response.status_code in REFUSED, response.content
    expected = "municipality_not_found" if who == "other-municipality" else "scope_missing"
    assert response.json()["error"]["code"] == expected
    assert "山田" not in response.content.decode()
    assert _state() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"), [op for op in CASE_OPERATIONS if "case_id" in op[1]]
)
def test_a_client_reaches_only_its_own_bodys_cases(
    client: Client, world: World, method: str, path: str, body: Any, scope: str
) -> None:
    """兵庫県's client, under its own URL with a 神戸市 case id, finds nothing."""
    token = token_for(world.hyogo, ALL, name="兵庫県システム")
    before = _state()

    response = call(
        client,
        method,
        f"/api/v1/{world.hyogo.slug}/{_fill(path, world)}",
        token,
        _fill(body, world),
    )

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "case_not_found"
    assert _state() == before


def test_another_bodys_client_sees_none_of_its_cases_or_clinics(
    client: Client, world: World
) -> None:
    token = token_for(world.hyogo, ALL, name="兵庫県システム")
    before = _state()

    cases = call(client, "get", f"/api/v1/{world.hyogo.slug}/cases", token)
    clinics = call(client, "get", f"/api/v1/{world.hyogo.slug}/clinics", token)
    filed = call(
        client,
        "post",
        f"/api/v1/{world.hyogo.slug}/notifications",
        token,
        notification_body(world.clinic.pk),
    )

    assert cases.json()["items"] == []
    assert clinics.json() == []
    assert filed.status_code == 422
    assert filed.json()["error"]["code"] == "clinic_not_found"
    assert _state() == before
