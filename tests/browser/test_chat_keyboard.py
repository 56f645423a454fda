"""The chat with the keyboard only: ask, read the answer, ask for a person, keep the link back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.isolation import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_ACTIVE = """() => {
  const e = document.activeElement;
  const style = e ? getComputedStyle(e) : null;
  return {
    id: e ? e.id : "",
    tag: e ? e.tagName.toLowerCase() : "",
    text: e ? (e.innerText || "").trim() : "",
    href: e && e.getAttribute ? e.getAttribute("href") || "" : "",
    inLog: !!(e && e.closest && e.closest("#chat-log")),
    outlined: !!style && (style.outlineStyle !== "none" || style.boxShadow !== "none"),
  };
}"""


def _press_until(
    page: object, key: str, wanted: Callable[[dict[str, object]], bool], *, limit: int = 40
) -> dict[str, object]:
    """Press ``key`` until the focused element matches ``wanted``; fail after ``limit`` presses."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        active: dict[str, object] = page.evaluate(_ACTIVE)
        seen.append(active.get("id") or active.get("text") or active.get("tag"))
        if wanted(active):
            assert active["outlined"], f"no visible focus on {active}"
            return active
    raise AssertionError(f"never reached with {key}: {seen}")


def test_a_resident_asks_reads_and_reaches_a_person_with_the_keyboard_only(
    live_server: LiveServer, kobe_chat: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{live_server.url}/kobe/chat/")
    expect(page.locator("[data-chat]")).to_have_attribute("data-enhanced", "1")

    _press_until(page, "Tab", lambda a: a["id"] == "chat-question")
    page.keyboard.type("児童手当はいつ振り込まれますか")
    _press_until(page, "Tab", lambda a: a["text"] == "送信", limit=3)
    page.keyboard.press("Enter")
    answer = page.locator("#chat-log .chat__message--assistant .chat__text").last
    expect(answer).to_contain_text("偶数月")
    assert answer.inner_text().splitlines()[0].startswith("児童手当は偶数月")
    # Back in the question box, ready for the next one.
    assert page.evaluate(_ACTIVE)["id"] == "chat-question"

    # The answer's buttons sit just above the box: the last is 「担当者に相談する」.
    _press_until(page, "Shift+Tab", lambda a: a["text"] == "担当者に相談する", limit=5)
    page.keyboard.press("Enter")
    expect(page.locator("#chat-log")).to_contain_text("担当者におつなぎします。")
    # Focus moves to the new message rather than being lost with the pressed button.
    assert page.evaluate(_ACTIVE)["inLog"]

    link = _press_until(page, "Tab", lambda a: "/chat/continue/" in str(a["href"]), limit=5)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/kobe/chat/")
    expect(page.locator("#chat-log")).to_contain_text("児童手当はいつ振り込まれますか")
    assert link["href"]
