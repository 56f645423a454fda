"""Staff single sign-on against a real OpenID provider on loopback (django-oauth-toolkit):
signing in, roles from the provider's groups, invitations and just-in-time accounts, signing out."""

from __future__ import annotations

import html
import re

import pytest
import requests
from django.test import Client
from django.utils.html import escape
from django_otp import DEVICE_ID_SESSION_KEY

from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEntry
from madoguchi.sso.models import SignUpMode, SsoIdentity, SsoMembership
from madoguchi.tenants.models import Membership, Role
from tests.isolation import Tenant, snapshot
from tests.sso.flow import (
    OUR_ORIGIN,
    IdpUser,
    Provider,
    callback,
    configure,
    idp_sign_in,
    page_text,
    query,
    sign_in,
    start,
    unique,
)

pytestmark = pytest.mark.django_db

CONSOLE = "/kobe/staff/"


def actions(chain: str = "281000", prefix: str = "") -> list[str]:
    entries = AuditEntry.objects.filter(chain=chain, action__startswith=prefix).order_by("id")
    return list(entries.values_list("action", flat=True))


def roles_of(user: User, tenant: Tenant) -> set[tuple[str | None, str]]:
    return {
        (m.department.code if m.department else None, m.role)
        for m in Membership.objects.filter(user=user, municipality=tenant.municipality)
    }


@pytest.fixture
def invited(tenant_a: Tenant) -> User:
    """An invited 神戸市 member: an account with an e-mail address and a hand-granted role."""
    user = tenant_a.staff["viewer"]
    user.email = f"{unique('hanako')}@city.kobe.example"
    user.save(update_fields=["email"])
    return user


def test_the_authorization_request_uses_pkce_state_and_nonce(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """The provider is asked for a code with an S256 challenge, a fresh state and a nonce."""
    config = configure(oidc_provider, tenant_a.municipality)
    client = Client()
    first, second = query(start(client, "kobe")), query(start(client, "kobe"))
    assert first["response_type"] == "code"
    assert first["client_id"] == config.client_id
    assert first["code_challenge_method"] == "S256"
    assert len(first["code_challenge"]) == 43
    assert first["scope"].split() == ["openid", "email", "profile"]
    assert first["redirect_uri"] == f"{OUR_ORIGIN}/kobe/staff/sso/callback/"
    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]
        assert len(first[name]) >= 43


def test_an_invited_member_signs_in_and_gets_the_roles_of_their_groups(
    oidc_provider: Provider, tenant_a: Tenant, invited: User
) -> None:
    """The first sign-in links the account by e-mail, grants mapped roles, opens the console."""
    citizens = tenant_a.departments["citizens"]
    configure(
        oidc_provider,
        tenant_a.municipality,
        mappings=[
            ("kobe-citizens-clerks", citizens, Role.CLERK),
            ("kobe-citizens-supervisors", citizens, Role.SUPERVISOR),
            ("kobe-unrelated", None, Role.ADMIN),
        ],
    )
    idp_user = IdpUser(
        unique("hanako"), invited.email, ["kobe-citizens-clerks", "kobe-citizens-supervisors"]
    )
    oidc_provider.provision(users=[idp_user.spec()])
    client = Client()

    response = sign_in(client, "kobe", idp_user)

    assert response.status_code == 302
    assert response["Location"] == CONSOLE
    assert client.session["_auth_user_id"] == str(invited.pk)
    identity = SsoIdentity.objects.get(user=invited)
    assert identity.issuer == oidc_provider.issuer
    assert identity.municipality == tenant_a.municipality
    assert client.session[DEVICE_ID_SESSION_KEY] == identity.persistent_id
    # The highest role of the two groups; the hand-granted viewer role stays as it was.
    assert roles_of(invited, tenant_a) == {("welfare", "viewer"), ("citizens", "supervisor")}
    console = client.get(CONSOLE)
    assert console.status_code == 200
    assert "市民課" in page_text(console)
    assert actions(prefix="auth.sso")[-2:] == ["auth.sso_account_linked", "auth.sso_login"]
    login = AuditEntry.objects.filter(chain="281000", action="auth.sso_login").get()
    assert login.actor_id == invited.pk
    assert login.data["granted"] == ["citizens:supervisor"]


def test_the_next_sign_in_finds_the_account_by_its_subject(
    oidc_provider: Provider, tenant_a: Tenant, invited: User
) -> None:
    """Once linked, the e-mail address may change at the provider: the subject identifies."""
    welfare = tenant_a.departments["welfare"]
    configure(oidc_provider, tenant_a.municipality, mappings=[("w", welfare, Role.CLERK)])
    idp_user = IdpUser(unique("hanako"), invited.email, ["w"])
    oidc_provider.provision(users=[idp_user.spec()])
    assert sign_in(Client(), "kobe", idp_user).status_code == 302
    idp_user.email = "renamed@example.jp"
    oidc_provider.provision(users=[idp_user.spec()])

    client = Client()
    assert sign_in(client, "kobe", idp_user).status_code == 302
    assert client.session["_auth_user_id"] == str(invited.pk)
    assert SsoIdentity.objects.filter(user=invited).count() == 1


def test_a_user_whose_group_was_removed_loses_the_role_at_the_next_sign_in(
    oidc_provider: Provider, tenant_a: Tenant, invited: User
) -> None:
    """Roles from the provider are replaced at each sign-in; hand-granted ones are kept."""
    welfare, citizens = tenant_a.departments["welfare"], tenant_a.departments["citizens"]
    configure(
        oidc_provider,
        tenant_a.municipality,
        mappings=[("citizens", citizens, Role.CLERK), ("everyone", None, Role.VIEWER)],
    )
    idp_user = IdpUser(unique("hanako"), invited.email, ["citizens", "everyone"])
    oidc_provider.provision(users=[idp_user.spec()])
    assert sign_in(Client(), "kobe", idp_user).status_code == 302
    assert roles_of(invited, tenant_a) == {
        ("welfare", "viewer"),
        ("citizens", "clerk"),
        (None, "viewer"),
    }

    idp_user.groups = ["everyone"]
    oidc_provider.provision(users=[idp_user.spec()])
    client = Client()
    assert sign_in(client, "kobe", idp_user).status_code == 302

    assert roles_of(invited, tenant_a) == {("welfare", "viewer"), (None, "viewer")}
    assert Membership.objects.filter(user=invited, department=welfare, role="viewer").exists()
    assert SsoMembership.objects.filter(user=invited).count() == 1
    revoke = AuditEntry.objects.filter(chain="281000", action="membership.revoke").get()
    assert revoke.data == {
        "user": invited.username,
        "role": "clerk",
        "department": "citizens",
        "source": "sso",
    }
    assert revoke.actor_id == invited.pk


def test_a_user_left_without_any_role_is_refused_and_loses_the_provider_roles(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """When the last mapped group goes, the next sign-in revokes the role and is refused."""
    welfare = tenant_a.departments["welfare"]
    configure(
        oidc_provider,
        tenant_a.municipality,
        mode=SignUpMode.JUST_IN_TIME,
        mappings=[("w", welfare, Role.CLERK)],
    )
    idp_user = IdpUser(unique("jiro"), f"{unique('jiro')}@example.jp", ["w"])
    oidc_provider.provision(users=[idp_user.spec()])
    assert sign_in(Client(), "kobe", idp_user).status_code == 302
    user = User.objects.get(email=idp_user.email)

    idp_user.groups = []
    oidc_provider.provision(users=[idp_user.spec()])
    client = Client()
    response = sign_in(client, "kobe", idp_user)

    assert response.status_code == 403
    assert "この自治体で使える役割が割り当てられていません" in page_text(response)
    assert "_auth_user_id" not in client.session
    assert roles_of(user, tenant_a) == set()
    failure = AuditEntry.objects.filter(chain="281000", action="auth.sso_failed").get()
    assert failure.data["reason"] == "no_role"


def test_invite_only_refuses_an_account_nobody_invited(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """An unknown provider account gets a clear page, no account and an audit entry."""
    welfare = tenant_a.departments["welfare"]
    configure(oidc_provider, tenant_a.municipality, mappings=[("w", welfare, Role.CLERK)])
    stranger = IdpUser(unique("stranger"), f"{unique('s')}@example.jp", ["w"])
    oidc_provider.provision(users=[stranger.spec()])
    users_before = snapshot(User.objects.all())
    client = Client()

    response = sign_in(client, "kobe", stranger)

    assert response.status_code == 403
    assert "この自治体の職員として登録されていません" in page_text(response)
    assert "_auth_user_id" not in client.session
    assert snapshot(User.objects.all()) == users_before
    assert not SsoIdentity.objects.exists()
    failure = AuditEntry.objects.filter(chain="281000", action="auth.sso_failed").get()
    assert failure.data["reason"] == "not_invited"
    assert failure.actor_label.startswith("sso:")


def test_a_member_of_another_municipality_is_not_matched_by_e_mail(
    oidc_provider: Provider, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """Only members of this municipality count as invited: 佐用町's clerk is a stranger here."""
    configure(oidc_provider, tenant_a.municipality)
    other = tenant_b.staff["clerk"]
    other.email = f"{unique('sayo')}@town.sayo.example"
    other.save(update_fields=["email"])
    idp_user = IdpUser(unique("sayo"), other.email)
    oidc_provider.provision(users=[idp_user.spec()])

    response = sign_in(Client(), "kobe", idp_user)

    assert response.status_code == 403
    assert not SsoIdentity.objects.exists()
    assert not Membership.objects.filter(user=other, municipality=tenant_a.municipality).exists()


def test_just_in_time_creates_the_account_with_the_mapped_roles(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """A new account without a usable password, named after the provider's e-mail claim."""
    configure(
        oidc_provider,
        tenant_a.municipality,
        mode=SignUpMode.JUST_IN_TIME,
        mappings=[("kobe-admins", None, Role.ADMIN)],
    )
    idp_user = IdpUser(unique("saburo"), f"{unique('saburo')}@example.jp", ["kobe-admins"])
    oidc_provider.provision(users=[idp_user.spec()])
    client = Client()

    assert sign_in(client, "kobe", idp_user).status_code == 302

    user = User.objects.get(email=idp_user.email)
    assert user.username == idp_user.email
    assert user.display_name == f"職員 {idp_user.username}"
    assert not user.has_usable_password()
    assert roles_of(user, tenant_a) == {(None, "admin")}
    assert client.get("/kobe/staff/sso/").status_code == 200


def test_just_in_time_refuses_an_account_without_a_mapped_group(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """No account is created for someone the mapping gives no role."""
    configure(
        oidc_provider,
        tenant_a.municipality,
        mode=SignUpMode.JUST_IN_TIME,
        mappings=[("kobe-admins", None, Role.ADMIN)],
    )
    idp_user = IdpUser(unique("shiro"), f"{unique('shiro')}@example.jp", ["other-group"])
    oidc_provider.provision(users=[idp_user.spec()])
    users_before = snapshot(User.objects.all())

    response = sign_in(Client(), "kobe", idp_user)

    assert response.status_code == 403
    assert snapshot(User.objects.all()) == users_before


def test_a_deactivated_account_is_refused(
    oidc_provider: Provider, tenant_a: Tenant, invited: User
) -> None:
    """Deactivating the local account stops sign-ins through the provider too."""
    configure(oidc_provider, tenant_a.municipality)
    idp_user = IdpUser(unique("hanako"), invited.email)
    oidc_provider.provision(users=[idp_user.spec()])
    assert sign_in(Client(), "kobe", idp_user).status_code == 302
    invited.is_active = False
    invited.save(update_fields=["is_active"])

    client = Client()
    response = sign_in(client, "kobe", idp_user)

    assert response.status_code == 403
    assert "利用が停止されています" in page_text(response)
    assert "_auth_user_id" not in client.session


def test_sign_out_ends_the_local_session_and_the_providers(
    oidc_provider: Provider, tenant_a: Tenant, invited: User
) -> None:
    """Sign-out redirects to the provider's end_session_endpoint, which ends its session too."""
    configure(oidc_provider, tenant_a.municipality)
    idp_user = IdpUser(unique("hanako"), invited.email)
    oidc_provider.provision(users=[idp_user.spec()])
    client, browser = Client(), requests.Session()
    assert (
        callback(client, idp_sign_in(start(client, "kobe"), idp_user, session=browser)).status_code
        == 302
    )

    response = client.post("/kobe/staff/logout/")

    # A page that moves on by itself (a redirect after the form would break the page's CSP).
    assert response.status_code == 200
    end_session = re.search(r'id="sso-end-session" href="([^"]+)"', page_text(response))
    assert end_session is not None
    end_session = html.unescape(end_session.group(1))
    assert f'content="0; url={escape(end_session)}"' in page_text(response)
    assert end_session.startswith(f"{oidc_provider.issuer}/logout/")
    params = query(end_session)
    assert params["post_logout_redirect_uri"] == f"{OUR_ORIGIN}/kobe/staff/login/"
    assert params["id_token_hint"].count(".") == 2
    assert "_auth_user_id" not in client.session
    assert client.get(CONSOLE).status_code == 302
    assert actions(prefix="auth.")[-2:] == ["auth.logout", "auth.sso_logout"]

    at_provider = browser.get(end_session, allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    assert at_provider.headers["Location"] == f"{OUR_ORIGIN}/kobe/staff/login/"
    # The provider's session is over: signing in again asks for the password again.
    again = browser.get(start(Client(), "kobe"), allow_redirects=False, timeout=10)
    assert again.status_code == 302
    assert "/accounts/login/" in again.headers["Location"]


def test_password_sign_out_does_not_involve_the_provider(tenant_a: Tenant) -> None:
    """A session signed in with password and TOTP signs out locally as before."""
    client = tenant_a.client("clerk")
    response = client.post("/kobe/staff/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/kobe/staff/login/"


def test_an_account_linked_under_an_earlier_issuer_is_linked_again(
    oidc_provider: Provider, tenant_a: Tenant, invited: User
) -> None:
    """After a move to another provider, the member is matched by e-mail once more."""
    configure(oidc_provider, tenant_a.municipality)
    idp_user = IdpUser(unique("hanako"), invited.email)
    oidc_provider.provision(users=[idp_user.spec()])
    assert sign_in(Client(), "kobe", idp_user).status_code == 302
    SsoIdentity.objects.filter(user=invited).update(
        issuer="https://login.microsoftonline.com/old-tenant/v2.0", subject="old-subject"
    )

    client = Client()
    assert sign_in(client, "kobe", idp_user).status_code == 302

    assert client.session["_auth_user_id"] == str(invited.pk)
    identity = SsoIdentity.objects.get(user=invited)
    assert identity.issuer == oidc_provider.issuer
    assert identity.subject != "old-subject"
