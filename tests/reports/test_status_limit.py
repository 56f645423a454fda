"""The report status lookup is rate limited per client, like the other receipt lookups."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from madoguchi.reports import services
from madoguchi.reports.models import ReportArea, ReportCategory
from tests.isolation import Tenant
from tests.reports.test_reports import ACTOR

pytestmark = pytest.mark.django_db


def test_too_many_lookups_are_refused_with_a_japanese_message(
    tenant_a: Tenant, settings: Any
) -> None:
    settings.STATUS_LOOKUP_RATE_PER_CLIENT = 2
    ReportCategory.objects.create(municipality=tenant_a.municipality, code="road", name="道路")
    area = ReportArea.objects.create(municipality=tenant_a.municipality, name="中央区")
    filed = services.report_file(
        municipality=tenant_a.municipality,
        category_code="road",
        description="歩道に穴",
        area_id=area.pk,
        actor=ACTOR,
    )
    url = tenant_a.url("reports/status/")
    right = {"receipt_number": filed.report.receipt_number, "secret": filed.secret}
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(2):
        wrong = client.post(url, {"receipt_number": filed.report.receipt_number, "secret": "x"})
        assert wrong.status_code == 400
    refused = client.post(url, right)
    assert refused.status_code == 429
    assert "試行が多すぎます" in refused.content.decode()
    assert "歩道に穴" not in refused.content.decode()
    # Another client is not affected.
    other = Client(REMOTE_ADDR="203.0.113.8").post(url, right)
    assert other.status_code == 200
