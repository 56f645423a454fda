"""Tests for madoguchi.api.errors and the wiring in madoguchi.api.urls: one error shape always."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from madoguchi.api.errors import ERROR_CODE_HELP, ApiErrorCode
from madoguchi.core.uploads import UploadErrorCode
from madoguchi.procedures import api as procedures_api
from madoguchi.procedures.status import LookupErrorCode
from tests.api.support import KYUFUKIN, api_url, error_of, post_application, publish_kyufukin
from tests.isolation import Tenant, signed_in_client


@pytest.fixture
def kobe(tenant_a: Tenant) -> Tenant:
    publish_kyufukin(tenant_a.municipality)
    return tenant_a


def test_the_domain_codes_are_api_codes_unchanged() -> None:
    """Clients key on the same words whichever layer refused them."""
    api_codes = {code.value for code in ApiErrorCode}

    assert {code.value for code in UploadErrorCode} <= api_codes
    assert {code.value for code in LookupErrorCode} <= api_codes


def test_every_code_is_documented_with_its_status() -> None:
    assert set(ERROR_CODE_HELP) == set(ApiErrorCode)
    assert all(400 <= status <= 599 for status, _meaning in ERROR_CODE_HELP.values())


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "procedures", "GET"),
        ("put", f"procedures/{KYUFUKIN}", "GET"),
        ("get", "status", "POST"),
        ("get", "uploads", "POST"),
        ("patch", f"procedures/{KYUFUKIN}/applications", "POST"),
    ],
)
@pytest.mark.django_db
def test_a_method_an_endpoint_lacks_is_405_with_allow(
    client: Client, method: str, path: str, allowed: str
) -> None:
    response = getattr(client, method)(api_url("kobe", path))

    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert error_of(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "url",
    ["/api/", "/api/v2/kobe/procedures", "/api/v1/kobe/nothing", "/api/v1/kobe/procedures/"],
)
@pytest.mark.django_db
def test_an_unknown_api_url_is_404_in_the_error_shape(client: Client, url: str) -> None:
    for response in (client.get(url), client.post(url, data=b"{}", content_type="text/plain")):
        assert response.status_code == 404
        assert error_of(response)["code"] == "endpoint_not_found"


def test_a_staff_session_neither_blocks_nor_authorises_a_call(client: Client, kobe: Tenant) -> None:
    """The API is cookie-less: a signed-in browser without CSRF token gets the anonymous answer."""
    staff = signed_in_client(kobe.staff["admin"])
    staff.handler.enforce_csrf_checks = True
    body = {"receipt_number": "1234567890", "secret": "ACDEFGHJ"}

    as_staff = staff.post(api_url("kobe", "status"), data=body, content_type="application/json")
    anonymous = client.post(api_url("kobe", "status"), data=body, content_type="application/json")

    assert as_staff.status_code == anonymous.status_code
    assert as_staff.content == anonymous.content


def test_messages_are_japanese_whatever_the_client_asks(client: Client, kobe: Tenant) -> None:
    response = post_application(client, "kobe", {"answers": {}}, HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Language"] == "ja"
    error = error_of(response)
    assert error["message"] == "回答に誤りがあります（9項目）。details をご確認ください。"
    assert error["details"][0]["message"] == "氏名を入力してください。"


def test_a_broken_multipart_body_is_400(client: Client, kobe: Tenant) -> None:
    response = client.generic(
        "POST",
        api_url("kobe", f"uploads?procedure={KYUFUKIN}&field=id_document"),
        data=b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\n',
        content_type="multipart/form-data; boundary=",
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_request"


def test_a_bug_is_a_500_in_the_error_shape_and_logged(
    client: Client, kobe: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(procedures_api, "procedure_list_published", broken)

    with caplog.at_level(logging.ERROR, logger="madoguchi.api.errors"):
        response = client.get(api_url("kobe", "procedures"))

    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert "a bug" not in response.content.decode()
    assert any(record.exc_info for record in caplog.records)
