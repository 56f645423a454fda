"""Tenant isolation and the staff import page: who may publish, and what each public page shows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from madoguchi.audit.models import AuditEntry
from madoguchi.opendata.models import DailyCount, Licence, Publisher
from tests.isolation import Tenant, assert_cannot_change, snapshot
from tests.opendata.conftest import import_file, kobe_row, make_csv

STAFF_URL = "/{slug}/dashboard/staff/"
SECRET_COUNT = "98765"  # only 神戸市 publishes this number


def records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return snapshot(DailyCount.objects.all()), snapshot(Publisher.objects.all())


def upload(data: bytes, mode: str = "all", dataset: str = "call_center") -> dict[str, Any]:
    return {
        "action": "import",
        "dataset": dataset,
        "mode": mode,
        "file": SimpleUploadedFile("calls.csv", data, content_type="text/csv"),
    }


@pytest.fixture
def kobe_data(tenant_a: Tenant) -> None:
    import_file(tenant_a.municipality, make_csv([kobe_row("2020-04-01", SECRET_COUNT, "神戸のみ")]))


# --- isolation --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "supervisor", "clerk"])
def test_staff_of_another_municipality_cannot_import_into_it(
    tenant_a: Tenant, tenant_b: Tenant, kobe_data: None, role: str
) -> None:
    """佐用町's staff posting to 神戸市's import page is refused and nothing changes."""
    assert_cannot_change(
        tenant_b.client(role),
        STAFF_URL.format(slug="kobe"),
        data=upload(make_csv([kobe_row("2020-04-01", "1")])),
        state=records,
    )


def test_another_municipalitys_staff_cannot_open_its_import_page(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    assert tenant_b.client("admin").get(STAFF_URL.format(slug="kobe")).status_code == 403


@pytest.mark.parametrize("role", ["supervisor", "clerk", "viewer"])
def test_only_a_municipality_wide_admin_may_publish(tenant_a: Tenant, role: str) -> None:
    assert_cannot_change(
        tenant_a.client(role),
        STAFF_URL.format(slug="kobe"),
        data=upload(make_csv([kobe_row("2020-04-01", "1")])),
        state=records,
    )


def test_a_visitor_is_sent_to_sign_in(tenant_a: Tenant) -> None:
    response = Client().post(
        STAFF_URL.format(slug="kobe"), upload(make_csv([kobe_row("2020-04-01", "1")]))
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/kobe/staff/login/")
    assert not DailyCount.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/sayo/dashboard/",
        "/sayo/dashboard/data/",
        "/sayo/dashboard/data/catalog.json",
        "/sayo/dashboard/data/285013_sayo_covid19_call_center.csv",
        "/sayo/dashboard/data/285013_sayo_covid19_call_center.json",
    ],
)
def test_one_municipalitys_data_never_appears_on_anothers_pages(
    tenant_a: Tenant, tenant_b: Tenant, kobe_data: None, url: str
) -> None:
    client = Client()
    client.get("/kobe/dashboard/")  # 神戸市's page is in the cache first
    response = client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8-sig")
    assert SECRET_COUNT not in text
    assert "98,765" not in text
    assert "神戸のみ" not in text
    assert "281000" not in text


def test_a_file_of_another_municipality_cannot_be_fetched_through_this_one(
    tenant_a: Tenant, tenant_b: Tenant, kobe_data: None
) -> None:
    response = Client().get("/sayo/dashboard/data/281000_kobe_covid19_call_center.csv")
    assert response.status_code == 404


# --- the staff page -----------------------------------------------------------------------------


def test_an_admin_imports_a_file_and_sees_the_report(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    assert client.get(STAFF_URL.format(slug="kobe")).status_code == 200
    response = client.post(
        STAFF_URL.format(slug="kobe"),
        upload(
            make_csv([kobe_row("2020-04-01", "5"), kobe_row("2020-02-30", "1")]), mode="good_rows"
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "取り込みました: 追加 1 件、更新 0 件、変更なし 0 件。"
        "問題のある 1 行（3行目）は取り込んでいません。"
    ) in page
    assert (
        '<td class="num">3</td><td>受付_年月日</td>'
        "<td>「受付_年月日」の「2020-02-30」は存在しない日付です。</td>" in page
    )
    assert DailyCount.objects.get(municipality=tenant_a.municipality).count == 5
    entry = AuditEntry.objects.filter(action="opendata.import").order_by("-id").first()
    assert entry is not None
    assert entry.actor_label == "kobe-admin"
    assert entry.data["filename"] == "calls.csv"


def test_a_refused_file_is_reported_with_status_400_and_nothing_stored(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(
        STAFF_URL.format(slug="kobe"), upload(make_csv([kobe_row("2020-02-30", "1")]))
    )
    assert response.status_code == 400
    assert "取り込みませんでした。問題のある行が1行あります。" in response.content.decode()
    assert not DailyCount.objects.exists()


def test_the_form_names_a_missing_file(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(
        STAFF_URL.format(slug="kobe"), {"action": "import", "dataset": "call_center", "mode": "all"}
    )
    assert response.status_code == 400
    assert "取り込む CSV ファイルを選んでください。" in response.content.decode()


def test_an_admin_sets_the_licence(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    response = client.post(
        STAFF_URL.format(slug="kobe"), {"action": "licence", "licence": "CC0-1.0"}
    )
    assert response.status_code == 302
    assert Publisher.objects.get(municipality=tenant_a.municipality).licence == Licence.CC0_1_0
    catalog = json.loads(Client().get("/kobe/dashboard/data/catalog.json").content)
    assert catalog["dct:license"] == "https://creativecommons.org/publicdomain/zero/1.0/deed.ja"
