"""Answers in the web chat in a real browser: the direct answer first, in Japanese and English.

With MADOGUCHI_SCREENSHOTS=<folder> the pages are also saved at 360 and 1280 px.
"""

from __future__ import annotations

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.browser.screens import shoot
from tests.isolation import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("question", "lead", "detail"),
    [
        (
            "児童手当はいつ振り込まれますか",
            "児童手当は偶数月（2月・4月・6月・8月・10月・12月）の各10日に振り込まれます。",
            "前月までの2か月分を振り込みます",
        ),
        (
            "When does the child allowance get paid?",
            "The child allowance is paid on the 10th of February, April, June, August, "
            "October and December.",
            "for the two preceding months",
        ),
    ],
)
def test_the_direct_answer_is_shown_first_and_the_detail_after(
    live_server: LiveServer, kobe_chat: Tenant, page: object, question: str, lead: str, detail: str
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{live_server.url}/kobe/chat/")
    expect(page.locator("[data-chat]")).to_have_attribute("data-enhanced", "1")
    page.get_by_label("質問").fill(question)
    page.get_by_role("button", name="送信").click()
    shown = page.locator("#chat-log .chat__lead").last
    expect(shown).to_have_text(lead)
    expect(page.locator("#chat-log .chat__detail").last).to_contain_text(detail)
    box_lead, box_detail = shown.bounding_box(), page.locator(".chat__detail").last.bounding_box()
    assert box_lead is not None
    assert box_detail is not None
    assert box_lead["y"] < box_detail["y"]
    shoot(page, "chat-direct-answer-" + ("en" if question.isascii() else "ja"))
