"""API clients: secrets stored hashed, tokens from the token endpoint, rotation, revocation."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from madoguchi.api.clients.models import ApiAccessToken, ApiClient, ApiClientSecret
from madoguchi.api.clients.services import (
    ApiClientError,
    ApiClientErrorCode,
    api_client_create,
    api_client_revoke,
    api_client_secret_rotate,
    api_token_issue,
)
from madoguchi.audit.models import AuditEntry
from tests.api.linkage.support import ADMIN, call, new_client
from tests.isolation import Tenant

TOKEN_URL = "/api/v1/oauth/token"


def _token(client: Client, client_id: str, secret: str) -> Any:
    return client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def test_the_secret_is_stored_only_as_a_hash(tenant_a: Tenant) -> None:
    api_client, secret = new_client(tenant_a.municipality)

    stored = ApiClientSecret.objects.get(client=api_client)
    assert secret.startswith("mdgs_")
    assert secret not in stored.secret_hash
    assert stored.hint == secret[-4:]
    assert api_client.service_user.has_usable_password() is False
    assert api_client.service_user.is_active is False


def test_a_client_needs_a_name_and_a_known_scope(tenant_a: Tenant) -> None:
    with pytest.raises(ApiClientError) as no_scope:
        api_client_create(
            municipality=tenant_a.municipality, name="x", scopes=["root"], actor=ADMIN
        )
    with pytest.raises(ApiClientError) as no_name:
        api_client_create(
            municipality=tenant_a.municipality, name=" ", scopes=["applications:read"], actor=ADMIN
        )

    assert no_scope.value.code == ApiClientErrorCode.SCOPES_REQUIRED
    assert no_name.value.code == ApiClientErrorCode.NAME_REQUIRED
    assert ApiClient.objects.count() == 0


def test_the_token_endpoint_issues_a_short_lived_token(
    client: Client, tenant_a: Tenant, settings: Settings
) -> None:
    settings.API_TOKEN_LIFETIME_SECONDS = 300
    api_client, secret = new_client(tenant_a.municipality, ["applications:read"])

    response = _token(client, api_client.client_id, secret)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "applications:read"
    assert response["Cache-Control"] == "no-store"
    stored = ApiAccessToken.objects.get(client=api_client)
    assert body["access_token"] not in stored.token_hash
    assert (
        AuditEntry.objects.filter(action="api_client.token", object_id=str(api_client.pk)).count()
        == 1
    )


def test_the_token_endpoint_takes_http_basic_credentials(client: Client, tenant_a: Tenant) -> None:
    api_client, secret = new_client(tenant_a.municipality)
    basic = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()

    response = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("grant", "wrong_secret", "status", "error"),
    [
        ("client_credentials", True, 401, "invalid_client"),
        ("password", False, 400, "unsupported_grant_type"),
    ],
)
def test_the_token_endpoint_refuses_in_oauth_terms(
    client: Client, tenant_a: Tenant, grant: str, wrong_secret: bool, status: int, error: str
) -> None:
    api_client, secret = new_client(tenant_a.municipality)

    response = client.post(
        TOKEN_URL,
        {
            "grant_type": grant,
            "client_id": api_client.client_id,
            "client_secret": secret + "x" if wrong_secret else secret,
        },
    )

    assert response.status_code == status
    assert response.json()["error"] == error
    assert ApiAccessToken.objects.count() == 0


def test_an_expired_token_is_refused(client: Client, tenant_a: Tenant) -> None:
    api_client, secret = new_client(tenant_a.municipality)
    issued = api_token_issue(client_id=api_client.client_id, client_secret=secret)
    assert issued is not None
    ApiAccessToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = call(client, "get", "/api/v1/kobe/applications", issued.token)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_call_without_a_token_is_refused(client: Client, tenant_a: Tenant) -> None:
    response = call(client, "get", "/api/v1/kobe/applications", None)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_rotation_keeps_the_old_secret_for_the_overlap_only(tenant_a: Tenant) -> None:
    api_client, old = new_client(tenant_a.municipality)

    new = api_client_secret_rotate(
        client=api_client, actor=ADMIN, overlap=datetime.timedelta(hours=1)
    )

    assert api_token_issue(client_id=api_client.client_id, client_secret=old) is not None
    assert api_token_issue(client_id=api_client.client_id, client_secret=new) is not None
    ApiClientSecret.objects.filter(expires_at__isnull=False).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert api_token_issue(client_id=api_client.client_id, client_secret=old) is None
    assert api_token_issue(client_id=api_client.client_id, client_secret=new) is not None


def test_revocation_stops_tokens_and_secrets_at_once(client: Client, tenant_a: Tenant) -> None:
    api_client, secret = new_client(tenant_a.municipality)
    issued = api_token_issue(client_id=api_client.client_id, client_secret=secret)
    assert issued is not None

    api_client_revoke(client=api_client, actor=ADMIN)

    assert call(client, "get", "/api/v1/kobe/applications", issued.token).status_code == 401
    assert api_token_issue(client_id=api_client.client_id, client_secret=secret) is None
    with pytest.raises(ApiClientError):
        api_client_secret_rotate(client=api_client, actor=ADMIN)


def test_a_call_notes_when_the_client_was_last_used(client: Client, tenant_a: Tenant) -> None:
    api_client, secret = new_client(tenant_a.municipality)
    issued = api_token_issue(client_id=api_client.client_id, client_secret=secret)
    assert issued is not None
    assert api_client.last_used_at is None

    call(client, "get", "/api/v1/kobe/applications", issued.token)

    api_client.refresh_from_db()
    assert api_client.last_used_at is not None


def test_calls_past_the_client_limit_get_429_with_retry_after(
    client: Client, tenant_a: Tenant, settings: Settings, frozen_clock: None
) -> None:
    settings.API_CLIENT_CALLS_PER_MINUTE = 2
    api_client, secret = new_client(tenant_a.municipality)
    issued = api_token_issue(client_id=api_client.client_id, client_secret=secret)
    assert issued is not None

    statuses = [
        call(client, "get", "/api/v1/kobe/applications", issued.token).status_code for _ in range(3)
    ]
    refused = call(client, "get", "/api/v1/kobe/applications", issued.token)

    assert statuses == [200, 200, 429]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
