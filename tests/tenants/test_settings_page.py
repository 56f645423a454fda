"""The admin's settings page: the name shown and the contact points."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor
from madoguchi.tenants.contacts import ContactInput, contact_point_save
from madoguchi.tenants.models import ContactPoint, Municipality
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot

ACTOR = AuditActor(label="test")


def _contacts(tenant: Tenant) -> list[dict[str, object]]:
    return snapshot(ContactPoint.objects.filter(municipality=tenant.municipality))


def _gomi(tenant: Tenant) -> ContactPoint:
    return contact_point_save(
        municipality=tenant.municipality,
        key="sodai_gomi",
        data=ContactInput(name="粗大ごみ受付センター", phone="078-555-0103", hours="平日"),
        actor=ACTOR,
    )


def test_an_admin_adds_a_contact_point_and_it_is_audited(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    response = client.post(
        tenant_a.url("staff/settings/contacts/new/"),
        {
            "key": "sodai_gomi",
            "name": "粗大ごみ受付センター",
            "phone": "０７８－５５５－０１０３",
            "hours": "月〜土 9時〜17時",
            "email": "gomi@example.jp",
            "url": "https://example.jp/gomi",
            "department": tenant_a.departments["welfare"].pk,
        },
    )
    assert response.status_code == 302
    contact = ContactPoint.objects.get(municipality=tenant_a.municipality)
    assert (contact.key, contact.phone, contact.department) == (
        "sodai_gomi",
        "078-555-0103",
        tenant_a.departments["welfare"],
    )
    entry = AuditEntry.objects.filter(action="tenants.contact_point.create").get()
    assert entry.municipality == tenant_a.municipality
    assert entry.data["key"] == "sodai_gomi"
    page = client.get(tenant_a.url("staff/settings/")).content.decode()
    assert "078-555-0103" in page
    assert "粗大ごみ受付センター" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "電話番号は 078-123-4567 のように"),
        ("phone", "078-555-01033-9", "電話番号は 078-123-4567 のように"),
        ("email", "gomi-at-example", "メールアドレスは name@example.jp の形で"),
        ("url", "javascript:alert(1)", "ホームページは https:// から始まる"),
        ("key", "Sodai Gomi", "キーは sodai_gomi のように"),
    ],
)
def test_bad_input_is_named_in_japanese_and_the_typed_values_stay(
    tenant_a: Tenant, field: str, value: str, message: str
) -> None:
    data = {
        "key": "sodai_gomi",
        "name": "粗大ごみ受付センター",
        "phone": "078-555-0103",
        "hours": "月〜土",
        "email": "gomi@example.jp",
        "url": "https://example.jp/gomi",
        field: value,
    }
    response = tenant_a.client("admin").post(tenant_a.url("staff/settings/contacts/new/"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "粗大ごみ受付センター" in body
    assert "月〜土" in body
    if field != "url":  # the URL field shows what was typed, escaped by the widget
        assert value in body
    assert not ContactPoint.objects.exists()


def test_a_contact_point_needs_a_way_to_reach_it(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(
        tenant_a.url("staff/settings/contacts/new/"), {"key": "main", "name": "代表"}
    )
    assert response.status_code == 400
    assert "電話番号・メールアドレス・ホームページのどれか一つ" in response.content.decode()
    assert not ContactPoint.objects.exists()


def test_a_key_taken_already_is_refused_and_the_first_is_kept(tenant_a: Tenant) -> None:
    _gomi(tenant_a)
    before = _contacts(tenant_a)
    response = tenant_a.client("admin").post(
        tenant_a.url("staff/settings/contacts/new/"),
        {"key": "sodai_gomi", "name": "別のセンター", "phone": "078-555-0999"},
    )
    assert response.status_code == 400
    assert "このキーの連絡先はすでにあります" in response.content.decode()
    assert _contacts(tenant_a) == before


def test_an_admin_changes_and_deletes_a_contact_point(tenant_a: Tenant) -> None:
    _gomi(tenant_a)
    client = tenant_a.client("admin")
    url = tenant_a.url("staff/settings/contacts/sodai_gomi/")
    response = client.post(url, {"key": "ignored", "name": "粗大ごみセンター", "phone": "#7119"})
    assert response.status_code == 302
    contact = ContactPoint.objects.get()
    assert (contact.key, contact.name, contact.phone) == ("sodai_gomi", "粗大ごみセンター", "#7119")
    change = AuditEntry.objects.filter(action="tenants.contact_point.change").get()
    assert change.data["changed"] == ["hours", "name", "phone"]
    assert client.post(url, {"action": "delete"}).status_code == 302
    assert not ContactPoint.objects.exists()
    assert AuditEntry.objects.filter(action="tenants.contact_point.delete").count() == 1


def test_an_admin_renames_the_municipality(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    assert (
        client.post(tenant_a.url("staff/settings/"), {"name": "神戸市（テスト）"}).status_code
        == 302
    )
    tenant_a.municipality.refresh_from_db()
    assert tenant_a.municipality.name == "神戸市（テスト）"
    entry = AuditEntry.objects.filter(action="municipality.rename").get()
    assert entry.data == {"from": "神戸市", "to": "神戸市（テスト）"}
    assert "神戸市（テスト）" in client.get(tenant_a.url("")).content.decode()


def test_an_empty_name_is_refused_in_japanese(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(tenant_a.url("staff/settings/"), {"name": "  "})
    assert response.status_code == 400
    assert "表示する名称を入力してください" in response.content.decode()
    assert Municipality.objects.get(pk=tenant_a.municipality.pk).name == "神戸市"


def test_the_settings_page_links_the_line_channel_and_the_open_data_licence(
    tenant_a: Tenant,
) -> None:
    body = tenant_a.client("admin").get(tenant_a.url("staff/settings/")).content.decode()
    assert f'href="{tenant_a.url("chat/staff/line/")}"' in body
    assert f'href="{tenant_a.url("dashboard/staff/")}"' in body


@pytest.mark.parametrize("role", ["supervisor", "clerk", "viewer"])
def test_only_municipality_wide_admins_open_the_settings(tenant_a: Tenant, role: str) -> None:
    _gomi(tenant_a)
    client = tenant_a.client(role)
    assert_cannot_read(client, tenant_a.url("staff/settings/"), must_not_contain=["078-555-0103"])
    assert_cannot_change(
        client,
        tenant_a.url("staff/settings/contacts/sodai_gomi/"),
        data={"name": "x", "phone": "078-555-0000"},
        state=lambda: _contacts(tenant_a),
    )


def test_the_settings_are_isolated_between_municipalities(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    _gomi(tenant_a)
    intruder = tenant_b.client("admin")
    assert_cannot_read(intruder, tenant_a.url("staff/settings/"), must_not_contain=["078-555-0103"])
    assert_cannot_read(intruder, tenant_a.url("staff/settings/contacts/sodai_gomi/"))
    assert_cannot_change(
        intruder,
        tenant_a.url("staff/settings/contacts/sodai_gomi/"),
        data={"action": "delete"},
        state=lambda: _contacts(tenant_a),
    )
    assert_cannot_change(
        intruder,
        tenant_a.url("staff/settings/"),
        data={"name": "乗っ取り"},
        state=lambda: snapshot(Municipality.objects.all()),
    )
    # Its own settings page does not show the other's contact points.
    assert "078-555-0103" not in intruder.get(tenant_b.url("staff/settings/")).content.decode()
    assert intruder.get(tenant_b.url("staff/settings/contacts/sodai_gomi/")).status_code == 404
