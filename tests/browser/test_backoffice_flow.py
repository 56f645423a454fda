"""A clerk works an application to payment while the resident answers a request, in browsers."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.audit.services import AuditActor
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application, Attachment, Channel
from madoguchi.procedures.receipts import receipt_number_display
from madoguchi.procedures.services import application_submit, procedure_publish
from tests.isolation import PASSWORD, Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def submitted_application(tenant: Tenant) -> tuple[Application, str]:
    version = procedure_publish(
        municipality=tenant.municipality,
        data={**catalogue_definition("teigaku-kyufukin"), "department": "welfare"},
        actor=AuditActor(label="test"),
    )
    upload = Attachment.objects.create(
        municipality=tenant.municipality,
        field_key="id_document",
        storage_name="attachments/none",
        content_type="image/png",
        size=len(PNG),
        sha256="0" * 64,
        original_name="id.png",
    )
    result = application_submit(
        municipality=tenant.municipality,
        version=version,
        answers={
            "name": "須磨 一郎",
            "name_kana": "スマ イチロウ",
            "birth_date": "1975-06-01",
            "postal_code": "6540011",
            "address": "神戸市須磨区前池町1-1",
            "phone": "0787311234",
            "account": {
                "bank_code": "0009",
                "branch_code": "123",
                "account_type": "普通",
                "account_number": "7654321",
                "holder_name": "スマ イチロウ",
            },
            "id_document": {
                "id": str(upload.pk),
                "content_type": "image/png",
                "size": len(PNG),
                "name": "id.png",
            },
            "agreement": True,
        },
        channel=Channel.WEB,
        actor=AuditActor(label="resident"),
        owned_attachments=[str(upload.pk)],
    )
    assert result.secret is not None
    return result.application, result.secret


def test_clerk_requests_documents_resident_uploads_and_payment_is_recorded(
    live_server: LiveServer, tenant_a: Tenant, chromium: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser, Page, expect

    assert isinstance(chromium, Browser)
    application, secret = submitted_application(tenant_a)
    receipt = application.receipt_number
    base = live_server.url
    device = TOTPDevice.objects.create(user=tenant_a.staff["clerk"], name="phone", confirmed=True)

    clerk_context = chromium.new_context(locale="ja-JP")
    resident_context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    clerk: Page = clerk_context.new_page()
    resident: Page = resident_context.new_page()
    for p in (clerk, resident):
        p.set_default_timeout(10_000)

    def resident_sees(state: str) -> None:
        resident.goto(f"{base}/kobe/status/?receipt={receipt}")
        resident.get_by_label("確認コード（8文字）").fill(secret)
        resident.get_by_role("button", name="状況を確認する").click()
        expect(resident.locator("#status-state")).to_have_text(state)
        expect(resident.locator("#status-history")).to_contain_text(state)

    def clerk_moves_to(label: str) -> None:
        clerk.get_by_role("button", name=f"「{label}」にする").click()
        expect(clerk.locator("#application-state")).to_have_text(label)

    # The clerk signs in with password and code.
    clerk.goto(f"{base}/kobe/staff/login/")
    clerk.get_by_label("ユーザー名").fill("kobe-clerk")
    clerk.get_by_label("パスワード").fill(PASSWORD)
    clerk.get_by_role("button", name="次へ").click()
    clerk.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    clerk.get_by_role("button", name="サインイン").click()
    clerk.get_by_role("link", name="申請の処理").click()
    clerk.get_by_role("link", name=receipt_number_display(receipt)).click()
    expect(clerk.locator("#application-state")).to_have_text("受付済")
    resident_sees("受付済")

    clerk_moves_to("審査中")
    resident_sees("審査中")

    items = "住民票の写し（世帯全員分）を添付してください。"
    clerk.get_by_label("住民にお願いする書類・内容（住民に表示されます）").first.fill(items)
    clerk_moves_to("追加書類のお願い")

    # The resident answers from the status page with a document.
    resident_sees("追加書類のお願い")
    expect(resident.locator("#status-message")).to_have_text(items)
    document = tmp_path / "juminhyo.pdf"
    document.write_bytes(PDF)
    resident.get_by_label("回答・連絡事項").fill("住民票を添付します。")
    resident.get_by_label("書類のファイル（写真またはPDF、複数可）").set_input_files(str(document))
    resident.get_by_role("button", name="送信する").click()
    # The result page again: the request has given way to the notice that it was answered.
    expect(resident.locator("#answer-received")).to_have_text(
        "ご回答を受け付けました。担当課で確認しています。"
    )

    clerk.reload()
    expect(clerk.locator("main")).to_contain_text("住民から回答あり")
    expect(clerk.locator("main")).to_contain_text("住民票を添付します。")
    expect(clerk.get_by_role("link", name="juminhyo.pdf")).to_be_visible()
    clerk_moves_to("審査中")
    clerk_moves_to("振込手続き中")
    resident_sees("振込手続き中")
    clerk_moves_to("振込済み")

    resident_sees("振込済み")
    history = resident.locator("#status-history li")
    expect(history).to_have_count(6)
    expect(resident.locator("#access-log")).to_contain_text("福祉課")
    clerk_context.close()
    resident_context.close()
