"""From an empty deployment to a serving 佐用町, entirely through pages, in a real browser.

The operator adds the town and invites its admin; the admin enrols the second factor, creates
departments, invites a clerk, sets the contact points, publishes a procedure from YAML and adds
FAQ entries; a resident applies and the clerk, once signed in, processes the application.

Set MADOGUCHI_SCREENSHOTS to a folder to keep a screenshot of each console page at 360 and
1280 px wide.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.consultation.models import FaqEntry
from madoguchi.consultation.retrieval.store import index_store
from madoguchi.procedures import catalogue
from madoguchi.procedures.models import Application, ProcedureVersion
from madoguchi.tenants.models import ContactPoint, Department, Membership, Municipality, Role
from tests.accounts.invitemail import link_in, mails
from tests.browser.screens import shoot
from tests.isolation import PASSWORD
from tests.procedures.test_submit import _SMTPServer, smtp_server

__all__ = ["smtp_server"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "sayo town hall passphrase 2026"


def totp_now(secret_base32: str) -> str:
    padded = secret_base32 + "=" * (-len(secret_base32) % 8)
    return f"{TOTP(base64.b32decode(padded)).token():06d}"


def fresh_code(device: TOTPDevice) -> str:
    """A code the device accepts now: the current step's, or the next one's (within tolerance)
    when the current step was already used, as happens right after enrolment."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if device.last_t is not None and totp.t() <= device.last_t:
        totp.drift = device.drift + device.last_t - totp.t() + 1
    return f"{totp.token():06d}"


@pytest.fixture(autouse=True)
def _fresh_indexes() -> Iterator[None]:
    """Knowledge indexes are cached by municipality id, which repeats between tests."""
    index_store.clear(vectors=False)
    yield
    index_store.clear(vectors=False)


# The bundled 粗大ごみ definition, handled by the new town's 住民課.
SODAI_GOMI = (
    resources.files(catalogue)
    .joinpath("sodai-gomi.yaml")
    .read_text("utf-8")
    .replace("department: kankyo\n", "department: jumin\n")
)


def test_the_operator_adds_sayo_and_its_admin_sets_it_up_until_it_serves(
    live_server: LiveServer, page: Any, chromium: Any, smtp_server: _SMTPServer, settings: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    settings.MADOGUCHI_SITE_URL = base
    # Lexical answers only: loading the embedding model would make the test slow, not truer.
    settings.CONSULTATION_EMBEDDER = "none"
    assert "department: jumin\n" in SODAI_GOMI
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

    # The contact points, from the settings page the staff menu links.
    admin.goto(f"{base}/sayo/staff/")
    admin.get_by_role("link", name="自治体の設定（名称・連絡先）").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("自治体の設定")
    for key, name, phone, department in (
        ("main", "佐用町役場", "0790-82-2121", ""),
        ("sodai_gomi", "粗大ごみ受付（住民課）", "0790-82-0661", "住民課"),
    ):
        admin.get_by_role("link", name="連絡先を追加する").click()
        admin.get_by_label("キー").fill(key)
        admin.get_by_label("名称").fill(name)
        admin.get_by_label("電話番号").fill(phone)
        admin.get_by_label("受付時間").fill("平日 8時30分〜17時15分")
        if department:
            admin.get_by_label("担当部署").select_option(label=department)
        admin.get_by_role("button", name="保存する").click()
        expect(admin.locator(f'[data-contact="{key}"]')).to_contain_text(phone)
    shoot(admin, "admin-settings")

    # A procedure from YAML: uploaded, previewed as a resident sees it, published.
    admin.goto(f"{base}/sayo/staff/")
    admin.get_by_role("link", name="手続きの管理（定義・公開）").click()
    admin.get_by_role("link", name="定義をアップロードする").click()
    admin.get_by_label("定義（YAML）を貼り付ける").fill(SODAI_GOMI)
    admin.get_by_role("button", name="確認して登録する").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("粗大ごみ収集の申込 第1版")
    admin.get_by_role("link", name="住民の画面でプレビューする").click()
    expect(admin.locator(".preview-banner")).to_contain_text("この版はまだ公開されていません。")
    expect(admin.get_by_role("heading", level=1)).to_have_text("粗大ごみ収集の申込")
    admin.go_back()
    admin.get_by_role("button", name="この版を公開する").click()
    expect(admin.locator("main")).to_contain_text("第1版を公開しました。")
    shoot(admin, "admin-procedure")

    # Two FAQ entries, one naming the 粗大ごみ contact point, then a question tried.
    admin.goto(f"{base}/sayo/staff/")
    admin.get_by_role("link", name="よくある質問の編集").click()
    for code, question, alternatives, answer in (
        (
            "sodai-gomi",
            "粗大ごみを出したい",
            "大きな家具を捨てたい\nソファーを処分したい",
            "粗大ごみはホームページから収集を申し込めます。{contact:sodai_gomi}",
        ),
        (
            "juminhyo",
            "住民票の写しがほしい",
            "住民票を取りたい",
            "住民票の写しは住民課の窓口で交付します。{contact:main}",
        ),
    ):
        admin.get_by_role("link", name="FAQを追加する").click()
        admin.get_by_label("管理番号").fill(code)
        admin.get_by_label("分類").fill("くらし")
        admin.get_by_label("担当部署").select_option(label="住民課")
        admin.get_by_label("質問 必須", exact=True).fill(question)
        admin.get_by_label("言い換え", exact=True).fill(alternatives)
        admin.get_by_label("回答 必須", exact=True).fill(answer)
        admin.get_by_role("button", name="保存する").click()
        expect(admin.locator("#faq-list")).to_contain_text(question)
    shoot(admin, "admin-faq")
    admin.goto(f"{base}/sayo/staff/")
    admin.get_by_role("link", name="質問を試す（回答の確認）").click()
    admin.get_by_label("質問").fill("粗大ごみを出したい")
    admin.get_by_role("button", name="試す").click()
    expect(admin.locator("#candidates tbody tr").first).to_contain_text("粗大ごみを出したい")
    expect(admin.locator("#decision")).to_contain_text("回答する")
    # The answer is shown as the resident reads it: the contact point filled in.
    expect(admin.locator(".answer-preview")).to_contain_text(
        "粗大ごみ受付（住民課）（電話 0790-82-0661"
    )
    shoot(admin, "admin-faq-try")
    admin_context.close()

    # A resident applies from the town's top page.
    resident_context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    resident = resident_context.new_page()
    resident.set_default_timeout(30_000)
    resident.goto(f"{base}/sayo/")
    resident.get_by_role("link", name="手続きを探す・申請する").click()
    resident.get_by_role("link", name="粗大ごみ収集の申込").click()
    resident.get_by_role("button", name="申請を始める").click()
    expect(resident.get_by_role("heading", level=1)).to_contain_text("出すもの")
    item = resident.locator("fieldset.group-item").first
    item.get_by_label("ソファー（1人掛け）").check()
    item.get_by_label("個数").fill("1")
    resident.get_by_role("button", name="次へ進む").click()
    expect(resident.get_by_role("heading", level=1)).to_contain_text("収集の日と場所")
    collection_day = timezone.localdate() + datetime.timedelta(days=14)
    resident.get_by_label("収集希望日").fill(collection_day.isoformat())
    resident.get_by_label("氏名").fill("佐用 一郎")
    resident.get_by_label("郵便番号").fill("679-5380")
    resident.get_by_label("収集場所の住所").fill("兵庫県佐用郡佐用町佐用2611-1")
    resident.get_by_label("電話番号").fill("0790-82-0000")
    resident.get_by_role("button", name="次へ進む").click()
    expect(resident.get_by_role("heading", level=1)).to_contain_text("入力内容の確認")
    resident.get_by_role("button", name="申請する").click()
    expect(resident.get_by_role("heading", level=1)).to_have_text("申請を受け付けました")
    receipt = resident.locator("#receipt-number").inner_text()
    lookup = resident.locator("#lookup-secret").inner_text()

    # The clerk accepts the invitation, then signs in with password and code.
    clerk_mail = [body for to, _s, body in mails(smtp_server) if to == ["jumin@town.sayo.example"]]
    clerk_context = chromium.new_context(locale="ja-JP")
    clerk = clerk_context.new_page()
    clerk.set_default_timeout(30_000)
    clerk.goto(base + link_in(clerk_mail[0]))
    expect(clerk.locator("#invitee-username")).to_have_text("sayo-jumin-clerk")
    clerk.locator("#id_password").fill(NEW_PASSWORD)
    clerk.get_by_label("パスワード（確認）").fill(NEW_PASSWORD)
    clerk.get_by_role("button", name="次へ").click()
    secret = clerk.locator("#totp-secret").inner_text().replace(" ", "")
    clerk.get_by_label("確認コード（6桁）").fill(totp_now(secret))
    clerk.get_by_role("button", name="登録して始める").click()
    expect(clerk).to_have_url(f"{base}/sayo/staff/")
    clerk.get_by_role("button", name="サインアウト").click()
    clerk.goto(f"{base}/sayo/staff/login/")
    clerk.get_by_label("ユーザー名").fill("sayo-jumin-clerk")
    clerk.get_by_label("パスワード").fill(NEW_PASSWORD)
    clerk.get_by_role("button", name="次へ").click()
    clerk_device = TOTPDevice.objects.get(user__username="sayo-jumin-clerk")
    clerk.get_by_label("確認コード（6桁）").fill(fresh_code(clerk_device))
    clerk.get_by_role("button", name="サインイン").click()
    expect(clerk).to_have_url(f"{base}/sayo/staff/")

    # The queue, from the menu; the application moves on and the resident sees it.
    clerk.get_by_role("link", name="申請の処理").click()
    clerk.get_by_role("link", name=receipt).click()  # hyphenated as the resident has it
    expect(clerk.locator("#application-state")).to_have_text("受付済")
    expect(clerk.locator("main")).to_contain_text("佐用 一郎")
    clerk.get_by_role("button", name="「収集日決定」にする").click()
    expect(clerk.locator("#application-state")).to_have_text("収集日決定")
    shoot(clerk, "clerk-application")
    clerk_context.close()
    resident.get_by_role("link", name="申請の状況を確認する").click()
    resident.get_by_label("受付番号（10桁）").fill(receipt)
    resident.get_by_label("確認コード（8文字）").fill(lookup)
    resident.get_by_role("button", name="状況を確認する").click()
    expect(resident.locator("#status-state")).to_have_text("収集日決定")
    resident_context.close()

    assert [m[0] for m in mails(smtp_server)][:2] == [
        ["soumu@town.sayo.example"],
        ["jumin@town.sayo.example"],
    ]
    sayo = Municipality.objects.get(slug="sayo")
    assert (sayo.code, sayo.name, sayo.is_active) == ("285013", "佐用町", True)
    assert sorted(Department.objects.filter(municipality=sayo).values_list("name", flat=True)) == [
        "住民課",
        "健康福祉課",
    ]
    clerk_user = User.objects.get(username="sayo-jumin-clerk")
    membership = Membership.objects.get(user=clerk_user)
    assert (membership.role, membership.department.name if membership.department else "") == (
        Role.CLERK,
        "住民課",
    )
    assert User.objects.get(username="sayo-admin").is_active
    assert clerk_user.is_active
    assert sorted(ContactPoint.objects.filter(municipality=sayo).values_list("key", flat=True)) == [
        "main",
        "sodai_gomi",
    ]
    version = ProcedureVersion.objects.get(municipality=sayo)
    assert version.published_at is not None
    assert version.procedure.department.name == "住民課"
    assert FaqEntry.objects.filter(municipality=sayo, is_published=True).count() == 2
    application = Application.objects.get(municipality=sayo)
    assert (application.receipt_number, application.state) == (
        receipt.replace("-", ""),
        "scheduled",
    )
