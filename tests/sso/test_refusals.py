"""Every way a single sign-on can go wrong gets a Japanese page, an audit entry and no session.

The wrong tokens come from the real provider: its test validator signs tokens with a wrong
issuer, audience, nonce or expiry for clients tagged so (see tests/oidc_provider/validator.py).
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from django.test import Client
from joserfc import jwt
from joserfc.jwk import OctKey
from pytest_django.fixtures import Settings

from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEntry
from madoguchi.sso import oidc
from madoguchi.sso.errors import SsoError, SsoErrorCode
from madoguchi.sso.models import SsoIdentity
from madoguchi.tenants.models import Membership, Role
from tests.isolation import Tenant, snapshot
from tests.sso.flow import (
    IdpUser,
    Provider,
    callback,
    configure,
    idp_sign_in,
    page_text,
    sign_in,
    start,
    unique,
)
from tests.sso.provider import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(tenant_a: Tenant) -> User:
    user = tenant_a.staff["viewer"]
    user.email = f"{unique('hanako')}@city.kobe.example"
    user.save(update_fields=["email"])
    return user


def failures() -> list[str]:
    entries = AuditEntry.objects.filter(chain="281000", action="auth.sso_failed").order_by("id")
    return [entry.data["reason"] for entry in entries]


def assert_refused(response: object, client: Client, status: int, code: str, text: str) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    body = page_text(response)  # type: ignore[arg-type]
    assert f'data-sso-error="{code}"' in body
    assert text in body
    assert 'href="/kobe/staff/login/"' in body
    assert "_auth_user_id" not in client.session
    assert failures()[-1] == code


@pytest.mark.parametrize(
    ("tag", "code", "text"),
    [
        ("[wrong-issuer]", "wrong_issuer", "発行元が、この自治体の設定と一致しません"),
        ("[wrong-audience]", "wrong_audience", "このサービスあてのものではありません"),
        ("[extra-audience]", "wrong_audience", "このサービスあてのものではありません"),
        ("[wrong-nonce]", "wrong_nonce", "この画面で始めたサインインのものではありません"),
        ("[expired]", "token_expired", "有効期限が切れています"),
    ],
)
def test_a_signed_token_that_fails_a_check_is_refused(
    oidc_provider: Provider, tenant_a: Tenant, invited: User, tag: str, code: str, text: str
) -> None:
    """Wrong issuer, audience or nonce, or an expired token: refused, nothing linked or granted."""
    welfare = tenant_a.departments["welfare"]
    configure(oidc_provider, tenant_a.municipality, tags=tag, mappings=[("w", welfare, Role.CLERK)])
    idp_user = IdpUser(unique("hanako"), invited.email, ["w"])
    oidc_provider.provision(users=[idp_user.spec()])
    memberships_before = snapshot(Membership.objects.all())
    client = Client()

    response = sign_in(client, "kobe", idp_user)

    assert_refused(response, client, 400, code, text)
    assert not SsoIdentity.objects.exists()
    assert snapshot(Membership.objects.all()) == memberships_before


def test_the_clock_skew_setting_is_the_only_leeway(
    oidc_provider: Provider, tenant_a: Tenant, invited: User, settings: Settings
) -> None:
    """A token that expired ten minutes ago passes only with a leeway of more than that."""
    settings.SSO_CLOCK_SKEW_SECONDS = 900
    configure(oidc_provider, tenant_a.municipality, tags="[expired]")
    idp_user = IdpUser(unique("hanako"), invited.email)
    oidc_provider.provision(users=[idp_user.spec()])
    assert sign_in(Client(), "kobe", idp_user).status_code == 302


def test_a_discovery_document_naming_another_issuer_is_refused(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """The issuer configured must be the one the provider names (reached here as localhost)."""
    other_name = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    configure(oidc_provider, tenant_a.municipality, issuer=other_name)
    client = Client()

    response = client.get("/kobe/staff/sso/start/")

    assert_refused(
        response, client, 400, "wrong_issuer", "発行元が、この自治体の設定と一致しません"
    )


def test_a_provider_that_does_not_answer_gets_a_clear_page(tenant_a: Tenant) -> None:
    """Nothing listens on the issuer's port: a 502 page in Japanese, not a 500."""
    from madoguchi.sso.models import SsoConfig

    SsoConfig.objects.create(
        municipality=tenant_a.municipality,
        enabled=True,
        issuer=f"http://127.0.0.1:{free_port()}/o",
        client_id="madoguchi",
    )
    client = Client()

    response = client.get("/kobe/staff/sso/start/")

    assert_refused(
        response, client, 502, "provider_unavailable", "認証サービスに接続できませんでした"
    )


def test_a_callback_with_an_unknown_state_is_refused(
    oidc_provider: Provider, tenant_a: Tenant, invited: User
) -> None:
    """A provider answer for a sign-in started in another browser is not accepted."""
    configure(oidc_provider, tenant_a.municipality)
    idp_user = IdpUser(unique("hanako"), invited.email)
    oidc_provider.provision(users=[idp_user.spec()])
    answer = idp_sign_in(start(Client(), "kobe"), idp_user)
    attacker = Client()

    response = callback(attacker, answer)

    assert_refused(response, attacker, 400, "state_mismatch", "もう一度サインインしてください")
    assert not SsoIdentity.objects.exists()


def test_a_callback_is_used_once(oidc_provider: Provider, tenant_a: Tenant, invited: User) -> None:
    """Replaying the provider's answer in the same browser is refused: the state is spent."""
    configure(oidc_provider, tenant_a.municipality)
    idp_user = IdpUser(unique("hanako"), invited.email)
    oidc_provider.provision(users=[idp_user.spec()])
    client = Client()
    answer = idp_sign_in(start(client, "kobe"), idp_user)
    assert callback(client, answer).status_code == 302
    client.post("/kobe/staff/logout/")

    response = callback(client, answer)

    assert_refused(response, client, 400, "state_mismatch", "もう一度サインインしてください")


def test_the_provider_refusing_the_sign_in_is_explained(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    """An ``error`` answer (the user cancelled at the provider) is a page, not a crash."""
    configure(oidc_provider, tenant_a.municipality)
    client = Client()
    state = dict(p.split("=", 1) for p in start(client, "kobe").split("?", 1)[1].split("&"))[
        "state"
    ]

    response = client.get("/kobe/staff/sso/callback/", {"state": state, "error": "access_denied"})

    assert_refused(response, client, 400, "provider_refused", "サインインが完了しませんでした")


@pytest.mark.parametrize(
    "query",
    [{}, {"state": ""}, {"code": "x"}, {"state": "x" * 5000, "code": "y"}, {"state": "\x00"}],
)
def test_malformed_callbacks_get_a_page(
    oidc_provider: Provider, tenant_a: Tenant, query: dict[str, str]
) -> None:
    configure(oidc_provider, tenant_a.municipality)
    client = Client()
    response = client.get("/kobe/staff/sso/callback/", query)
    assert response.status_code == 400
    assert "data-sso-error=" in page_text(response)


def test_a_wrong_code_is_refused_by_the_token_endpoint(
    oidc_provider: Provider, tenant_a: Tenant
) -> None:
    configure(oidc_provider, tenant_a.municipality)
    client = Client()
    url = start(client, "kobe")
    state = url.split("state=", 1)[1].split("&", 1)[0]
    response = client.get("/kobe/staff/sso/callback/", {"state": state, "code": "forged"})
    assert_refused(response, client, 400, "token_refused", "正しい応答が得られませんでした")


def test_sign_in_is_not_offered_where_it_is_not_configured(tenant_a: Tenant) -> None:
    client = Client()
    response = client.get("/kobe/staff/sso/start/")
    assert response.status_code == 404
    assert "外部のアカウントによるサインインが設定されていません" in page_text(response)


def _metadata(provider: Provider) -> oidc.ProviderMetadata:
    return oidc.provider_metadata(provider.issuer)


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _claims(provider: Provider) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "aud": "madoguchi",
        "sub": "1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
    }


def test_an_unsigned_token_is_refused(oidc_provider: Provider, db: None) -> None:
    """``alg: none`` never passes, whatever its claims say."""
    with pytest.raises(SsoError) as refused:
        oidc.id_token_validate(
            id_token=_unsigned(_claims(oidc_provider)),
            metadata=_metadata(oidc_provider),
            client_id="madoguchi",
            nonce="n",
        )
    assert refused.value.code == SsoErrorCode.BAD_SIGNATURE


def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused(
    oidc_provider: Provider, db: None
) -> None:
    """The algorithm-confusion attack: HS256 keyed with the provider's public key."""
    jwks = requests.get(f"{oidc_provider.issuer}/.well-known/jwks.json", timeout=10).json()
    public = json.dumps(jwks["keys"][0]).encode()
    token = jwt.encode(
        {"alg": "HS256", "kid": jwks["keys"][0].get("kid")},
        _claims(oidc_provider),
        OctKey.import_key(public),
    )
    with pytest.raises(SsoError) as refused:
        oidc.id_token_validate(
            id_token=token, metadata=_metadata(oidc_provider), client_id="madoguchi", nonce="n"
        )
    assert refused.value.code == SsoErrorCode.BAD_SIGNATURE


def test_only_asymmetric_algorithms_are_taken_from_discovery(
    oidc_provider: Provider, db: None
) -> None:
    """The provider also offers HS256; madoguchi accepts only what a public key can verify."""
    document = requests.get(
        f"{oidc_provider.issuer}/.well-known/openid-configuration", timeout=10
    ).json()
    assert "HS256" in document["id_token_signing_alg_values_supported"]
    metadata = _metadata(oidc_provider)
    assert "RS256" in metadata.algorithms
    assert "HS256" not in metadata.algorithms
    assert "none" not in metadata.algorithms


def test_starting_sign_ins_is_rate_limited_per_client(
    oidc_provider: Provider, tenant_a: Tenant, settings: Settings
) -> None:
    """Past the per-address limit, a 429 page with Retry-After and an audit entry."""
    settings.STAFF_LOGIN_RATE_PER_IP = 2
    configure(oidc_provider, tenant_a.municipality)
    client = Client()
    start(client, "kobe")
    start(client, "kobe")

    response = client.get("/kobe/staff/sso/start/")

    assert_refused(response, client, 429, "rate_limited", "しばらくしてからもう一度お試しください")
    assert int(response["Retry-After"]) > 0
