"""Helpers of the data-linkage API tests: clients, tokens and calls with a bearer token."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.test import Client
from django.utils import timezone

from madoguchi.api.clients.models import ApiClient
from madoguchi.api.clients.services import api_client_create, api_token_issue
from madoguchi.audit.services import AuditActor
from madoguchi.tenants.models import Municipality

ADMIN = AuditActor(label="test-admin")
ALL_SCOPES = [
    "applications:read",
    "applications:transition",
    "webhooks:manage",
    "payments:export",
    "consultations:read",
    "consultations:write",
    "opendata:read",
    "opendata:write",
]


def new_client(
    municipality: Municipality, scopes: list[str] | None = None, name: str = "住民記録システム"
) -> tuple[ApiClient, str]:
    """A client and its secret."""
    return api_client_create(
        municipality=municipality, name=name, scopes=scopes or ALL_SCOPES, actor=ADMIN
    )


def token_for(
    municipality: Municipality, scopes: list[str] | None = None, name: str = "基幹系"
) -> str:
    client, secret = new_client(municipality, scopes, name)
    issued = api_token_issue(client_id=client.client_id, client_secret=secret)
    assert issued is not None
    return issued.token


def call(client: Client, method: str, url: str, token: str | None, body: Any = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(
        url, data=json.dumps(body, ensure_ascii=False), content_type="application/json", **headers
    )


# The case register's scopes: only a body that runs a health centre may hold them.
CASE_SCOPES = ["cases:read", "cases:write", "notifications:write", "selfreports:read"]


def notification_body(clinic: int, /, **changes: Any) -> dict[str, Any]:
    """A 発生届 (COVID-19, 患者（確定例）, living in Kobe) dated by the real clock."""
    today = timezone.localdate()
    body: dict[str, Any] = {
        "clinic": clinic,
        "category": "patient",
        "name": "山田 太郎",
        "name_kana": "やまだ たろう",
        "sex": "male",
        "birth_date": "1990-04-01",
        "address": "神戸市中央区加納町6-5-1",
        "residence_code": "281000",
        "phone": "090-1234-5678",
        "email": "taro@example.jp",
        "symptoms": ["fever", "cough"],
        "test_method": "antigen",
        "specimen": "nasal",
        "diagnosis_date": today.isoformat(),
        "onset_date": (today - datetime.timedelta(days=1)).isoformat(),
        "specimen_date": today.isoformat(),
    }
    return {**body, **changes}
