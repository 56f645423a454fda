"""The OpenAPI document of /api/: valid, complete, documented, and fuzzed without a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
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
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from madoguchi.api.errors import ApiErrorCode
from madoguchi.wsgi import application
from tests.api.support import KYUFUKIN, publish_kyufukin
from tests.isolation import Tenant

PATHS = {
    "/api/v1/{municipality}/procedures": {"get"},
    "/api/v1/{municipality}/procedures/{code}": {"get"},
    "/api/v1/{municipality}/uploads": {"post"},
    "/api/v1/{municipality}/procedures/{code}/applications": {"post"},
    "/api/v1/{municipality}/status": {"post"},
}


@pytest.fixture
def kobe(tenant_a: Tenant) -> Tenant:
    publish_kyufukin(tenant_a.municipality)
    return tenant_a


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Let the real WSGI handler serve inside the test's transaction.

    The handler closes "old" connections at the start and end of each request, which inside a
    test transaction would drop it; Django's test client disconnects the same receivers.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_document_describes_every_operation(client: Client, kobe: Tenant) -> None:
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert (document["info"]["title"], document["info"]["version"]) == ("madoguchi API", "1")
    assert {path: set(item) for path, item in document["paths"].items()} == PATHS
    applications = document["paths"]["/api/v1/{municipality}/procedures/{code}/applications"]
    assert set(applications["post"]["responses"]) == {
        "200",
        "201",
        "400",
        "404",
        "413",
        "422",
        "429",
    }
    schemas = document["components"]["schemas"]
    assert set(schemas["ApiErrorCode"]["enum"]) == {code.value for code in ApiErrorCode}
    assert schemas["ErrorBodyOut"]["required"] == ["code", "message", "field", "details"]


def test_the_document_is_valid_openapi(kobe: Tenant) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

    schema.validate()  # raises on a document that breaks the OpenAPI 3.1 meta-schema
    operations = [result for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) == 5


def test_the_docs_page_needs_no_scripts_from_elsewhere(client: Client, kobe: Tenant) -> None:
    response = client.get("/api/docs")

    assert response.status_code == 200
    page = response.content.decode()
    assert "madoguchi API" in page
    assert "/api/v1/{municipality}/procedures/{code}/applications" in page
    assert "invalid_answers" in page
    assert "/api/openapi.json" in page
    assert "cdn." not in page
    assert "<script" not in page


def _path_parameters(path: str, real: bool) -> dict[str, str]:
    values = {"municipality": "kobe", "code": KYUFUKIN} if real else {}
    return {name: value for name, value in values.items() if "{" + name + "}" in path}


@pytest.mark.slow
def test_fuzzing_every_operation_finds_no_server_error(
    kobe: Tenant,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    wsgi_in_test_transaction: None,
) -> None:
    """Valid and invalid requests, against the real data of 神戸市 and made-up paths alike."""
    # Rate limits would turn most requests into 429s and hide the code behind them.
    monkeypatch.setattr(django_settings, "API_SUBMISSIONS_PER_MINUTE", 100_000)
    monkeypatch.setattr(django_settings, "API_UPLOADS_PER_MINUTE", 100_000)
    settings.STATUS_LOOKUP_RATE_PER_CLIENT = 100_000
    settings.STATUS_LOOKUP_RATE_PER_RECEIPT = 100_000
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
    seen: dict[str, set[int]] = {}

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        strategies = [
            operation.as_strategy(
                generation_mode=mode, path_parameters=_path_parameters(operation.path, real)
            )
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            )
            for real in (True, False)
        ]

        @given(case=st.one_of(strategies))
        @hypothesis_settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(checks=checks)
            seen.setdefault(case.operation.label, set()).add(response.status_code)

        run()

    assert len(seen) == 5
    assert all(status < 500 for statuses in seen.values() for status in statuses), seen
