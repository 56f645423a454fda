"""Isolation matrix: every operation, called by a client of another municipality or without
the scope it needs, is refused (403/404) and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from madoguchi.api.webhooks.models import WebhookSubscription
from madoguchi.api.webhooks.services import webhook_subscription_create
from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.procedures.models import Application, Note, StateChange
from tests.api.linkage.support import ADMIN, call, new_client, token_for
from tests.api.linkage.test_isolation_cases import CASE_OPERATIONS
from tests.isolation import REFUSED, Tenant, snapshot

# (method, path under /api/v1/kobe/, body, scope it needs); {receipt} is a 神戸市 application.
OPERATIONS: list[tuple[str, str, Any, str]] = [
    ("get", "applications", None, "applications:read"),
    ("get", "applications/{receipt}", None, "applications:read"),
    (
        "post",
        "applications/{receipt}/transitions",
        {"target": "reviewing"},
        "applications:transition",
    ),
    ("post", "applications/{receipt}/notes", {"text": "メモ"}, "applications:transition"),
    (
        "post",
        "applications-bulk/transitions",
        {"receipt_numbers": ["{receipt}"], "target": "reviewing"},
        "applications:transition",
    ),
    (
        "post",
        "webhooks",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["application.state_changed"]},
        "webhooks:manage",
    ),
    ("get", "webhooks", None, "webhooks:manage"),
    ("delete", "webhooks/{subscription_id}", None, "webhooks:manage"),
]
OTHER_SCOPE = {
    "applications:read": "applications:transition",
    "applications:transition": "applications:read",
    "webhooks:manage": "applications:read",
}
ALL = ["applications:read", "applications:transition", "webhooks:manage"]


def test_the_matrix_names_every_operation_of_the_document(client: Client) -> None:
    document = client.get("/api/linkage/openapi.json").json()
    documented = {
        (method, path.removeprefix("/api/v1/{municipality}/"))
        for path, item in document["paths"].items()
        if "{municipality}" in path
        for method in item
    }

    matrix = OPERATIONS + CASE_OPERATIONS  # the case register's: test_isolation_cases.py
    assert documented == {(method, path) for method, path, _b, _s in matrix}


def _state() -> dict[str, Any]:
    return {
        "applications": snapshot(Application.objects.all()),
        "changes": snapshot(StateChange.objects.all()),
        "notes": snapshot(Note.objects.all()),
        "webhooks": snapshot(WebhookSubscription.objects.all()),
        "access": AuditEntry.objects.filter(kind=EntryKind.ACCESS).count(),
    }


def _fill(value: Any, receipt: str) -> Any:
    if isinstance(value, str):
        webhook = WebhookSubscription.objects.order_by("pk").first()
        return value.replace("{receipt}", receipt).replace(
            "{subscription_id}", str(webhook.pk if webhook else 0)
        )
    if isinstance(value, list):
        return [_fill(v, receipt) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, receipt) for k, v in value.items()}
    return value


@pytest.fixture
def kobe_webhook(tenant_a: Tenant) -> WebhookSubscription:
    """A 神戸市 subscription, for the operations that name one."""
    api_client, _secret = new_client(tenant_a.municipality, name="受信側")
    subscription, _signing = webhook_subscription_create(
        client=api_client,
        url="http://127.0.0.1:9/hook",
        event_types=["application.state_changed"],
        actor=ADMIN,
    )
    return subscription


@pytest.mark.parametrize(("method", "path", "body", "scope"), OPERATIONS)
@pytest.mark.parametrize("who", ["other-municipality", "missing-scope"])
def test_a_client_without_standing_is_refused_and_nothing_changes(
    client: Client,
    tenant_a: Tenant,
    tenant_b: Tenant,
    kobe_applications: list[Application],
    kobe_webhook: WebhookSubscription,
    method: str,
    path: str,
    body: Any,
    scope: str,
    who: str,
) -> None:
    receipt = kobe_applications[0].receipt_number
    if who == "other-municipality":
        token = token_for(tenant_b.municipality, ALL)
    else:
        token = token_for(tenant_a.municipality, [OTHER_SCOPE[scope]])
    before = _state()

    response = call(
        client, method, f"/api/v1/kobe/{_fill(path, receipt)}", token, _fill(body, receipt)
    )

    assert response.status_code in REFUSED, response.content
    expected = "municipality_not_found" if who == "other-municipality" else "scope_missing"
    assert response.json()["error"]["code"] == expected
    assert receipt not in response.content.decode()
    assert _state() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"), [op for op in OPERATIONS if op[1].startswith("appl")]
)
def test_a_client_reaches_only_its_own_municipalitys_applications(
    client: Client,
    tenant_a: Tenant,
    tenant_b: Tenant,
    kobe_applications: list[Application],
    method: str,
    path: str,
    body: Any,
    scope: str,
) -> None:
    """佐用町's client, calling under its own slug with a 神戸市 receipt number, finds nothing."""
    receipt = kobe_applications[0].receipt_number
    token = token_for(tenant_b.municipality, ALL)
    before = _state()

    response = call(
        client, method, f"/api/v1/sayo/{_fill(path, receipt)}", token, _fill(body, receipt)
    )

    if path == "applications":
        assert response.status_code == 200
        assert response.json()["items"] == []
    else:
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "application_not_found"
    assert _state() == before
