"""The case register's scopes in the admin console: a body without a health centre is told, in
Japanese and next to the scopes, why it cannot grant them.

Set MADOGUCHI_SCREENSHOTS to a folder to keep the pages at 360 and 1280 px.
"""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.api.clients.models import ApiClient
from tests.browser.screens import shoot
from tests.isolation import PASSWORD, Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_case_scope_is_refused_to_a_body_without_a_health_centre(
    live_server: LiveServer, tenant_b: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.set_default_timeout(30_000)
    base = live_server.url
    device = TOTPDevice.objects.create(user=tenant_b.staff["admin"], name="phone", confirmed=True)
    page.goto(f"{base}/sayo/staff/login/")
    page.get_by_label("ユーザー名").fill("sayo-admin")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    page.get_by_role("button", name="サインイン").click()
    page.goto(f"{base}/sayo/staff/admin/api-clients/")

    page.get_by_label("名前").fill("保健所連携")
    page.get_by_label("保健所：患者（感染症の症例）を読む").check()
    page.get_by_role("button", name="作成する").click()

    expect(page.locator("main")).to_contain_text("保健所を置いていないため")
    expect(page.get_by_label("保健所：患者（感染症の症例）を読む")).to_be_checked()
    assert not ApiClient.objects.exists()
    shoot(page, "api-client-case-scope-refused")
