"""Playwright driving Debian's Chromium against the live test server.

Every browser context opened through the ``chromium`` fixture (and so the ``page`` fixture) is
watched by axe-core (see ``accessibility.py``): a serious or critical violation on any page the
test visits fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.accessibility import AxeGuard

if TYPE_CHECKING:  # importing models needs Django set up, which this plugin must not require
    from tests.isolation import Tenant

CHROMIUM = Path(os.environ.get("MADOGUCHI_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_GUARD = pytest.StashKey[AxeGuard]()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    # Playwright's sync API runs an event loop in this thread; the test's own database calls
    # are ordinary synchronous ones, which Django would otherwise refuse next to a loop.
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()


@pytest.fixture
def axe_guard(chromium_browser: object, request: pytest.FixtureRequest) -> Iterator[AxeGuard]:
    """The test's accessibility checker; ``chromium.new_context`` contexts are all watched."""
    from playwright.sync_api import Browser, BrowserContext, Page

    assert isinstance(chromium_browser, Browser)
    browser = chromium_browser
    open_context = browser.new_context
    guard = AxeGuard(new_context=open_context, test=request.node.nodeid)

    def watched_context(**options: Any) -> BrowserContext:
        context = open_context(**options)
        javascript = options.get("java_script_enabled", True)
        guard.watch(context, javascript=javascript)
        patch.setattr(context, "close", guard.close_checked(context, context.close))
        if javascript:
            open_page = context.new_page

            def held_page() -> Page:
                page = open_page()
                guard.hold_actions(page)
                goto = page.goto

                def settled_goto(url: str, **options: Any) -> Any:
                    guard.settle(page)  # a goto right after a load must not skip its check
                    return goto(url, **options)

                patch.setattr(page, "goto", settled_goto)
                # Keys are no locator actions, so the locator handler does not hold them: a
                # Tab pressed while axe runs would change the page under the check.
                keyboard = page.keyboard
                for name in ("press", "type", "down", "insert_text"):
                    patch.setattr(keyboard, name, guard.settled(page, getattr(keyboard, name)))
                return page

            patch.setattr(context, "new_page", held_page)
        return context

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(browser, "new_context", watched_context)
        request.node.stash[AXE_GUARD] = guard
        yield guard
    guard.close()


@pytest.fixture
def chromium(axe_guard: AxeGuard, chromium_browser: object) -> object:
    from playwright.sync_api import expect

    # Playwright's assertions wait 5 s by default: too short for a chat answer (a model call)
    # while other work shares both cores, which made the chat tests fail now and then.
    expect.set_options(timeout=15_000)
    return chromium_browser


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    context = chromium.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After a browser test passes, check the pages it left open and fail on violations."""
    guard = item.stash.get(AXE_GUARD, None)
    try:
        result = yield
    except BaseException:
        if guard is not None:
            guard.active = False  # the test failed already; its own error is the news
        raise
    if guard is not None:
        guard.finish()
        guard.assert_clean()
    return result


@pytest.fixture
def kobe_chat(tenant_a: Tenant) -> Iterator[Tenant]:
    """Kobe (``tenant_a``) with the demo FAQ loaded and its search index built."""
    from madoguchi.consultation.demo import consultation_demo_load
    from madoguchi.consultation.retrieval.store import index_store

    index_store.clear(vectors=False)
    # Build the search index (loading the embedding model and embedding the whole FAQ) here,
    # not inside the first chat request, where it held the live server for minutes on a busy
    # machine while the browser's timeouts ran.
    consultation_demo_load(warm_index=True)
    yield tenant_a
    index_store.clear(vectors=False)
