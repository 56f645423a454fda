"""Shared data for the API tests: the published 特別定額給付金, a real PNG and request helpers."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.fixtures import Settings

from madoguchi.audit.services import AuditActor
from madoguchi.core import ratelimit
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import ProcedureVersion
from madoguchi.procedures.services import procedure_publish
from madoguchi.tenants.models import Municipality

KYUFUKIN = "teigaku-kyufukin"

# A real 1×1 greyscale PNG (signature, IHDR, IDAT, IEND).
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\xb18\xf6\x14\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)

BANK = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "普通",
    "account_number": "1234567",
    "holder_name": "コウベ タロウ",
}


def publish_kyufukin(municipality: Municipality, **changes: Any) -> ProcedureVersion:
    """Publish the catalogue's 特別定額給付金 into ``municipality``, in its 福祉課."""
    data = {**catalogue_definition(KYUFUKIN), "department": "welfare", **changes}
    return procedure_publish(municipality=municipality, data=data, actor=AuditActor(label="test"))


def api_url(slug: str, path: str) -> str:
    return f"/api/v1/{slug}/{path.lstrip('/')}"


def valid_answers(file_answer: object, **changes: Any) -> dict[str, Any]:
    """Answers that pass every rule of the 特別定額給付金, with ``file_answer`` as the document."""
    return {
        "name": "神戸 太郎",
        "name_kana": "コウベ タロウ",
        "birth_date": "1980-04-01",
        "postal_code": "650-8570",
        "address": "兵庫県神戸市中央区加納町6丁目5番1号",
        "phone": "078-331-8181",
        "members": [
            {
                "name": "神戸 花子",
                "name_kana": "コウベ ハナコ",
                "birth_date": "1982-05-05",
                "relationship": "spouse",
            }
        ],
        "account": BANK,
        "id_document": file_answer,
        "agreement": True,
        **changes,
    }


def upload(
    client: Client,
    slug: str,
    *,
    content: bytes = PNG,
    name: str = "免許証.png",
    procedure: str = KYUFUKIN,
    field: str = "id_document",
) -> Any:
    """POST a file to the upload endpoint; the test client's response."""
    return client.post(
        api_url(slug, f"uploads?procedure={procedure}&field={field}"),
        data={"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")},
    )


def upload_ok(client: Client, slug: str, **kwargs: Any) -> dict[str, Any]:
    """Upload a file that must be accepted; its JSON (id, token, content_type, size, name)."""
    response = upload(client, slug, **kwargs)
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body, dict)
    return body


def file_answer(uploaded: dict[str, Any]) -> dict[str, Any]:
    return {key: uploaded[key] for key in ("id", "content_type", "size", "name")}


def claim(uploaded: dict[str, Any]) -> dict[str, Any]:
    return {"id": uploaded["id"], "token": uploaded["token"]}


def post_json(client: Client, url: str, body: object, **headers: Any) -> Any:
    return client.post(
        url, data=json.dumps(body, ensure_ascii=False), content_type="application/json", **headers
    )


def post_raw(client: Client, url: str, raw: bytes, **headers: Any) -> Any:
    return client.post(url, data=raw, content_type="application/json", **headers)


def post_application(
    client: Client, slug: str, body: object, *, code: str = KYUFUKIN, **headers: Any
) -> Any:
    return post_json(client, api_url(slug, f"procedures/{code}/applications"), body, **headers)


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an error response, checking the shape on the way."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "field", "details"}, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    for detail in error["details"]:
        assert set(detail) == {"field", "code", "message", "index", "subfield"}, detail
    assert isinstance(error, dict)
    return error


def use_temporary_media(settings: Settings, tmp_path: Path) -> Path:
    """Point MEDIA_ROOT at a folder of the test's own; return it."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


def freeze_ratelimit_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make rate-limit windows stand still, so that counting never straddles two windows."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
