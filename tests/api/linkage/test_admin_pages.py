"""The admin console's API client pages: create (secret shown once), rotate, revoke, isolation."""

from __future__ import annotations

from madoguchi.api.clients.models import ApiClient, ApiClientSecret
from madoguchi.api.clients.services import api_token_issue, hash_credential
from tests.api.linkage.support import new_client
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot


def _url(tenant: Tenant, rest: str = "") -> str:
    return tenant.url(f"staff/admin/api-clients/{rest}")


def test_the_menu_leads_admins_to_the_page(tenant_a: Tenant) -> None:
    page = tenant_a.client("admin").get(tenant_a.url("staff/")).content.decode()

    assert _url(tenant_a) in page


def test_an_admin_creates_a_client_and_sees_the_secret_once(tenant_a: Tenant) -> None:
    admin = tenant_a.client("admin")

    response = admin.post(
        _url(tenant_a),
        {"name": "住民記録システム", "scopes": ["applications:read", "applications:transition"]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    client = ApiClient.objects.get(municipality=tenant_a.municipality)
    secret = page.split('id="client-secret">')[1].split("<")[0]
    assert ApiClientSecret.objects.get(client=client).secret_hash == hash_credential(secret)
    assert api_token_issue(client_id=client.client_id, client_secret=secret) is not None
    assert client.scopes == ["applications:read", "applications:transition"]
    detail = admin.get(_url(tenant_a, f"{client.pk}/")).content.decode()
    assert client.client_id in detail
    assert secret not in detail


def test_a_form_without_scopes_is_answered_in_japanese(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(_url(tenant_a), {"name": "x"})

    assert response.status_code == 200
    assert "権限を一つ以上選んでください。" in response.content.decode()
    assert ApiClient.objects.count() == 0


def test_rotate_and_revoke_from_the_detail_page(tenant_a: Tenant) -> None:
    client, old = new_client(tenant_a.municipality)
    admin = tenant_a.client("admin")

    rotated = admin.post(_url(tenant_a, f"{client.pk}/rotate/"))
    new = rotated.content.decode().split('id="client-secret">')[1].split("<")[0]
    revoked = admin.post(_url(tenant_a, f"{client.pk}/revoke/"))

    assert new != old
    assert revoked.status_code == 302
    client.refresh_from_db()
    assert client.is_revoked
    assert api_token_issue(client_id=client.client_id, client_secret=new) is None


def test_staff_who_are_not_admins_cannot_open_the_pages(tenant_a: Tenant) -> None:
    client, _secret = new_client(tenant_a.municipality)

    for role in ("supervisor", "clerk", "viewer"):
        assert_cannot_read(tenant_a.client(role), _url(tenant_a), must_not_contain=[client.name])
        assert_cannot_change(
            tenant_a.client(role),
            _url(tenant_a, f"{client.pk}/revoke/"),
            state=lambda: snapshot(ApiClient.objects.all()),
        )


def test_another_municipalitys_admin_cannot_reach_a_client(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    client, _secret = new_client(tenant_a.municipality)
    other = tenant_b.client("admin")

    assert_cannot_read(other, _url(tenant_a), must_not_contain=[client.name])
    assert_cannot_read(other, _url(tenant_b, f"{client.pk}/"), must_not_contain=[client.client_id])
    for action in ("rotate", "revoke"):
        assert_cannot_change(
            other,
            _url(tenant_b, f"{client.pk}/{action}/"),
            state=lambda: (
                snapshot(ApiClient.objects.all()),
                snapshot(ApiClientSecret.objects.all()),
            ),
        )
    assert client.client_id not in other.get(_url(tenant_b)).content.decode()
