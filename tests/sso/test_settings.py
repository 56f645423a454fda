"""The SSO settings page (admins only, isolated, secret write-only), the sign-in page's button
and the "require SSO" switch with its break-glass."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEntry
from madoguchi.core.models import RateLimitCounter
from madoguchi.sso.models import SignUpMode, SsoConfig, SsoRoleMapping
from madoguchi.tenants.models import Membership, Role
from tests.accounts.flow import post_password
from tests.isolation import (
    PASSWORD,
    Tenant,
    assert_cannot_change,
    assert_cannot_read,
    signed_in_client,
    snapshot,
)
from tests.sso.flow import IdpUser, Provider, configure, page_text, sign_in, unique

pytestmark = pytest.mark.django_db

SETTINGS = "/kobe/staff/sso/"
SECRET = "s3cret-value-that-must-never-show"


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "enabled": "on",
        "label": "神戸市職員アカウント",
        "issuer": "https://login.microsoftonline.com/0000-tenant/v2.0",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": SECRET,
        "scopes": "openid email profile",
        "mode": "invite_only",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def config_rows() -> list[dict[str, Any]]:
    return snapshot(SsoConfig.objects.all())


def test_an_admin_saves_the_settings_and_the_secret_is_stored_encrypted(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    response = client.post(SETTINGS, form())
    assert response.status_code == 302
    config = SsoConfig.objects.get(municipality=tenant_a.municipality)
    assert config.client_secret == SECRET
    assert config.issuer == "https://login.microsoftonline.com/0000-tenant/v2.0"
    assert config.enabled
    assert not config.require_sso
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM sso_ssoconfig WHERE id = %s", [config.pk])
        (stored,) = cursor.fetchone()
    assert stored.startswith("enc1$")
    assert SECRET not in stored
    entry = AuditEntry.objects.filter(chain="281000", action="sso.config.save").get()
    assert entry.actor_id == tenant_a.staff["admin"].pk
    assert entry.data["secret_changed"] is True
    assert SECRET not in str(entry.data)

    page = page_text(client.get(SETTINGS))
    assert SECRET not in page
    assert "保存済み（暗号化して保存しています。表示はしません）" in page
    assert "http://testserver/kobe/staff/sso/callback/" in page


def test_a_blank_secret_keeps_the_stored_one(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    client.post(SETTINGS, form())
    response = client.post(SETTINGS, form(client_secret="", label="新しい名前"))
    assert response.status_code == 302
    config = SsoConfig.objects.get()
    assert config.client_secret == SECRET
    assert config.label == "新しい名前"
    saves = AuditEntry.objects.filter(chain="281000", action="sso.config.save").order_by("id")
    assert [e.data["secret_changed"] for e in saves] == [True, False]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": "http://idp.example.jp/"}, "https:// で始まるURLを入力してください"),
        ({"issuer": "not a url"}, "発行者URLを https:// から始まる形で入力してください"),
        ({"issuer": ""}, "発行者URLを入力してください"),
        ({"client_id": ""}, "クライアントIDを入力してください"),
        ({"mode": "everyone"}, "正しく選択してください"),
        ({"enabled": None, "require_sso": "on"}, "シングルサインオンを有効にしてください"),
        ({"require_sso": "on"}, "一度この自治体のアカウントでサインインして"),
    ],
)
def test_bad_settings_are_explained_and_nothing_is_saved(
    tenant_a: Tenant, changes: dict[str, Any], message: str
) -> None:
    """Including require-SSO from a password session: that would lock the admin out untried."""
    client = tenant_a.client("admin")
    response = client.post(SETTINGS, form(**changes))
    assert response.status_code == 400
    body = page_text(response)
    assert message in body
    assert SECRET not in body
    assert config_rows() == []
    assert not AuditEntry.objects.filter(action="sso.config.save").exists()


def test_only_admins_open_the_settings(tenant_a: Tenant) -> None:
    for role in ("supervisor", "clerk", "viewer"):
        client = tenant_a.client(role)
        assert_cannot_read(client, SETTINGS)
        assert_cannot_change(client, SETTINGS, data=form(), state=config_rows)
    assert Client().get(SETTINGS).status_code == 302


def test_another_municipalitys_admin_can_neither_read_nor_change(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    tenant_a.client("admin").post(SETTINGS, form())
    welfare = tenant_a.departments["welfare"]
    mapping = SsoRoleMapping.objects.create(
        config=SsoConfig.objects.get(), value="kobe-group", department=welfare, role=Role.CLERK
    )
    intruder = tenant_b.client("admin")
    assert_cannot_read(intruder, SETTINGS, must_not_contain=["0000-tenant", "kobe-group"])
    assert_cannot_change(
        intruder, SETTINGS, data=form(issuer="https://evil.example/"), state=config_rows
    )
    assert_cannot_change(
        intruder,
        f"/kobe/staff/sso/mappings/{mapping.pk}/delete/",
        state=lambda: snapshot(SsoRoleMapping.objects.all()),
    )
    # Through its own municipality's URL, 佐用町's admin reaches no 神戸市 mapping either.
    response = intruder.post(f"/sayo/staff/sso/mappings/{mapping.pk}/delete/")
    assert response.status_code == 404
    assert SsoRoleMapping.objects.filter(pk=mapping.pk).exists()


def test_mappings_are_added_and_deleted_with_audit(tenant_a: Tenant, tenant_b: Tenant) -> None:
    client = tenant_a.client("admin")
    client.post(SETTINGS, form())
    welfare = tenant_a.departments["welfare"]
    response = client.post(
        "/kobe/staff/sso/mappings/",
        {"claim": "groups", "value": "g-welfare", "department": str(welfare.pk), "role": "clerk"},
    )
    assert response.status_code == 302
    mapping = SsoRoleMapping.objects.get()
    assert (mapping.value, mapping.department, mapping.role) == ("g-welfare", welfare, "clerk")
    page = page_text(client.get(SETTINGS))
    assert "g-welfare" in page

    duplicate = client.post(
        "/kobe/staff/sso/mappings/",
        {"claim": "groups", "value": "g-welfare", "department": str(welfare.pk), "role": "viewer"},
    )
    assert duplicate.status_code == 400
    assert "すでに登録されています" in page_text(duplicate)
    foreign = client.post(
        "/kobe/staff/sso/mappings/",
        {
            "claim": "groups",
            "value": "g-x",
            "department": str(tenant_b.departments["welfare"].pk),
            "role": "clerk",
        },
    )
    assert foreign.status_code == 400
    assert "部署を一覧から選んでください" in page_text(foreign)
    assert SsoRoleMapping.objects.count() == 1

    assert client.post(f"/kobe/staff/sso/mappings/{mapping.pk}/delete/").status_code == 302
    assert not SsoRoleMapping.objects.exists()
    again = client.post(f"/kobe/staff/sso/mappings/{mapping.pk}/delete/")
    assert again.status_code == 404
    assert "すでに削除されています" in page_text(again)
    actions = AuditEntry.objects.filter(chain="281000", action__startswith="sso.mapping")
    assert list(actions.order_by("id").values_list("action", flat=True)) == [
        "sso.mapping.add",
        "sso.mapping.delete",
    ]


def test_a_mapping_needs_the_provider_saved_first(tenant_a: Tenant) -> None:
    response = tenant_a.client("admin").post(
        "/kobe/staff/sso/mappings/", {"claim": "groups", "value": "g", "role": "clerk"}
    )
    assert response.status_code == 400
    assert "先に発行者URLとクライアントIDを保存してください" in page_text(response)
    assert not SsoRoleMapping.objects.exists()


def test_the_sign_in_page_offers_the_button_only_when_enabled(tenant_a: Tenant) -> None:
    login = "/kobe/staff/login/"
    assert "でサインイン" not in page_text(Client().get(login))
    config = SsoConfig.objects.create(
        municipality=tenant_a.municipality,
        enabled=False,
        issuer="https://idp.example.jp",
        client_id="x",
    )
    assert "でサインイン" not in page_text(Client().get(login))
    config.enabled = True
    config.save()
    body = page_text(Client().get(login))
    assert "神戸市のアカウントでサインイン" in body
    assert 'href="/kobe/staff/sso/start/?next=/kobe/staff/"' in body
    assert 'name="password"' in body
    config.label = "KOBE職員ID"
    config.save()
    assert "KOBE職員IDでサインイン" in page_text(Client().get(login))
    # The platform's (operators') sign-in never offers a municipality's provider.
    assert "でサインイン" not in page_text(Client().get("/staff/login/"))


def test_require_sso_blocks_the_password_form(tenant_a: Tenant) -> None:
    """No password field; a posted password is refused unchecked and counts for nothing."""
    SsoConfig.objects.create(
        municipality=tenant_a.municipality,
        enabled=True,
        require_sso=True,
        issuer="https://idp.example.jp",
        client_id="x",
    )
    clerk = tenant_a.staff["clerk"]
    page = page_text(Client().get("/kobe/staff/login/"))
    assert 'name="password"' not in page
    assert "職員のパスワードでのサインインは使えません" in page
    assert 'href="/staff/login/"' in page

    client = Client()
    response = post_password(client, clerk.username, PASSWORD)

    assert response.status_code == 403
    assert "パスワードではサインインできません" in page_text(response)
    assert "madoguchi_signin_pending" not in client.session
    assert not RateLimitCounter.objects.filter(key__startswith="signin:fail:").exists()
    entry = AuditEntry.objects.filter(chain="281000").order_by("-id").first()
    assert entry is not None
    assert entry.action == "auth.login_refused_sso_required"
    assert entry.data == {"username": clerk.username}


def test_require_sso_ends_the_use_of_password_sessions_but_not_the_operators(
    tenant_a: Tenant,
) -> None:
    """Sessions signed in by password stop opening staff pages; a superuser's still do."""
    clerk_session = tenant_a.client("clerk")
    operator = User.objects.create_superuser("operator", "op@example.jp", PASSWORD)
    Membership.objects.create(user=operator, municipality=tenant_a.municipality, role=Role.ADMIN)
    operator_session = signed_in_client(operator)
    assert clerk_session.get("/kobe/staff/").status_code == 200

    SsoConfig.objects.create(
        municipality=tenant_a.municipality,
        enabled=True,
        require_sso=True,
        issuer="https://idp.example.jp",
        client_id="x",
    )

    refused = clerk_session.get("/kobe/staff/")
    assert refused.status_code == 302
    assert refused["Location"].startswith("/kobe/staff/login/")
    assert operator_session.get("/kobe/staff/").status_code == 200
    # The break-glass: an operator can switch the requirement off again.
    response = operator_session.post(SETTINGS, form(issuer="https://idp.example.jp", client_id="x"))
    assert response.status_code == 302
    assert not SsoConfig.objects.get().require_sso
    assert clerk_session.get("/kobe/staff/").status_code == 200


def test_an_admin_signed_in_through_the_provider_may_require_it(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """After trying the provider, the admin switches passwords off; their session still works."""
    admin = tenant_a.staff["admin"]
    admin.email = f"{unique('admin')}@city.kobe.example"
    admin.save(update_fields=["email"])
    config = configure(oidc_provider, tenant_a.municipality, mode=SignUpMode.INVITE_ONLY)
    idp_user = IdpUser(unique("admin"), admin.email)
    oidc_provider.provision(users=[idp_user.spec()])
    client = Client()
    assert sign_in(client, "kobe", idp_user).status_code == 302

    response = client.post(
        SETTINGS,
        form(issuer=config.issuer, client_id=config.client_id, client_secret="", require_sso="on"),
    )

    assert response.status_code == 302
    config.refresh_from_db()
    assert config.require_sso
    assert config.client_secret != ""
    assert client.get(SETTINGS).status_code == 200
