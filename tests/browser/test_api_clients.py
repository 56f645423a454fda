"""An admin creates an API client in the console, in a browser, and sees its secret once.

Set MADOGUCHI_SCREENSHOTS to a folder to keep the pages at 360 and 1280 px.
"""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.api.clients.models import ApiClient
from madoguchi.api.clients.services import api_token_issue
from tests.browser.screens import shoot
from tests.isolation import PASSWORD, Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_client_from_the_admin_menu(
    live_server: LiveServer, tenant_a: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.set_default_timeout(30_000)
    base = live_server.url
    device = TOTPDevice.objects.create(user=tenant_a.staff["admin"], name="phone", confirmed=True)
    page.goto(f"{base}/kobe/staff/login/")
    page.get_by_label("ユーザー名").fill("kobe-admin")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    page.get_by_role("button", name="サインイン").click()

    page.get_by_role("link", name="API クライアント（外部システム連携）").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API クライアント")
    shoot(page, "api-clients-empty")
    page.get_by_label("名前").fill("住民記録システム")
    page.get_by_label("申請を読む（回答・添付を含む）").check()
    page.get_by_label("申請の状態を変える・メモを書く（一括変更を含む）").check()
    page.get_by_role("button", name="作成する").click()

    secret = page.locator("#client-secret").inner_text()
    client = ApiClient.objects.get(name="住民記録システム")
    assert api_token_issue(client_id=client.client_id, client_secret=secret) is not None
    shoot(page, "api-client-secret")
    page.get_by_role("link", name="写しました").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("住民記録システム")
    expect(page.locator("main")).not_to_contain_text(secret)
    shoot(page, "api-client-detail")
    page.goto(f"{base}/kobe/staff/admin/api-clients/")
    expect(page.locator("#api-clients")).to_contain_text("住民記録システム")
    shoot(page, "api-clients-list")
