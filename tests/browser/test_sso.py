"""A staff member signs in and out through the municipality's OpenID provider, in Chromium.

The provider is the real one of tests/sso (django-oauth-toolkit on loopback); the browser
goes back and forth between it and the live server, under the site's real CSP.
"""

from __future__ import annotations

import pytest
from pytest_django.live_server_helper import LiveServer

from madoguchi.sso.models import SsoIdentity
from madoguchi.tenants.models import Role
from tests.isolation import Tenant
from tests.sso.flow import IDP_PASSWORD, IdpUser, Provider, configure, unique
from tests.sso.provider import oidc_provider

__all__ = ["oidc_provider"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_signs_in_with_the_office_account_and_out_again(
    live_server: LiveServer, tenant_a: Tenant, oidc_provider: Provider, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = live_server.url
    admin = tenant_a.staff["admin"]
    admin.email = f"{unique('admin')}@city.kobe.example"
    admin.save(update_fields=["email"])
    configure(
        oidc_provider,
        tenant_a.municipality,
        origin=base,
        mappings=[("kobe-citizens", tenant_a.departments["citizens"], Role.SUPERVISOR)],
    )
    idp_user = IdpUser(unique("admin"), admin.email, ["kobe-citizens"])
    oidc_provider.provision(users=[idp_user.spec()])

    page.goto(f"{base}/kobe/staff/sso/")
    expect(page).to_have_url(f"{base}/kobe/staff/login/?next=%2Fkobe%2Fstaff%2Fsso%2F")
    page.get_by_role("link", name="神戸市のアカウントでサインイン").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Test identity provider")
    page.get_by_label("Username").fill(idp_user.username)
    page.get_by_label("Password").fill(IDP_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{base}/kobe/staff/sso/")
    expect(page.get_by_role("heading", level=1)).to_have_text("シングルサインオンの設定")
    expect(page.locator("#sso-redirect-uri")).to_have_text(f"{base}/kobe/staff/sso/callback/")
    assert SsoIdentity.objects.filter(user=admin).exists()

    page.goto(f"{base}/kobe/staff/")
    expect(page.locator("main")).to_contain_text("市民課")
    page.get_by_role("button", name="サインアウト").click()

    # Through the provider's end-session endpoint back to the sign-in page.
    expect(page).to_have_url(f"{base}/kobe/staff/login/")
    page.goto(f"{base}/kobe/staff/")
    expect(page).to_have_url(f"{base}/kobe/staff/login/?next=%2Fkobe%2Fstaff%2F")
    page.get_by_role("link", name="神戸市のアカウントでサインイン").click()
    # The provider's session ended too: it asks for the password again.
    expect(page.get_by_label("Password")).to_be_visible()
