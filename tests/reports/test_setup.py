"""The admin's setup of report categories and areas: saving, audit, bad input, isolation."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.reports import services
from madoguchi.reports.errors import ReportError
from madoguchi.reports.models import ReportArea, ReportCategory
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot
from tests.reports.test_reports import ACTOR

pytestmark = pytest.mark.django_db

PAGE = "staff/reports/setup/"


def _category(tenant: Tenant, **data: str) -> dict[str, str]:
    values = {
        "form": "category",
        "category-code": "road",
        "category-name": "道路の損傷",
        "category-name_en": "Road damage",
        "category-department": str(tenant.departments["citizens"].pk),
        "category-active": "on",
    }
    values.update(data)
    return values


def test_admin_adds_and_changes_a_category_and_an_area_with_audit(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    response = client.post(tenant_a.url(PAGE), _category(tenant_a))
    assert response.status_code == 302
    category = ReportCategory.objects.get(municipality=tenant_a.municipality, code="road")
    assert (category.name, category.name_en, category.active) == ("道路の損傷", "Road damage", True)
    assert category.department == tenant_a.departments["citizens"]
    # Saving the same code again changes it: here it is switched off for residents.
    changed = _category(tenant_a, **{"category-name": "道路・歩道の損傷"})
    del changed["category-active"]
    assert client.post(tenant_a.url(PAGE), changed).status_code == 302
    category.refresh_from_db()
    assert (category.name, category.active) == ("道路・歩道の損傷", False)
    assert ReportCategory.objects.filter(municipality=tenant_a.municipality).count() == 1

    assert (
        client.post(tenant_a.url(PAGE), {"form": "area", "area-name": "中央区"}).status_code == 302
    )
    area = ReportArea.objects.get(municipality=tenant_a.municipality)
    rename = {"form": "area", "area-area": str(area.pk), "area-name": "中央区（北）"}
    assert client.post(tenant_a.url(PAGE), rename).status_code == 302
    area.refresh_from_db()
    assert area.name == "中央区（北）"

    actions = set(
        AuditEntry.objects.filter(municipality=tenant_a.municipality).values_list(
            "action", flat=True
        )
    )
    assert {
        "reports.category.create",
        "reports.category.change",
        "reports.area.create",
        "reports.area.change",
    } <= actions
    page = client.get(tenant_a.url(PAGE)).content.decode()
    assert "道路・歩道の損傷" in page
    assert "中央区（北）" in page


def test_an_inactive_category_is_not_offered_nor_accepted(tenant_a: Tenant) -> None:
    services.category_save(
        municipality=tenant_a.municipality,
        code="park",
        name="公園の遊具",
        name_en="",
        department_id=None,
        active=False,
        actor=ACTOR,
    )
    form = tenant_a.client("admin").get(tenant_a.url("reports/new/"))
    assert "公園の遊具" not in form.content.decode()
    with pytest.raises(ReportError):
        services.report_file(
            municipality=tenant_a.municipality,
            category_code="park",
            description="ブランコが壊れている",
            address="中央公園",
            actor=ACTOR,
        )


@pytest.mark.parametrize(
    "data",
    [
        {"category-code": ""},
        {"category-code": "道路"},
        {"category-code": "x" * 41},
        {"category-name": ""},
        {"category-name": "あ" * 101},
        {"category-department": "999999"},
        {"category-department": "abc"},
        {"form": "nonsense"},
    ],
)
def test_bad_category_input_gives_a_japanese_message_and_changes_nothing(
    tenant_a: Tenant, data: dict[str, str]
) -> None:
    before = snapshot(ReportCategory.objects.all())
    response = tenant_a.client("admin").post(tenant_a.url(PAGE), _category(tenant_a, **data))
    assert response.status_code == 400
    body = response.content.decode()
    assert "入力内容を確認してください" in body
    assert snapshot(ReportCategory.objects.all()) == before


def test_bad_area_input_gives_a_japanese_message_and_changes_nothing(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    other = ReportArea.objects.create(municipality=tenant_b.municipality, name="他市の地域")
    client = tenant_a.client("admin")
    before = snapshot(ReportArea.objects.all())
    for data in (
        {"form": "area", "area-name": ""},
        {"form": "area", "area-name": "あ" * 101},
        {"form": "area", "area-area": str(other.pk), "area-name": "乗っ取り"},
        {"form": "area", "area-area": "x", "area-name": "北区"},
    ):
        response = client.post(tenant_a.url(PAGE), data)
        assert response.status_code == 400, data
        assert "入力内容を確認してください" in response.content.decode()
    assert snapshot(ReportArea.objects.all()) == before


def test_a_department_of_another_municipality_is_refused_by_the_service(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    before = snapshot(ReportCategory.objects.all())
    with pytest.raises(ReportError):
        services.category_save(
            municipality=tenant_a.municipality,
            code="road",
            name="道路",
            name_en="",
            department_id=tenant_b.departments["welfare"].pk,
            active=True,
            actor=ACTOR,
        )
    assert snapshot(ReportCategory.objects.all()) == before


def test_only_the_municipality_admin_opens_the_setup(tenant_a: Tenant, tenant_b: Tenant) -> None:
    ReportCategory.objects.create(
        municipality=tenant_a.municipality, code="road", name="秘密の種類"
    )

    def state() -> list[object]:
        return snapshot(ReportCategory.objects.all()) + snapshot(ReportArea.objects.all())

    for role in ("supervisor", "clerk", "viewer"):
        assert_cannot_read(tenant_a.client(role), tenant_a.url(PAGE))
        assert_cannot_change(
            tenant_a.client(role), tenant_a.url(PAGE), data=_category(tenant_a), state=state
        )
    # The other municipality's admin neither sees nor changes 神戸's setup.
    assert_cannot_read(
        tenant_b.client("admin"), tenant_a.url(PAGE), must_not_contain=["秘密の種類"]
    )
    assert_cannot_change(
        tenant_b.client("admin"),
        tenant_a.url(PAGE),
        data={"form": "area", "area-name": "北区"},
        state=state,
    )
    own = tenant_b.client("admin").get(tenant_b.url(PAGE))
    assert own.status_code == 200
    assert "秘密の種類" not in own.content.decode()


def test_the_setup_pages_are_in_english_too(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    client.cookies["django_language"] = "en"
    reports = client.get(tenant_a.url(PAGE)).content.decode()
    assert "Report categories and areas" in reports
    assert "Offered to residents" in reports
    resources = client.get(tenant_a.url("staff/reservations/resources/")).content.decode()
    assert "Reservation setup" in resources
    assert "Weekly schedule" in resources
