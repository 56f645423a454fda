"""Public pages, the staff console's front page, error pages and security headers."""

from __future__ import annotations

import json
import re

import pytest
from django.http import HttpResponse
from django.test import Client

from madoguchi.accounts.views import PENDING_KEY
from madoguchi.audit.models import AuditEntry
from tests.isolation import PASSWORD, Tenant, assert_cannot_read, snapshot
from tests.tenants.factories import MunicipalityFactory


def text(response: HttpResponse) -> str:
    return response.content.decode()


# --- the site and a municipality's pages -----------------------------------------------------


def test_the_site_index_lists_served_municipalities_only(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """神戸市 and 佐用町 are linked; 兵庫県 and 佐用郡, loaded but not served, are not."""
    MunicipalityFactory(code="131016", name="千代田区", slug="chiyoda", is_active=False)
    response = Client().get("/")
    page = text(response)

    assert response.status_code == 200
    assert '<html lang="ja">' in page
    links = re.findall(r'<a class="card__title" href="([^"]+)">([^<]+)</a>', page)
    assert links == [("/kobe/", "神戸市"), ("/sayo/", "佐用町")]
    assert "佐用郡" not in page
    assert "千代田区" not in page


def test_the_site_index_says_when_nothing_is_served(db: None) -> None:
    """With no served municipality the index says so in Japanese."""
    page = text(Client().get("/"))
    assert "現在サービスを提供している自治体はありません。" in page


def test_a_municipality_page_shows_its_name_in_the_header(tenant_a: Tenant) -> None:
    """The header names the municipality and its prefecture; the heading names the service."""
    response = Client().get("/kobe/")
    page = text(response)

    assert response.status_code == 200
    assert '<a class="site-header__brand" href="/kobe/">神戸市</a>' in page
    assert '<span class="site-header__sub">兵庫県</span>' in page
    assert "<h1>神戸市 オンライン窓口</h1>" in page


@pytest.mark.parametrize("path", ["/nowhere/", "/nowhere/staff/", "/nowhere/staff/login/"])
def test_an_unknown_slug_is_a_japanese_404_naming_it(db: None, path: str) -> None:
    """Any path under an unknown slug gets the Japanese 404 naming that slug."""
    response = Client().get(path)
    assert response.status_code == 404
    assert (
        "「nowhere」という自治体は、このサイトでは見つかりません。"
        "トップページの一覧からお選びください。"
    ) in text(response)


def test_an_inactive_municipality_is_404(tenant_a: Tenant) -> None:
    """兵庫県 was loaded (as 神戸市's prefecture) but is not served."""
    response = Client().get("/280003/")
    assert response.status_code == 404
    assert "「280003」という自治体は、このサイトでは見つかりません。" in text(response)


def test_the_health_check_answers_ok(db: None) -> None:
    """``/healthz`` answers JSON ``{"status": "ok"}`` and is not cached."""
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


# --- error pages -----------------------------------------------------------------------------


def test_the_403_page_is_japanese(tenant_a: Tenant) -> None:
    """A refused page explains itself in Japanese."""
    response = tenant_a.client("clerk").get("/kobe/staff/audit/")
    page = text(response)
    assert response.status_code == 403
    assert '<html lang="ja">' in page
    assert "<h1>このページを表示する権限がありません</h1>" in page


def test_a_form_sent_without_csrf_token_gets_the_japanese_csrf_page(tenant_a: Tenant) -> None:
    """The password step is not even tried: no pending sign-in, nothing audited."""
    audit = snapshot(AuditEntry.objects.all())
    client = Client(enforce_csrf_checks=True)

    response = client.post("/kobe/staff/login/", {"username": "kobe-clerk", "password": PASSWORD})

    assert response.status_code == 403
    assert "<h1>送信を受け付けられませんでした</h1>" in text(response)
    assert PENDING_KEY not in client.session
    assert snapshot(AuditEntry.objects.all()) == audit


def test_a_form_sent_with_its_csrf_token_is_accepted(tenant_a: Tenant) -> None:
    """The token from the rendered form passes the CSRF check."""
    client = Client(enforce_csrf_checks=True)
    form = text(client.get("/kobe/staff/login/"))
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert match is not None

    response = client.post(
        "/kobe/staff/login/",
        {"username": "kobe-clerk", "password": PASSWORD, "csrfmiddlewaretoken": match.group(1)},
    )

    assert response["Location"] == "/kobe/staff/login/code/"


# --- the staff console -----------------------------------------------------------------------


def test_the_console_sends_anonymous_visitors_to_the_sign_in(tenant_a: Tenant) -> None:
    """Not signed in: redirect to the sign-in, with ``next`` back to the console."""
    response = Client().get("/kobe/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/kobe/staff/login/?next=%2Fkobe%2Fstaff%2F"


def test_the_console_does_not_accept_a_password_without_the_second_factor(
    tenant_a: Tenant,
) -> None:
    """A session logged in without the OTP step (force_login) is sent to the sign-in."""
    client = Client()
    client.force_login(tenant_a.staff["admin"])
    assert client.get("/kobe/staff/")["Location"] == "/kobe/staff/login/?next=%2Fkobe%2Fstaff%2F"


def roles_table(page: str) -> list[tuple[str, str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.DOTALL)
    assert body is not None
    return re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", body.group(1))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", [("自治体全体", "管理者")]),
        ("supervisor", [("福祉課", "監督者")]),
        ("clerk", [("福祉課", "担当者")]),
        ("viewer", [("福祉課", "閲覧者")]),
        ("clerk-other", [("市民課", "担当者")]),
    ],
)
def test_the_console_shows_the_members_roles(
    tenant_a: Tenant, role: str, expected: list[tuple[str, str]]
) -> None:
    """Each member sees their own department and role; only the admin gets the audit log link."""
    response = tenant_a.client(role).get("/kobe/staff/")
    page = text(response)

    assert response.status_code == 200
    assert roles_table(page) == expected
    assert f"{tenant_a.staff[role].username} さん、こんにちは。" in page
    assert ('href="/kobe/staff/audit/"' in page) is (role == "admin")


def test_the_console_refuses_staff_of_another_municipality(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """佐用町's admin gets 403 at 神戸市's console, without its departments or staff."""
    assert_cannot_read(
        tenant_b.client("admin"), "/kobe/staff/", must_not_contain=["福祉課", "kobe-admin"]
    )
    assert tenant_b.client("admin").get("/kobe/staff/").status_code == 403


# --- security headers ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/kobe/", "/kobe/staff/login/"])
def test_pages_carry_the_security_headers(tenant_a: Tenant, path: str) -> None:
    """CSP, X-Frame-Options DENY, nosniff and the referrer policy are on every page."""
    response = Client().get(path)

    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
