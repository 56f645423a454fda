"""A resident applies for the cash benefit in a real browser and finds the status."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

from madoguchi.audit.services import AuditActor
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application
from madoguchi.procedures.services import procedure_publish
from tests.isolation import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A real 1×1 PNG: the server checks content, so the name below does not matter.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def benefit(tenant_a: Tenant) -> None:
    procedure_publish(
        municipality=tenant_a.municipality,
        data={**catalogue_definition("teigaku-kyufukin"), "department": "welfare"},
        actor=AuditActor(label="test"),
    )


def test_resident_applies_with_household_bank_account_and_image_then_checks_status(
    live_server: LiveServer, benefit: None, page: object, tmp_path: Path
) -> None:
    """Every step of the wizard, an input error on the way, the receipt, then the status."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = live_server.url
    page.goto(f"{base}/kobe/")
    page.get_by_role("link", name="手続きを探す・申請する").click()
    page.get_by_role("link", name="特別定額給付金の申請").click()
    page.get_by_role("button", name="申請を始める").click()

    # Step 1, first with a mistake: the kana field in kanji.
    expect(page.get_by_role("heading", level=1)).to_contain_text("申請者（世帯主）")
    page.get_by_label("氏名").fill("神戸 太郎")
    page.get_by_label("フリガナ").fill("神戸 太郎")
    page.get_by_label("生年月日").fill("昭和55年4月1日")
    page.get_by_label("郵便番号").fill("６５０－８５７０")
    page.get_by_label("住所").fill("神戸市中央区加納町6丁目5-1")
    page.get_by_label("日中に連絡できる電話番号").fill("078-331-8181")
    page.get_by_role("button", name="次へ進む").click()
    expect(page.get_by_role("alert")).to_contain_text("フリガナはカタカナで入力してください")
    expect(page.get_by_label("住所")).to_have_value("神戸市中央区加納町6丁目5-1")  # kept
    page.get_by_label("フリガナ").fill("ｺｳﾍﾞ ﾀﾛｳ")
    page.get_by_role("button", name="次へ進む").click()

    # Step 2: one household member, added without JavaScript-only controls.
    expect(page.get_by_role("heading", level=1)).to_contain_text("世帯員")
    page.get_by_role("button", name="世帯員を追加").click()
    member = page.locator("fieldset.group-item").first
    member.get_by_label("氏名").fill("神戸 花子")
    member.get_by_label("フリガナ").fill("こうべ はなこ")
    member.get_by_label("生年月日").fill("R1.5.1")
    member.get_by_label("子", exact=True).check()
    page.get_by_role("button", name="次へ進む").click()

    # Step 3: the bank account.
    expect(page.get_by_role("heading", level=1)).to_contain_text("振込先口座")
    page.get_by_label("金融機関コード（4桁）").fill("0001")
    page.get_by_label("支店コード（3桁）").fill("001")
    page.get_by_label("普通").check()
    page.get_by_label("口座番号（7桁）").fill("1234567")
    page.get_by_label("口座名義（カナ）").fill("コウベ タロウ")
    page.get_by_role("button", name="次へ進む").click()

    # Step 4: the identity document, named .jpg although it is a PNG.
    expect(page.get_by_role("heading", level=1)).to_contain_text("本人確認書類")
    image = tmp_path / "menkyo.jpg"
    image.write_bytes(PNG)
    page.get_by_label("本人確認書類の写し").set_input_files(str(image))
    page.get_by_label("申請内容に誤りがないことを確認し").check()
    page.get_by_role("button", name="次へ進む").click()

    # Review and submit.
    expect(page.get_by_role("heading", level=1)).to_contain_text("入力内容の確認")
    main = page.locator("main")
    expect(main).to_contain_text("コウベ タロウ")
    expect(main).to_contain_text("神戸 花子")
    expect(main).to_contain_text("ｺｳﾍﾞ ﾀﾛｳ")  # the holder name as the bank will get it
    expect(main).to_contain_text("menkyo.jpg")
    page.get_by_role("button", name="申請する").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("申請を受け付けました")
    receipt = page.locator("#receipt-number").inner_text()
    secret = page.locator("#lookup-secret").inner_text()
    assert len(receipt.replace("-", "")) == 10
    application = Application.objects.get()
    assert application.receipt_number == receipt.replace("-", "")
    assert application.attachments.get().content_type == "image/png"
    assert application.answers["members"][0]["name_kana"] == "コウベ ハナコ"

    page.get_by_role("link", name="申請の状況を確認する").click()
    page.get_by_label("受付番号（10桁）").fill(receipt)
    page.get_by_label("確認コード（8文字）").fill(secret.lower())
    page.get_by_role("button", name="状況を確認する").click()
    expect(page.locator("#status-state")).to_have_text("受付済")
    expect(page.locator("main")).not_to_contain_text("神戸 太郎")  # no personal data
