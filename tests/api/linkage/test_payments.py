"""全銀 transfer files through the linkage API: the console's service, file and rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from madoguchi.api.clients.models import ApiClient
from madoguchi.api.clients.services import api_token_issue
from madoguchi.api.linkage.models import ClientTransferExport
from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.procedures.models import Application, TransferAccount
from madoguchi.procedures.zengin import parse_transfer_file
from tests.api.linkage.capabilities import EXPORT_BODY, REMITTER, payable_applications
from tests.api.linkage.support import call, new_client
from tests.isolation import Tenant, snapshot

EXPORTS = "/api/v1/kobe/payments/exports"
CONSOLE_EXPORT = "staff/applications/export/transfers/"


@pytest.fixture
def payable(tenant_a: Tenant) -> list[Application]:
    return payable_applications(tenant_a)


@pytest.fixture
def exporter(tenant_a: Tenant) -> tuple[ApiClient, str]:
    """A 神戸市 client with payments:export and a token."""
    client, secret = new_client(tenant_a.municipality, ["payments:export"], name="財務会計システム")
    issued = api_token_issue(client_id=client.client_id, client_secret=secret)
    assert issued is not None
    return client, issued.token


def _create(client: Client, token: str, **changes: Any) -> Any:
    return call(client, "post", EXPORTS, token, {**EXPORT_BODY, **changes})


def _state() -> dict[str, Any]:
    return {
        "exports": snapshot(ClientTransferExport.objects.all()),
        "accounts": snapshot(TransferAccount.objects.all()),
        "audit": AuditEntry.objects.count(),
    }


def test_the_file_fetched_is_the_consoles_file_byte_for_byte(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    _api_client, token = exporter

    created = _create(client, token)
    assert created.status_code == 201, created.content
    body = created.json()
    fetched = call(client, "get", f"{EXPORTS}/{body['id']}", token)
    console = tenant_a.client("supervisor").post(
        tenant_a.url(CONSOLE_EXPORT),
        {
            **REMITTER,
            "procedure": "teigaku-kyufukin",
            "state": "transfer_pending",
            "transfer_date": "令和8年4月10日",
            "format": "zengin",
        },
    )

    assert console.status_code == 200
    assert fetched.status_code == 200
    assert fetched["Content-Type"] == "text/plain; charset=shift_jis"
    assert fetched["Content-Disposition"] == f'attachment; filename="{body["filename"]}"'
    assert body["filename"] == console["Content-Disposition"].split('"')[1]
    assert fetched.content == console.content
    _header, records, trailer = parse_transfer_file(fetched.content)
    assert [r["customer_code1"] for r in records] == [a.receipt_number for a in payable]
    assert (body["count"], body["total"]) == (2, trailer["total_amount"])


def test_making_the_file_is_audited_with_the_client_as_actor(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    api_client, token = exporter

    assert _create(client, token).status_code == 201

    event = AuditEntry.objects.get(kind=EntryKind.EVENT, action="application.export_transfer")
    assert event.actor_id == api_client.service_user_id
    accesses = AuditEntry.objects.filter(kind=EntryKind.ACCESS, action="export_transfer")
    assert sorted(int(a.object_id) for a in accesses) == sorted(a.pk for a in payable)
    assert {a.actor_id for a in accesses} == {api_client.service_user_id}


def test_each_fetch_leaves_an_access_entry_on_every_application_in_the_file(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    _api_client, token = exporter
    export_id = _create(client, token).json()["id"]
    fetched = AuditEntry.objects.filter(kind=EntryKind.ACCESS, purpose__contains="振込データの取得")
    assert fetched.count() == 0

    call(client, "get", f"{EXPORTS}/{export_id}", token)
    call(client, "get", f"{EXPORTS}/{export_id}", token)

    assert fetched.count() == 4
    assert {int(a.object_id) for a in fetched} == {a.pk for a in payable}
    assert all("財務会計システム" in a.purpose for a in fetched)


def test_the_paying_account_saved_last_time_is_used_when_none_is_sent(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    _api_client, token = exporter
    first = _create(client, token)
    assert first.status_code == 201
    assert TransferAccount.objects.get().account_number == "7654321"

    again = _create(client, token, remitter=None, format="csv")

    assert again.status_code == 201, again.content
    fetched = call(client, "get", f"{EXPORTS}/{again.json()['id']}", token)
    assert fetched["Content-Type"] == "text/csv; charset=utf-8"
    assert again.json()["filename"].endswith(".csv")


def test_without_a_paying_account_nothing_is_made(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    _api_client, token = exporter
    before = _state()

    response = _create(client, token, remitter=None)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "remitter_required"
    assert _state() == before


def test_one_bad_account_refuses_the_whole_file_and_nothing_is_made(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    _api_client, token = exporter
    broken = Application.objects.get(pk=payable[1].pk)
    broken.answers = {**broken.answers, "account": None}
    broken.save(update_fields=["answers"])
    before = _state()

    response = _create(client, token)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "transfer_refused"
    assert [d["message"] for d in error["details"]] == [
        f"{payable[1].receipt_number}：振込先口座がありません。"
    ]
    assert _state() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"procedure": "juminhyo"}, "procedure"),
        ({"state": "reviewing-not-a-state"}, "state"),
    ],
)
def test_a_procedure_that_pays_nothing_or_an_unknown_state_is_refused(
    client: Client,
    tenant_a: Tenant,
    payable: list[Application],
    exporter: tuple[ApiClient, str],
    changes: dict[str, str],
    field: str,
) -> None:
    _api_client, token = exporter
    before = _state()

    response = _create(client, token, **changes)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "transfer_refused"
    assert response.json()["error"]["field"] == field
    assert _state() == before


def test_no_application_in_the_state_is_refused(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    _api_client, token = exporter

    response = _create(client, token, state="received")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["message"] == "対象の申請がありません。"
    assert not ClientTransferExport.objects.exists()


def test_a_client_lists_and_fetches_only_its_own_files(
    client: Client, tenant_a: Tenant, payable: list[Application], exporter: tuple[ApiClient, str]
) -> None:
    _api_client, token = exporter
    export_id = _create(client, token).json()["id"]
    other, secret = new_client(tenant_a.municipality, ["payments:export"], name="別の連携先")
    issued = api_token_issue(client_id=other.client_id, client_secret=secret)
    assert issued is not None

    mine = call(client, "get", EXPORTS, token).json()
    theirs = call(client, "get", EXPORTS, issued.token).json()
    refused = call(client, "get", f"{EXPORTS}/{export_id}", issued.token)

    assert [e["id"] for e in mine] == [export_id]
    assert theirs == []
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "transfer_export_not_found"
