"""Isolation matrix: every operation, called by a client of another municipality or without
the scope it needs, is refused (403/404) and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from madoguchi.api.clients.services import api_token_issue
from madoguchi.api.linkage.models import ClientTransferExport
from madoguchi.api.webhooks.models import WebhookSubscription
from madoguchi.api.webhooks.services import webhook_subscription_create
from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.consultation.models import Conversation, Message
from madoguchi.opendata.models import DailyCount, DatasetUpdate, PatientRecord, Publisher
from madoguchi.procedures.models import Application, Note, StateChange, TransferAccount
from tests.api.linkage.capabilities import (
    EXPORT_BODY,
    call_center_csv,
    handed_over,
    kobe_call_center_row,
    payable_applications,
    post_file,
)
from tests.api.linkage.support import ADMIN, ALL_SCOPES, call, new_client, token_for
from tests.api.linkage.test_isolation_cases import CASE_OPERATIONS
from tests.isolation import REFUSED, Tenant, snapshot

# The open-data import's multipart body (a good call-centre file), marked for ``_call``.
UPLOAD = {
    "dataset": "call_center",
    "file": call_center_csv([kobe_call_center_row("2020-04-01", "10")]),
}

# (method, path under /api/v1/kobe/, body, scope it needs); {receipt} is a 神戸市 application,
# {export_id} its transfer file, {conversation_id} a hand-over, {filename} an open-data file.
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
    ("post", "payments/exports", EXPORT_BODY, "payments:export"),
    ("get", "payments/exports", None, "payments:export"),
    ("get", "payments/exports/{export_id}", None, "payments:export"),
    ("get", "consultations", None, "consultations:read"),
    ("get", "consultations/{conversation_id}", None, "consultations:read"),
    ("post", "consultations/{conversation_id}/replies", {"text": "回答"}, "consultations:write"),
    ("post", "consultations/{conversation_id}/close", {}, "consultations:write"),
    ("post", "opendata/imports", UPLOAD, "opendata:write"),
    ("get", "opendata/files", None, "opendata:read"),
    ("get", "opendata/files/{filename}", None, "opendata:read"),
]
OTHER_SCOPE = {
    "applications:read": "applications:transition",
    "applications:transition": "applications:read",
    "webhooks:manage": "applications:read",
    # Each capability's neighbours: reading never lets a client write.
    "payments:export": "applications:transition",
    "consultations:read": "applications:read",
    "consultations:write": "consultations:read",
    "opendata:read": "applications:read",
    "opendata:write": "opendata:read",
}
ALL = ALL_SCOPES


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
        "transfer_exports": snapshot(ClientTransferExport.objects.all()),
        "transfer_accounts": snapshot(TransferAccount.objects.all()),
        "conversations": snapshot(Conversation.objects.all()),
        "messages": snapshot(Message.objects.all()),
        "opendata": [
            snapshot(model.objects.all())
            for model in (DailyCount, PatientRecord, Publisher, DatasetUpdate)
        ],
        "access": AuditEntry.objects.filter(kind=EntryKind.ACCESS).count(),
        "events": AuditEntry.objects.filter(kind=EntryKind.EVENT).count(),
    }


def _fill(value: Any, receipt: str) -> Any:
    if value is UPLOAD:
        return value
    if isinstance(value, str):
        webhook = WebhookSubscription.objects.order_by("pk").first()
        export = ClientTransferExport.objects.order_by("pk").first()
        conversation = Conversation.objects.order_by("created_at").first()
        return (
            value.replace("{receipt}", receipt)
            .replace("{subscription_id}", str(webhook.pk if webhook else 0))
            .replace("{export_id}", str(export.pk if export else 0))
            .replace("{conversation_id}", str(conversation.pk if conversation else ""))
            .replace("{filename}", "281000_kobe_covid19_call_center.csv")
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


@pytest.fixture
def kobe_capabilities(tenant_a: Tenant) -> None:
    """A 神戸市 transfer file (of two payable applications) and a hand-over."""
    payable_applications(tenant_a)
    api_client, secret = new_client(tenant_a.municipality, ["payments:export"], name="財務会計")
    issued = api_token_issue(client_id=api_client.client_id, client_secret=secret)
    assert issued is not None
    created = call(Client(), "post", "/api/v1/kobe/payments/exports", issued.token, EXPORT_BODY)
    assert created.status_code == 201, created.content
    handed_over(tenant_a)


def _call(client: Client, method: str, url: str, token: str, body: Any) -> Any:
    if body is UPLOAD:
        return post_file(client, url, token, UPLOAD["file"], dataset=UPLOAD["dataset"])
    return call(client, method, url, token, body)


@pytest.mark.parametrize(("method", "path", "body", "scope"), OPERATIONS)
@pytest.mark.parametrize("who", ["other-municipality", "missing-scope"])
def test_a_client_without_standing_is_refused_and_nothing_changes(
    client: Client,
    tenant_a: Tenant,
    tenant_b: Tenant,
    kobe_applications: list[Application],
    kobe_webhook: WebhookSubscription,
    kobe_capabilities: None,
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

    response = _call(
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


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("get", "payments/exports/{export_id}", None, "transfer_export_not_found"),
        ("get", "consultations/{conversation_id}", None, "conversation_not_found"),
        (
            "post",
            "consultations/{conversation_id}/replies",
            {"text": "回答"},
            "conversation_not_found",
        ),
        ("post", "consultations/{conversation_id}/close", {}, "conversation_not_found"),
    ],
)
def test_a_client_reaches_only_its_own_municipalitys_files_and_hand_overs(
    client: Client,
    tenant_a: Tenant,
    tenant_b: Tenant,
    kobe_applications: list[Application],
    kobe_capabilities: None,
    method: str,
    path: str,
    body: Any,
    code: str,
) -> None:
    """佐用町's client, under its own slug with 神戸市's ids, finds nothing and changes nothing."""
    receipt = kobe_applications[0].receipt_number
    token = token_for(tenant_b.municipality, ALL)
    before = _state()

    response = call(
        client, method, f"/api/v1/sayo/{_fill(path, receipt)}", token, _fill(body, receipt)
    )

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == code
    assert _state() == before


def test_another_municipalitys_inbox_and_exports_list_nothing_of_kobes(
    client: Client, tenant_a: Tenant, tenant_b: Tenant, kobe_capabilities: None
) -> None:
    token = token_for(tenant_b.municipality, ALL)

    inbox = call(client, "get", "/api/v1/sayo/consultations", token)
    exports = call(client, "get", "/api/v1/sayo/payments/exports", token)

    assert (inbox.status_code, inbox.json()["items"]) == (200, [])
    assert (exports.status_code, exports.json()) == (200, [])
