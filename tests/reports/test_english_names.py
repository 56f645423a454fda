"""Category and area names in English on English pages (staff and residents) when an English
name exists, the Japanese name otherwise; state labels translated; English area names set up."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from madoguchi.reports import services
from madoguchi.reports.models import Report, ReportArea, ReportCategory
from tests.isolation import Tenant, snapshot
from tests.reports.test_reports import ACTOR

pytestmark = pytest.mark.django_db


def _filed(tenant: Tenant) -> Report:
    ReportCategory.objects.create(
        municipality=tenant.municipality,
        code="road",
        name="道路の損傷",
        name_en="Road damage",
        department=tenant.departments["welfare"],
    )
    ReportCategory.objects.create(
        municipality=tenant.municipality, code="park", name="公園の遊具", name_en=""
    )
    area = ReportArea.objects.create(
        municipality=tenant.municipality, name="中央区", name_en="Chuo Ward"
    )
    return services.report_file(
        municipality=tenant.municipality,
        category_code="road",
        description="歩道の穴",
        area_id=area.pk,
        actor=ACTOR,
    ).report


def _english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def test_staff_pages_show_english_names_and_states_on_english_pages(tenant_a: Tenant) -> None:
    report = _filed(tenant_a)
    client = _english(tenant_a.client("clerk"))
    queue = client.get(tenant_a.url("staff/reports/")).content.decode()
    row = re.search(r"<tbody><tr>.*?</tr>", queue, re.S)
    assert row
    assert "Road damage" in row.group(0)
    assert "Chuo Ward" in row.group(0)
    assert "Received" in row.group(0)
    assert "道路の損傷" not in row.group(0)
    detail = client.get(tenant_a.url(f"staff/reports/{report.pk}/")).content.decode()
    assert "<dd>Road damage</dd>" in detail
    assert "Chuo Ward" in detail
    assert '<dd id="report-status">Received</dd>' in detail
    assert '<option value="in_progress">In progress</option>' in detail
    # In Japanese the Japanese names.
    japanese = tenant_a.client("clerk").get(tenant_a.url("staff/reports/")).content.decode()
    assert "道路の損傷" in japanese
    assert "中央区" in japanese
    assert "受付" in japanese


def test_resident_pages_show_english_names_and_fall_back_to_japanese(tenant_a: Tenant) -> None:
    _filed(tenant_a)
    client = _english(Client())
    listing = client.get(tenant_a.url("reports/")).content.decode()
    assert "<td>Road damage</td><td>Chuo Ward</td>" in listing
    form = client.get(tenant_a.url("reports/new/")).content.decode()
    assert ">Chuo Ward</option>" in form
    assert ">Road damage</option>" in form
    # No English name: the Japanese one, marked as Japanese.
    assert 'lang="ja">公園の遊具</option>' in form
    area = ReportArea.objects.get()
    filed = client.post(
        tenant_a.url("reports/new/"),
        {"action": "file", "category": "road", "description": "段差", "area": str(area.pk)},
    )
    assert filed.status_code == 201
    assert "Chuo Ward" in filed.content.decode()


def test_the_admin_sets_an_area_s_english_name_and_bad_input_changes_nothing(
    tenant_a: Tenant,
) -> None:
    client = tenant_a.client("admin")
    response = client.post(
        tenant_a.url("staff/reports/setup/"),
        {"form": "area", "area-name": "北区", "area-name_en": "Kita Ward"},
    )
    assert response.status_code == 302
    area = ReportArea.objects.get()
    assert (area.name, area.name_en) == ("北区", "Kita Ward")
    page = client.get(tenant_a.url("staff/reports/setup/")).content.decode()
    assert "<td>北区</td><td>Kita Ward</td>" in page
    before = snapshot(ReportArea.objects.all())
    refused = client.post(
        tenant_a.url("staff/reports/setup/"),
        {"form": "area", "area-area": str(area.pk), "area-name": "北区", "area-name_en": "K" * 101},
    )
    assert refused.status_code == 400
    assert "名称は100文字以内です。" in refused.content.decode()
    assert snapshot(ReportArea.objects.all()) == before
