"""The staff queue of reports: department scope, status, merge, bad input, isolation."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.reports import services
from madoguchi.reports.models import Report, ReportArea, ReportCategory, ReportStatus
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.reports.test_reports import ACTOR

pytestmark = pytest.mark.django_db


def _filed(tenant: Tenant, description: str = "歩道の穴") -> Report:
    category, _ = ReportCategory.objects.get_or_create(
        municipality=tenant.municipality,
        code="road",
        defaults={"name": "道路の損傷", "department": tenant.departments["welfare"]},
    )
    area, _ = ReportArea.objects.get_or_create(municipality=tenant.municipality, name="中央区")
    return services.report_file(
        municipality=tenant.municipality,
        category_code=category.code,
        description=description,
        area_id=area.pk,
        actor=ACTOR,
    ).report


def test_the_department_queue_shows_its_reports_and_the_detail_is_audited(
    tenant_a: Tenant,
) -> None:
    report = _filed(tenant_a)
    queue = tenant_a.client("clerk").get(tenant_a.url("staff/reports/"))
    assert report.receipt_number in queue.content.decode()
    other = tenant_a.client("clerk-other").get(tenant_a.url("staff/reports/"))
    assert report.receipt_number not in other.content.decode()
    assert_cannot_read(
        tenant_a.client("clerk-other"),
        tenant_a.url(f"staff/reports/{report.pk}/"),
        must_not_contain=["歩道の穴"],
    )
    page = tenant_a.client("clerk").get(tenant_a.url(f"staff/reports/{report.pk}/"))
    assert "歩道の穴" in page.content.decode()
    assert AuditEntry.objects.filter(
        kind="access", object_type="reports.report", object_id=str(report.pk)
    ).exists()


def test_status_change_merge_and_bad_input(tenant_a: Tenant) -> None:
    first = _filed(tenant_a)
    second = _filed(tenant_a, "同じ穴")
    client = tenant_a.client("clerk")
    url = tenant_a.url(f"staff/reports/{second.pk}/")
    before = snapshot(Report.objects.all())
    for data in (
        {"action": "status", "status": "nonsense"},
        {"action": "status", "status": ReportStatus.DUPLICATE},
        {"action": "merge", "into": "not-a-number"},
        {"action": "merge", "into": second.receipt_number},
    ):
        response = client.post(url, data)
        assert response.status_code == 400
        assert 'id="error"' in response.content.decode()
    assert snapshot(Report.objects.all()) == before
    merged = client.post(url, {"action": "merge", "into": first.receipt_number})
    assert merged.status_code == 302
    assert Report.objects.get(pk=second.pk).duplicate_of_id == first.pk
    moved = client.post(
        tenant_a.url(f"staff/reports/{first.pk}/"),
        {"action": "status", "status": ReportStatus.IN_PROGRESS, "note": "確認中です"},
    )
    assert moved.status_code == 302
    assert Report.objects.get(pk=first.pk).status == ReportStatus.IN_PROGRESS


def test_viewers_and_other_municipalities_cannot_change_reports(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    report = _filed(tenant_a)
    url = tenant_a.url(f"staff/reports/{report.pk}/")
    data = {"action": "status", "status": ReportStatus.RESOLVED}
    state = lambda: snapshot(Report.objects.all())  # noqa: E731
    assert_cannot_change(tenant_a.client("viewer"), url, data=data, state=state)
    assert_cannot_change(tenant_b.client("admin"), url, data=data, state=state)
    assert_cannot_read(tenant_b.client("admin"), url, must_not_contain=["歩道の穴"])
    assert_cannot_read(
        tenant_b.client("admin"),
        tenant_b.url(f"staff/reports/{report.pk}/"),
        must_not_contain=["歩道の穴"],
    )
    queue = tenant_b.client("admin").get(tenant_b.url("staff/reports/"))
    assert report.receipt_number not in queue.content.decode()
