"""A resident subscribes on the web and confirms from the mailbox; a clerk sends; the message
arrives over SMTP and its unsubscribe link works. Set MADOGUCHI_SCREENSHOTS to keep the pages."""

from __future__ import annotations

import re

import pytest
from pytest_django.live_server_helper import LiveServer

from madoguchi.messaging import services
from madoguchi.messaging.models import Subscriber
from tests.accounts.invitemail import mails
from tests.browser.screens import shoot
from tests.browser.test_surveillance import _sign_in
from tests.isolation import Tenant
from tests.messaging.conftest import ACTOR, run_worker, setup_city, signal_handlers
from tests.procedures.test_submit import _SMTPServer, smtp_server

__all__ = ["signal_handlers", "smtp_server"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^/\s]+(/kobe/messages/[a-z]+/[A-Za-z0-9_-]+/)")


def _link(body: str, kind: str) -> str:
    found = [m.group(1) for m in LINK.finditer(body) if f"/messages/{kind}/" in m.group(1)]
    assert found, body
    return found[0]


def test_subscribe_confirm_receive_and_unsubscribe(
    live_server: LiveServer,
    tenant_a: Tenant,
    page: object,
    smtp_server: _SMTPServer,
    signal_handlers: None,
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    data = setup_city(tenant_a.municipality, with_line=False)
    services.template_save(
        municipality=tenant_a.municipality,
        name="健診のお知らせ",
        topic=data["topics"]["kosodate"],
        subject_ja="{topic}：健診の日程",
        body_ja="{area}の乳幼児健診は4月10日です。",
        actor=ACTOR,
    )
    base = live_server.url

    page.goto(f"{base}/kobe/messages/")
    shoot(page, "messaging-subscribe")
    page.get_by_label("メールアドレス").fill("hanako@example.jp")
    page.get_by_label("子育て").check()
    page.get_by_label("お住まいの地域").select_option(label="灘区")
    page.get_by_role("button", name="確認メールを送る").click()
    expect(page.get_by_role("heading", name="確認メールを送りました")).to_be_visible()

    run_worker()
    [(_to, _subject, body)] = mails(smtp_server)
    page.goto(base + _link(body, "confirm"))
    page.get_by_role("button", name="登録を完了する").click()
    expect(page.get_by_text("登録が完了しました。")).to_be_visible()
    shoot(page, "messaging-manage")
    assert Subscriber.objects.get().is_active

    _sign_in(page, base, tenant_a.staff["clerk"], "/kobe/messages/staff/sends/new/")
    page.get_by_label("テンプレート").select_option(label="健診のお知らせ")
    page.get_by_label("子育て").check()
    page.get_by_role("button", name="宛先数を確認する").click()
    expect(page.locator("#recipient-count")).to_contain_text("宛先は 1 人です")
    shoot(page, "messaging-send-new")
    page.get_by_role("button", name="この内容で送信する").click()
    expect(page.locator("#send-state")).to_have_text("送信予定")

    run_worker()
    page.reload()
    expect(page.locator("#send-state")).to_have_text("送信済み")
    expect(page.locator("#send-counts")).to_have_text("1 / 0 / 0")
    shoot(page, "messaging-send")
    [*_, (to, subject, body)] = mails(smtp_server)
    assert (to, subject) == (["hanako@example.jp"], "子育て：健診の日程")
    assert body.startswith("灘区の乳幼児健診は4月10日です。")

    page.goto(base + _link(body, "unsubscribe"))
    page.get_by_role("button", name="配信を停止する").click()
    expect(page.get_by_text("配信を停止しました。今後お知らせは届きません。")).to_be_visible()
    shoot(page, "messaging-unsubscribed")
    assert Subscriber.objects.get().unsubscribed_at is not None


def test_an_admin_reads_the_notification_log_and_changes_a_wording(
    live_server: LiveServer,
    tenant_a: Tenant,
    page: object,
    smtp_server: _SMTPServer,
) -> None:
    """A receipt sent through the notification path is in the log; the admin rewords it."""
    from playwright.sync_api import Page, expect

    from madoguchi.procedures import notify

    assert isinstance(page, Page)
    page.set_default_timeout(60_000)  # a shared, loaded machine
    assert notify.send_receipt(
        municipality=tenant_a.municipality,
        email="taro@example.jp",
        procedure_name="特別定額給付金",
        receipt_number="R2K7M9P3Q8",
        secret="ABCD2345",
        status_url=f"{live_server.url}/kobe/status/",
    )
    base = live_server.url
    _sign_in(page, base, tenant_a.staff["admin"], "/kobe/messages/staff/notices/")
    expect(page.locator("#notices")).to_contain_text("taro@example.jp")
    expect(page.locator("#notices")).to_contain_text("送信済み")
    shoot(page, "messaging-notices")
    page.get_by_role("link", name="申請の受付").click()
    subject = page.get_by_label("件名", exact=True)
    expect(subject).to_have_value("【{municipality}】{procedure}を受け付けました")
    subject.fill("【{municipality}】{procedure}の申請を受け付けました")
    page.get_by_role("button", name="保存する").click()
    expect(page.get_by_text("保存しました。次の通知から使われます。")).to_be_visible()
    shoot(page, "messaging-notice-template")
    assert notify.send_receipt(
        municipality=tenant_a.municipality,
        email="taro@example.jp",
        procedure_name="特別定額給付金",
        receipt_number="R2K7M9P3Q8",
        secret="ABCD2345",
        status_url=f"{live_server.url}/kobe/status/",
    )
    subjects = [subject for _to, subject, _body in mails(smtp_server)]
    assert subjects == [
        "【神戸市】特別定額給付金を受け付けました",
        "【神戸市】特別定額給付金の申請を受け付けました",
    ]
