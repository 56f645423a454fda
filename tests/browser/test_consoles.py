"""From an empty deployment to a staffed 佐用町, entirely through pages, in a real browser.

Set MADOGUCHI_SCREENSHOTS to a folder to keep a screenshot of each console page at 360 and
1280 px wide.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.tenants.models import Department, Membership, Municipality, Role
from tests.accounts.invitemail import link_in, mails
from tests.isolation import PASSWORD
from tests.procedures.test_submit import _SMTPServer, smtp_server

__all__ = ["smtp_server"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("MADOGUCHI_SCREENSHOTS", "")
NEW_PASSWORD = "sayo town hall passphrase 2026"


def totp_now(secret_base32: str) -> str:
    padded = secret_base32 + "=" * (-len(secret_base32) % 8)
    return f"{TOTP(base64.b32decode(padded)).token():06d}"


def shoot(page: Any, name: str) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})


def test_the_operator_adds_sayo_and_its_admin_sets_it_up(
    live_server: LiveServer, page: Any, chromium: Any, smtp_server: _SMTPServer, settings: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    settings.MADOGUCHI_SITE_URL = base
    operator = staff_user_create(username="operator", password=PASSWORD)
    operator.is_superuser = operator.is_staff = True
    operator.save(update_fields=["is_superuser", "is_staff"])
    device = TOTPDevice.objects.create(user=operator, name="phone", confirmed=True)
    assert not Municipality.objects.exists()

    # The operator signs in with both factors and lands in the console.
    page.goto(f"{base}/operator/")
    page.get_by_label("ユーザー名").fill("operator")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    page.get_by_role("button", name="サインイン").click()
    expect(page).to_have_url(f"{base}/operator/")
    shoot(page, "operator-home-empty")

    # 佐用町 is found by its reading and added as /sayo/.
    page.get_by_role("link", name="団体を追加する").click()
    page.get_by_label("団体名・よみ・団体コード").fill("さよう")
    page.get_by_role("button", name="検索する").click()
    expect(page.locator("#body-results")).to_contain_text("285013")
    shoot(page, "operator-find")
    page.get_by_role("link", name="佐用町を追加").click()
    expect(page.get_by_label("URL名")).to_have_value("sayo")
    shoot(page, "operator-add")
    page.get_by_label("すぐにサービスを開始する").check()
    page.get_by_role("button", name="追加する").click()
    expect(page.locator("#body-state")).to_have_text("サービス提供中")

    # The first admin is invited by e-mail.
    page.get_by_label("メールアドレス").fill("soumu@town.sayo.example")
    page.get_by_label("ユーザー名").fill("sayo-admin")
    page.get_by_label("表示名（氏名）").fill("佐用 花子")
    page.get_by_role("button", name="招待メールを送る").click()
    expect(page.get_by_role("status")).to_contain_text("soumu@town.sayo.example")
    shoot(page, "operator-body")
    [(recipients, _subject, body)] = mails(smtp_server)
    assert recipients == ["soumu@town.sayo.example"]

    # The admin, in a browser of their own, follows the link.
    admin_context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    admin = admin_context.new_page()
    admin.set_default_timeout(10_000)
    admin.goto(base + link_in(body))
    expect(admin).to_have_url(f"{base}/staff/invitation/")
    expect(admin.locator("#invitee-username")).to_have_text("sayo-admin")
    admin.locator("#id_password").fill("short")
    admin.get_by_label("パスワード（確認）").fill("short")
    admin.get_by_role("button", name="次へ").click()
    expect(admin.get_by_role("alert")).to_contain_text("短すぎます")
    shoot(admin, "invitation-password")
    admin.locator("#id_password").fill(NEW_PASSWORD)
    admin.get_by_label("パスワード（確認）").fill(NEW_PASSWORD)
    admin.get_by_role("button", name="次へ").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("認証アプリの登録")
    expect(admin.locator(".qr svg")).to_be_visible()
    shoot(admin, "invitation-code")
    secret = admin.locator("#totp-secret").inner_text().replace(" ", "")
    admin.get_by_label("確認コード（6桁）").fill(totp_now(secret))
    admin.get_by_role("button", name="登録して始める").click()
    expect(admin).to_have_url(f"{base}/sayo/staff/")

    # Two departments.
    admin.goto(f"{base}/sayo/staff/admin/")
    shoot(admin, "admin-home")
    admin.get_by_role("link", name="部署", exact=True).click()
    for code, name in (("jumin", "住民課"), ("kenko-fukushi", "健康福祉課")):
        admin.get_by_label("部署コード").fill(code)
        admin.get_by_label("部署名").fill(name)
        admin.get_by_role("button", name="作成する").click()
        expect(admin.locator("#departments")).to_contain_text(name)
    shoot(admin, "admin-departments")
    admin.get_by_role("link", name="住民課").click()
    expect(admin.locator("#open-work")).to_contain_text("処理中の申請")
    shoot(admin, "admin-department")

    # A clerk of 住民課 is invited.
    admin.goto(f"{base}/sayo/staff/admin/staff/invite/")
    admin.get_by_label("メールアドレス").fill("jumin@town.sayo.example")
    admin.get_by_label("ユーザー名").fill("sayo-jumin-clerk")
    admin.get_by_label("所属").select_option(label="住民課")
    admin.get_by_label("役割").select_option(label="担当者")
    shoot(admin, "admin-invite")
    admin.get_by_role("button", name="招待メールを送る").click()
    expect(admin).to_have_url(f"{base}/sayo/staff/admin/staff/")
    expect(admin.locator("#staff")).to_contain_text("sayo-jumin-clerk")
    expect(admin.locator("#staff")).to_contain_text("招待中")
    shoot(admin, "admin-staff")
    admin.get_by_role("link", name="sayo-admin").click()
    shoot(admin, "admin-member")
    admin_context.close()

    assert [m[0] for m in mails(smtp_server)] == [
        ["soumu@town.sayo.example"],
        ["jumin@town.sayo.example"],
    ]
    sayo = Municipality.objects.get(slug="sayo")
    assert (sayo.code, sayo.name, sayo.is_active) == ("285013", "佐用町", True)
    assert sorted(Department.objects.filter(municipality=sayo).values_list("name", flat=True)) == [
        "住民課",
        "健康福祉課",
    ]
    clerk = User.objects.get(username="sayo-jumin-clerk")
    membership = Membership.objects.get(user=clerk)
    assert (membership.role, membership.department.name if membership.department else "") == (
        Role.CLERK,
        "住民課",
    )
    assert User.objects.get(username="sayo-admin").is_active
