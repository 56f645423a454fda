"""A staff member enrols an authenticator and signs in, in a real browser."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import TOTP
from pytest_django.live_server_helper import LiveServer

from tests.isolation import PASSWORD, Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def totp_now(secret_base32: str) -> str:
    padded = secret_base32 + "=" * (-len(secret_base32) % 8)
    return f"{TOTP(base64.b32decode(padded)).token():06d}"


def test_first_sign_in_enrols_the_authenticator_then_reaches_the_console(
    live_server: LiveServer, tenant_a: Tenant, page: object
) -> None:
    """Password, then the QR/secret enrolment with a real code, then the staff console."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = live_server.url
    page.goto(f"{base}/kobe/staff/")
    expect(page).to_have_url(f"{base}/kobe/staff/login/?next=%2Fkobe%2Fstaff%2F")
    assert page.locator("html").get_attribute("lang") == "ja"

    page.get_by_label("ユーザー名").fill("kobe-clerk")
    page.get_by_label("パスワード").fill("a wrong password")
    page.get_by_role("button", name="次へ").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "ユーザー名またはパスワードが正しくありません"
    )

    page.get_by_label("ユーザー名").fill("kobe-clerk")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("認証アプリの登録")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")

    page.get_by_label("確認コード（6桁）").fill(
        "000000" if totp_now(secret) != "000000" else "111111"
    )
    page.get_by_role("button", name="登録してサインイン").click()
    expect(page.get_by_role("alert")).to_contain_text("確認コードが正しくありません")

    page.get_by_label("確認コード（6桁）").fill(totp_now(secret))
    page.get_by_role("button", name="登録してサインイン").click()
    expect(page).to_have_url(f"{base}/kobe/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("職員メニュー")
    expect(page.locator("main")).to_contain_text("福祉課")

    page.get_by_role("button", name="サインアウト").click()
    expect(page.get_by_role("status")).to_contain_text("サインアウトしました")
    page.goto(f"{base}/kobe/staff/")
    expect(page).to_have_url(f"{base}/kobe/staff/login/?next=%2Fkobe%2Fstaff%2F")


def test_skip_link_and_focus_are_usable_by_keyboard(
    live_server: LiveServer, tenant_a: Tenant, page: object
) -> None:
    """The first Tab reaches the skip link, which moves focus to the main content."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{live_server.url}/kobe/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="本文へ移動")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
