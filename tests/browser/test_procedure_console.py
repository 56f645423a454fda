"""An admin publishes a procedure from YAML in the console, in a browser."""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.procedures.models import Application, Draft, ProcedureVersion
from tests.isolation import PASSWORD, Tenant
from tests.procedures.test_catalogue_admin import INU

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_uploads_fixes_previews_and_publishes_a_procedure(
    live_server: LiveServer, tenant_a: Tenant, chromium: object
) -> None:
    from playwright.sync_api import Browser, Page, expect

    assert isinstance(chromium, Browser)
    base = live_server.url
    device = TOTPDevice.objects.create(user=tenant_a.staff["admin"], name="phone", confirmed=True)
    admin_context = chromium.new_context(locale="ja-JP")
    resident_context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    admin: Page = admin_context.new_page()
    resident: Page = resident_context.new_page()
    for p in (admin, resident):
        # Generous: the machines that run the suite are often busy.
        p.set_default_timeout(30_000)

    admin.goto(f"{base}/kobe/staff/login/")
    admin.get_by_label("ユーザー名").fill("kobe-admin")
    admin.get_by_label("パスワード").fill(PASSWORD)
    admin.get_by_role("button", name="次へ").click()
    admin.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    admin.get_by_role("button", name="サインイン").click()

    # A definition with a typo in a field's type: the error is shown at its line.
    admin.goto(f"{base}/kobe/staff/procedures/")
    admin.get_by_role("link", name="定義をアップロードする").click()
    broken = INU.replace("        type: email\n", "        type: emial\n")
    admin.get_by_label("定義（YAML）を貼り付ける").fill(broken)
    admin.get_by_role("button", name="確認して登録する").click()
    expect(admin.locator("#problems")).to_contain_text("14行目 9文字目")
    expect(admin.locator("#problems")).to_contain_text("unknown type 'emial'")
    expect(admin.locator("#line-14")).to_contain_text("type: emial")
    assert not ProcedureVersion.objects.exists()

    # Fixed in the same box, it is stored as an unpublished version.
    box = admin.get_by_label("定義（YAML）を貼り付ける")
    expect(box).to_have_value(broken)
    box.fill(INU)
    admin.get_by_role("button", name="確認して登録する").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("犬の登録 第1版")
    resident.goto(f"{base}/kobe/procedures/")
    expect(resident.locator("main")).not_to_contain_text("犬の登録")

    # The preview is the residents' wizard, marked as such; it stores nothing.
    admin.get_by_role("link", name="住民の画面でプレビューする").click()
    expect(admin.locator(".preview-banner")).to_contain_text("この版はまだ公開されていません。")
    admin.get_by_role("button", name="申請を始める").click()
    admin.get_by_label("氏名").fill("神戸 花子")
    admin.get_by_label("メールアドレス").fill("hanako@example.jp")
    admin.get_by_role("button", name="次へ進む").click()
    admin.get_by_label("犬の名前").fill("ポチ")
    admin.get_by_role("button", name="次へ進む").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("入力内容の確認")
    admin.get_by_role("button", name="申請する").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("申請は送信されていません")
    assert (Draft.objects.count(), Application.objects.count()) == (0, 0)

    # Published, it is in the residents' catalogue.
    admin.get_by_role("link", name="版のページに戻る", exact=True).click()
    admin.get_by_role("button", name="この版を公開する").click()
    expect(admin.locator("main")).to_contain_text("第1版を公開しました。")
    resident.goto(f"{base}/kobe/procedures/")
    resident.get_by_role("link", name="犬の登録").click()
    expect(resident.get_by_role("heading", level=1)).to_have_text("犬の登録")

    admin_context.close()
    resident_context.close()
