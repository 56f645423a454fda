"""The contract: committed OpenAPI documents match the code; every data-linkage operation,
fuzzed with valid credentials, answers without a 5xx and as its schema says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from madoguchi.api.contract import DOCUMENTS, REGENERATE, document_text, repository_root
from madoguchi.procedures.models import Application
from madoguchi.wsgi import application as wsgi_application
from tests.api.linkage.capabilities import EXPORT_BODY, handed_over, payable_applications
from tests.api.linkage.support import ALL_SCOPES, CASE_SCOPES, call, token_for
from tests.isolation import Tenant
from tests.surveillance.factories import adult, file, make_world


@pytest.mark.parametrize("relative", sorted(DOCUMENTS))
def test_the_committed_document_is_what_the_code_generates(relative: str) -> None:
    committed = (repository_root() / relative).read_text(encoding="utf-8")

    assert committed == document_text(DOCUMENTS[relative]), (
        f"{relative} differs from the API in the code. If the change is intended, run "
        f"`{REGENERATE}` and commit the result."
    )


def test_the_linkage_document_is_openapi_3_1_with_bearer_security() -> None:
    document = DOCUMENTS["docs/openapi-linkage.json"].get_openapi_schema(path_prefix="/api/")

    assert document["openapi"] == "3.1.0"
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) == 26
    secured = [op for op in operations if op.get("security")]
    assert len(secured) == 25
    assert document["components"]["securitySchemes"]["ClientBearer"]["scheme"] == "bearer"


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Let the real WSGI handler serve inside the test's transaction (see tests/api)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _with_clinic(case: Any, clinic: int) -> Any:
    """A generated 発生届 names the real clinic, so that the filing service itself is fuzzed
    (not only the refusal of unknown clinics)."""
    if isinstance(case.body, dict) and "clinic" in case.body:
        case.body["clinic"] = clinic
    return case


@pytest.fixture
def kobe_export_and_hand_over(tenant_a: Tenant) -> tuple[int, str]:
    """A 神戸市 transfer file's id and a hand-over's id, made before the WSGI fixture (the test
    client reconnects the signals that fixture disconnects)."""
    payable_applications(tenant_a)
    token = token_for(tenant_a.municipality, ["payments:export"], name="財務会計")
    created = call(Client(), "post", "/api/v1/kobe/payments/exports", token, EXPORT_BODY)
    assert created.status_code == 201, created.content
    return created.json()["id"], str(handed_over(tenant_a).pk)


@pytest.mark.slow
def test_fuzzing_every_linkage_operation_finds_no_server_error(
    tenant_a: Tenant,
    tenant_b: Tenant,
    kobe_applications: list[Application],
    settings: Settings,
    kobe_export_and_hand_over: tuple[int, str],
    wsgi_in_test_transaction: None,
) -> None:
    settings.API_CLIENT_CALLS_PER_MINUTE = 100_000
    world = make_world(tenant_a, tenant_b)
    case = file(world, adult()).case
    token = token_for(tenant_a.municipality, [*ALL_SCOPES, *CASE_SCOPES])
    headers = {"Authorization": f"Bearer {token}"}
    receipt = kobe_applications[0].receipt_number
    export_id, conversation_id = kobe_export_and_hand_over
    schema = schemathesis.openapi.from_wsgi("/api/linkage/openapi.json", wsgi_application)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    seen: dict[str, set[int]] = {}

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        values = {
            "municipality": "kobe",
            "receipt": receipt,
            "case_id": case.pk,
            "export_id": export_id,
            "conversation_id": conversation_id,
            "filename": "281000_kobe_covid19_call_center.csv",
        }
        parameters = {k: v for k, v in values.items() if "{" + k + "}" in operation.path}
        strategies = [
            operation.as_strategy(generation_mode=mode, path_parameters=parameters).map(
                lambda case: _with_clinic(case, world.clinic.pk)
            )
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
        ]

        @given(case=st.one_of(strategies))
        @hypothesis_settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(checks=checks, headers=headers)
            seen.setdefault(case.operation.label, set()).add(response.status_code)

        run()

    assert len(seen) == 26
    assert all(status < 500 for statuses in seen.values() for status in statuses), seen
    # Valid credentials reached the operations themselves, not only the 401 answer.
    assert any(200 in statuses for statuses in seen.values()), seen
