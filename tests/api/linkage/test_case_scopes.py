"""The case register's scopes are granted only to clients of a body that runs a health centre."""

from __future__ import annotations

import pytest

from madoguchi.accounts.models import User
from madoguchi.api.clients.models import ApiClient
from madoguchi.api.clients.services import ApiClientError, ApiClientErrorCode, api_client_create
from tests.api.linkage.support import ADMIN, CASE_SCOPES
from tests.isolation import Tenant
from tests.surveillance.factories import make_world


def _url(tenant: Tenant) -> str:
    return tenant.url("staff/admin/api-clients/")


@pytest.mark.parametrize("scope", CASE_SCOPES)
def test_the_console_refuses_a_case_scope_without_a_health_centre(
    tenant_b: Tenant, scope: str
) -> None:
    users = User.objects.count()

    response = tenant_b.client("admin").post(
        _url(tenant_b), {"name": "保健所連携", "scopes": ["applications:read", scope]}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "保健所を置いていないため" in page
    assert "保健所を置く自治体（都道府県・保健所設置市）" in page
    assert not ApiClient.objects.exists()
    assert User.objects.count() == users


def test_the_service_refuses_with_a_stable_code(tenant_b: Tenant) -> None:
    with pytest.raises(ApiClientError) as refused:
        api_client_create(
            municipality=tenant_b.municipality, name="x", scopes=CASE_SCOPES, actor=ADMIN
        )

    assert refused.value.code == ApiClientErrorCode.HEALTH_CENTRE_ONLY
    assert refused.value.field == "scopes"
    assert not ApiClient.objects.exists()


def test_a_body_with_a_health_centre_grants_them(tenant_a: Tenant, tenant_b: Tenant) -> None:
    make_world(tenant_a, tenant_b)

    response = tenant_a.client("admin").post(
        _url(tenant_a), {"name": "保健所システム", "scopes": CASE_SCOPES}
    )

    assert response.status_code == 200
    assert sorted(ApiClient.objects.get().scopes) == sorted(CASE_SCOPES)


def test_the_form_lists_the_case_scopes_with_their_labels(tenant_a: Tenant) -> None:
    page = tenant_a.client("admin").get(_url(tenant_a)).content.decode()

    for scope in CASE_SCOPES:
        assert f'value="{scope}"' in page
    assert "保健所：医療機関の発生届を受け付ける" in page
