"""Open data through the linkage API: the staff page's import, the public site's files."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.opendata.models import NATIONAL_DATASETS, DailyCount, PatientRecord, Publisher
from tests.api.linkage.capabilities import call_center_csv, kobe_call_center_row, post_file
from tests.api.linkage.support import call, token_for
from tests.isolation import Tenant, snapshot

IMPORTS = "/api/v1/kobe/opendata/imports"
FILES = "/api/v1/kobe/opendata/files"
CALL_CENTER_FILE = "281000_kobe_covid19_call_center.csv"
GOOD = call_center_csv(
    [kobe_call_center_row("2020-04-01", "10"), kobe_call_center_row("2020-04-02", "20")]
)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rolled-back tests reuse publisher versions: start with no cached files."""
    cache.clear()


@pytest.fixture
def writer(tenant_a: Tenant) -> str:
    return token_for(tenant_a.municipality, ["opendata:write", "opendata:read"], name="保健所")


def _state() -> tuple[list[dict[str, Any]], ...]:
    return (
        snapshot(DailyCount.objects.all()),
        snapshot(PatientRecord.objects.all()),
        snapshot(Publisher.objects.all()),
    )


def test_the_api_imports_the_datasets_the_staff_page_imports() -> None:
    from madoguchi.api.linkage.opendata import NationalDataset

    assert set(NationalDataset.__args__) == {str(d) for d in NATIONAL_DATASETS}


def test_an_import_stores_the_rows_and_is_audited_with_the_client_as_actor(
    client: Client, tenant_a: Tenant, writer: str
) -> None:
    response = post_file(client, IMPORTS, writer, GOOD, dataset="call_center")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["imported"], body["created"], body["rows_read"]) == (True, 2, 2)
    assert DailyCount.objects.filter(municipality=tenant_a.municipality).count() == 2
    event = AuditEntry.objects.get(kind=EntryKind.EVENT, action="opendata.import")
    assert event.actor_label.startswith("api:mdgc_")
    assert event.data["filename"] == "call_center.csv"


def test_the_exported_file_is_the_public_sites_file(
    client: Client, tenant_a: Tenant, writer: str
) -> None:
    assert post_file(client, IMPORTS, writer, GOOD, dataset="call_center").status_code == 200

    listed = call(client, "get", FILES, writer).json()
    fetched = call(client, "get", f"{FILES}/{CALL_CENTER_FILE}", writer)
    public = client.get(f"/kobe/dashboard/data/{CALL_CENTER_FILE}")

    assert CALL_CENTER_FILE in [f["filename"] for f in listed]
    assert len(listed) == len({f["filename"] for f in listed})
    assert fetched.status_code == 200
    assert fetched["Content-Type"] == public["Content-Type"] == "text/csv; charset=utf-8"
    content = fetched.getvalue()  # a streamed body reads once
    assert content == public.getvalue()
    assert "2020-04-02" in content.decode("utf-8-sig")
    again = client.get(
        f"{FILES}/{CALL_CENTER_FILE}",
        HTTP_AUTHORIZATION=f"Bearer {writer}",
        HTTP_IF_NONE_MATCH=fetched["ETag"],
    )
    assert again.status_code == 304


def test_an_unknown_file_name_is_404_dataset_not_found(
    client: Client, tenant_a: Tenant, writer: str
) -> None:
    response = call(client, "get", f"{FILES}/281000_sayo_covid19_call_center.csv", writer)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "dataset_not_found"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        ("受付_年月日,相談件数\r\n".encode("utf-16"), "utf16"),
        (b"PK\x03\x04" + b"\x00" * 40, "spreadsheet"),
        ("受付_年月日,備考\r\n2020-04-01,\r\n".encode(), "missing_columns"),
        (call_center_csv([kobe_call_center_row("2020-02-30", "10")]), "date_impossible"),
        (call_center_csv([["2020-04-01", "282014", "兵庫県", "姫路市", "1", ""]]), None),
    ],
)
def test_a_bad_file_is_a_stable_422_and_nothing_changes(
    client: Client, tenant_a: Tenant, writer: str, content: bytes, problem: str | None
) -> None:
    post_file(client, IMPORTS, writer, GOOD, dataset="call_center")
    before = _state()

    response = post_file(client, IMPORTS, writer, content, dataset="call_center")

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "import_refused"
    assert error["details"]
    if problem is not None:
        assert problem in [d["code"] for d in error["details"]]
    assert _state() == before


def test_good_rows_mode_stores_the_good_rows_and_lists_the_bad_line(
    client: Client, tenant_a: Tenant, writer: str
) -> None:
    content = call_center_csv(
        [kobe_call_center_row("2020-04-01", "10"), kobe_call_center_row("2020-04-31", "1")]
    )

    response = post_file(client, IMPORTS, writer, content, dataset="call_center", mode="good_rows")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["skipped_lines"]) == (1, [3])
    assert body["problems"][0]["line"] == 3


@pytest.mark.parametrize(
    "fields", [{"dataset": "procedure_stats"}, {"dataset": "call_center", "mode": "some"}, {}]
)
def test_a_bad_form_is_422_invalid_request(
    client: Client, tenant_a: Tenant, writer: str, fields: dict[str, str]
) -> None:
    before = _state()

    response = post_file(client, IMPORTS, writer, GOOD, **fields)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert _state() == before


def test_a_request_without_the_file_is_422(client: Client, tenant_a: Tenant, writer: str) -> None:
    response = client.post(
        IMPORTS, data={"dataset": "call_center"}, HTTP_AUTHORIZATION=f"Bearer {writer}"
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
