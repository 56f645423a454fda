"""The web chat in a real browser: enhanced with JavaScript, and plain forms without it."""

from __future__ import annotations

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.isolation import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_with_javascript_answers_appear_without_reloading(
    live_server: LiveServer, kobe_chat: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    url = f"{live_server.url}/kobe/chat/"
    page.goto(url)
    expect(page.locator("[data-chat]")).to_have_attribute("data-enhanced", "1")
    page.get_by_label("質問").fill("個人番号カードを作りたい")
    page.get_by_role("button", name="送信").click()
    expect(page.locator("#chat-log")).to_contain_text("証明写真機から申請できます")
    assert page.url == url  # swapped in place, no post/redirect
    expect(page.get_by_label("質問")).to_have_value("")
    page.get_by_role("button", name="担当者に相談する").click()
    expect(page.locator("#chat-log")).to_contain_text("市民課の担当者におつなぎします。")
    assert errors == []


def test_without_javascript_the_forms_still_work(
    live_server: LiveServer, kobe_chat: Tenant, chromium: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    context = chromium.new_context(java_script_enabled=False, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{live_server.url}/kobe/chat/")
    page.get_by_role("button", name="発熱・せきの相談").click()
    expect(page.locator("#chat-log")).to_contain_text("次のような症状はありますか。")
    page.get_by_role("button", name="当てはまる").click()
    expect(page.locator("#chat-log")).to_contain_text("119番に電話して救急車を呼んでください")
    expect(page.get_by_role("link", name="119番に電話する")).to_have_attribute("href", "tel:119")
    page.get_by_label("質問").fill("<b>太字</b>で質問")
    page.get_by_role("button", name="送信").click()
    expect(page.locator("#chat-log")).to_contain_text("<b>太字</b>で質問")
    assert page.locator("#chat-log b").count() == 0
    context.close()
