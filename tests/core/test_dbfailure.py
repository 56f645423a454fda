"""With the database unreachable or read-only, pages answer the Japanese 503 page and the API
its JSON error shape with 503, never a traceback; the next request after it comes back works.

The failures are real: the connection is pointed at a database that is not there (a missing
SQLite file, a closed PostgreSQL port), or switched to read-only (``PRAGMA query_only`` on
SQLite, ``default_transaction_read_only`` on PostgreSQL). The suite runs this on both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, InternalError, OperationalError, connection
from django.test import Client

from madoguchi.core.dbfailure import is_database_unavailable
from madoguchi.procedures.models import Application
from madoguchi.tenants.selectors import municipality_cache_clear
from tests.api.support import api_url, publish_kyufukin, upload
from tests.isolation import Tenant
from tests.procedures.test_submit import closed_port

# Pages a resident or a member of staff opens, and the API endpoints, each with a method.
PAGES = ["/", "/kobe/", "/kobe/procedures/teigaku-kyufukin/", "/kobe/status/", "/kobe/chat/"]
API_CALLS = [
    ("get", "procedures", None),
    ("get", "procedures/teigaku-kyufukin", None),
    ("post", "procedures/teigaku-kyufukin/applications", {"answers": {}}),
    ("post", "uploads?procedure=teigaku-kyufukin&field=id_document", None),
    ("post", "status", {"receipt_number": "1234567890", "secret": "x"}),
]


@contextmanager
def database_unreachable(tmp_path: Path) -> Iterator[None]:
    """Every new connection fails until the block ends, as with the database gone."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = str(tmp_path / "moved-away.sqlite3")
    else:
        connection.settings_dict["HOST"] = "127.0.0.1"
        connection.settings_dict["PORT"] = str(closed_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@contextmanager
def database_read_only() -> Iterator[None]:
    """Reads work, every write fails, until the block ends."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA query_only = OFF")
            else:
                cursor.execute("SET default_transaction_read_only = off")


def assert_unavailable_page(response: Any) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "ただいまご利用いただけません" in body
    assert "Traceback" not in body
    assert "OperationalError" not in body


def assert_unavailable_json(response: Any) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "error": {
            "code": "service_unavailable",
            "message": "ただいまご利用いただけません。しばらくたってからもう一度お試しください。",
            "field": None,
            "details": [],
        }
    }


def call_api(client: Client, method: str, path: str, body: object) -> Any:
    url = api_url("kobe", path)
    if path.startswith("uploads"):
        return upload(client, "kobe")  # a real file: without one the request is a plain 422
    if method == "get":
        return client.get(url)
    if body is None:
        return client.post(url)
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def kobe(tenant_a: Tenant) -> Tenant:
    publish_kyufukin(tenant_a.municipality)
    return tenant_a


@pytest.mark.django_db(transaction=True)
def test_with_the_database_unreachable_every_page_is_the_japanese_503_page(
    kobe: Tenant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(raise_request_exception=False)
    with database_unreachable(tmp_path):
        responses = {page: client.get(page) for page in PAGES}

    for response in responses.values():
        assert_unavailable_page(response)
    assert not (tmp_path / "moved-away.sqlite3").exists()  # nothing created in its place
    records = [r for r in caplog.records if r.name == "madoguchi.core.dbfailure"]
    assert len(records) == len(PAGES)
    assert all(r.exc_info is None for r in records)  # one line each, no traceback
    # Recovery without a restart: the same client, the same process.
    assert {page: client.get(page).status_code for page in PAGES} == dict.fromkeys(PAGES, 200)


@pytest.mark.django_db(transaction=True)
def test_with_the_database_unreachable_every_api_endpoint_answers_json_503(
    kobe: Tenant, tmp_path: Path
) -> None:
    """Including the submission and upload endpoints, which used to answer an HTML 500."""
    client = Client(raise_request_exception=False)
    # As a worker started during the outage: nothing of the municipality is cached yet (a warm
    # worker answers an invalid request with its 422 before needing the database).
    municipality_cache_clear()
    with database_unreachable(tmp_path):
        responses = [call_api(client, *call) for call in API_CALLS]

    for response in responses:
        assert_unavailable_json(response)
    assert client.get(api_url("kobe", "procedures")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_with_the_database_read_only_reads_work_and_writes_answer_503(kobe: Tenant) -> None:
    client = Client(raise_request_exception=False)
    with database_read_only():
        page = client.get("/kobe/procedures/teigaku-kyufukin/")
        listing = client.get(api_url("kobe", "procedures"))
        submission = call_api(client, *API_CALLS[2])
        stored_file = call_api(client, *API_CALLS[3])
        lookup = call_api(client, *API_CALLS[4])

    assert page.status_code == 200
    assert listing.status_code == 200
    # Invalid answers are refused before any write is tried, read-only or not.
    assert submission.status_code == 422
    assert submission["Content-Type"].startswith("application/json")
    assert_unavailable_json(stored_file)  # storing an upload is a write
    # The lookup writes nothing to the database (failures count in the counters cache): it
    # answers as usual, here that the receipt number and code do not match.
    assert lookup.status_code == call_api(client, *API_CALLS[4]).status_code != 503
    assert Application.objects.count() == 0
    # Writable again: the same request is answered as usual (invalid answers here).
    assert call_api(client, *API_CALLS[2]).status_code == 422


@pytest.mark.django_db(transaction=True)
def test_readyz_names_the_database_when_it_is_read_only(kobe: Tenant) -> None:
    client = Client()
    with database_read_only():
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["database", "migrations", "task_queue"]
    reason = {
        "sqlite": "OperationalError: attempt to write a readonly database",
        "postgresql": "InternalError: cannot execute INSERT in a read-only transaction",
    }[connection.vendor]
    assert body["checks"]["database"] == f"database unavailable: {reason}"
    assert body["checks"]["data_folder"] == "ok"
    assert client.get("/readyz").status_code == 200


def test_only_availability_failures_are_answered_503() -> None:
    """Integrity and programming errors are bugs and stay 500s."""
    read_only = InternalError("cannot execute INSERT in a read-only transaction")
    read_only.__cause__ = type("Cause", (Exception,), {"sqlstate": "25006"})()
    other_internal = InternalError("something else")

    assert is_database_unavailable(OperationalError("database is locked"))
    assert is_database_unavailable(read_only)
    assert not is_database_unavailable(other_internal)
    assert not is_database_unavailable(IntegrityError("duplicate key"))
    assert not is_database_unavailable(DatabaseError("bug"))
    assert not is_database_unavailable(ValueError("x"))
