"""The admin console's departments: create, rename, retire once nothing is open in them."""

from __future__ import annotations

from django.test import Client

from madoguchi.audit.models import AuditEntry
from madoguchi.consultation.assistant import conversation_handover, conversation_open
from madoguchi.consultation.models import Channel
from madoguchi.tenants.models import Department
from madoguchi.tenants.selectors import department_list
from tests.isolation import Tenant, snapshot


def departments_of(tenant: Tenant) -> list[dict[str, object]]:
    return snapshot(Department.objects.filter(municipality=tenant.municipality))


def test_the_admin_creates_a_department(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    response = client.post(
        "/kobe/staff/admin/departments/", {"code": "kenko-fukushi", "name": "健康福祉課"}
    )
    assert response["Location"] == "/kobe/staff/admin/departments/"
    department = Department.objects.get(municipality=tenant_a.municipality, code="kenko-fukushi")
    assert department.name == "健康福祉課"
    page = client.get("/kobe/staff/admin/departments/").content.decode()
    assert "健康福祉課" in page
    entry = AuditEntry.objects.get(action="department.create", object_id=str(department.pk))
    assert entry.actor_label == "kobe-admin"


def test_a_taken_or_malformed_code_is_refused_and_nothing_created(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    before = departments_of(tenant_a)
    taken = client.post("/kobe/staff/admin/departments/", {"code": "welfare", "name": "別の課"})
    assert "部署コード「welfare」はすでに使われています" in taken.content.decode()
    bad = client.post("/kobe/staff/admin/departments/", {"code": "福祉", "name": "福祉課"})
    assert "部署コードは半角の英小文字・数字とハイフンで入力してください。" in bad.content.decode()
    blank = client.post("/kobe/staff/admin/departments/", {"code": "x", "name": "   "})
    assert "部署名を入力してください。" in blank.content.decode()
    assert departments_of(tenant_a) == before


def test_the_admin_renames_a_department(tenant_a: Tenant) -> None:
    welfare = tenant_a.departments["welfare"]
    client = tenant_a.client("admin")
    url = f"/kobe/staff/admin/departments/{welfare.pk}/rename/"
    assert client.post(url, {"name": "くらし支援課"}).status_code == 302
    welfare.refresh_from_db()
    assert welfare.name == "くらし支援課"
    entry = AuditEntry.objects.get(action="department.rename")
    assert entry.data == {"from": "福祉課", "to": "くらし支援課"}


def test_retiring_is_refused_while_a_handover_is_open(tenant_a: Tenant) -> None:
    """The open hand-over is shown and the department stays; closed, retiring goes through."""
    citizens = tenant_a.departments["citizens"]
    conversation = conversation_open(municipality=tenant_a.municipality, channel=Channel.WEB)
    conversation_handover(conversation=conversation, department=citizens)
    client = tenant_a.client("admin")
    page = client.get(f"/kobe/staff/admin/departments/{citizens.pk}/").content.decode()
    assert "対応中のチャットの引継ぎ" in page
    before = departments_of(tenant_a)

    response = client.post(f"/kobe/staff/admin/departments/{citizens.pk}/retire/")

    assert response.status_code == 200
    assert "この部署には未完了の案件があります。" in response.content.decode()
    assert departments_of(tenant_a) == before
    assert not AuditEntry.objects.filter(action="department.retire").exists()

    conversation.state = "closed"
    conversation.save(update_fields=["state"])
    done = client.post(f"/kobe/staff/admin/departments/{citizens.pk}/retire/")
    assert done["Location"] == "/kobe/staff/admin/departments/"
    citizens.refresh_from_db()
    assert citizens.is_retired
    assert citizens not in department_list(municipality=tenant_a.municipality)
    assert citizens in department_list(municipality=tenant_a.municipality, include_retired=True)
    assert AuditEntry.objects.filter(
        action="department.retire", object_id=str(citizens.pk)
    ).exists()


def test_a_retired_department_is_no_longer_offered_for_invitations(tenant_a: Tenant) -> None:
    citizens = tenant_a.departments["citizens"]
    client = tenant_a.client("admin")
    client.post(f"/kobe/staff/admin/departments/{citizens.pk}/retire/")
    page = client.get("/kobe/staff/admin/staff/invite/").content.decode()
    assert f'value="{citizens.pk}"' not in page
    assert f'value="{tenant_a.departments["welfare"].pk}"' in page


def test_an_unknown_department_is_a_404(tenant_a: Tenant) -> None:
    assert tenant_a.client("admin").get("/kobe/staff/admin/departments/999999/").status_code == (
        404
    )


def test_the_console_home_links_the_pages(tenant_a: Tenant) -> None:
    page = tenant_a.client("admin").get("/kobe/staff/admin/").content.decode()
    for path in ("departments/", "staff/", "staff/invite/"):
        assert f'href="/kobe/staff/admin/{path}"' in page
    assert Client().get("/kobe/staff/admin/")["Location"].startswith("/kobe/staff/login/")
