"""Every resident page, in each of its states, fits a 360 px phone and reads in English.

The pages and states come from ``tests/browser/journeys.py``; the first test holds that
enumeration to the URLconf, so a new resident page fails until it is listed and walked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from pytest_django.live_server_helper import LiveServer

from madoguchi.consultation.retrieval.store import index_store
from madoguchi.demo.services import demo_load
from tests.browser import journeys
from tests.browser.pagechecks import (
    PHONE_WIDTH,
    japanese_problems,
    overflow_problems,
    small_target_problems,
)


def _names(
    patterns: list[URLPattern | URLResolver], prefix: str = "", route: str = ""
) -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from _names(pattern.url_patterns, namespace, route + str(pattern.pattern))
        elif pattern.name:
            yield prefix + pattern.name, route + str(pattern.pattern)


def test_every_public_url_is_an_enumerated_resident_page_or_named_as_no_page() -> None:
    public = set()
    for name, route in _names(get_resolver().url_patterns):
        if "staff/" in route or name.split(":")[0] in {"admin", "api", "linkage-api", "operator"}:
            continue
        if name in journeys.STAFF or name in journeys.NOT_PAGES:
            continue
        public.add(name)
    assert public == set(journeys.RESIDENT_PAGES) - {"errors"}


def test_every_error_template_is_enumerated() -> None:
    folder = Path(journeys.__file__).parents[2] / "src/madoguchi/templates"
    templates = {p.stem for p in folder.glob("[0-9][0-9][0-9]*.html")}
    assert templates == set(journeys.RESIDENT_PAGES["errors"])


@pytest.fixture
def demo(transactional_db: None, settings: object) -> Iterator[None]:
    # Lexical answers only: the chat's pages are under test here, not its retrieval.
    setattr(settings, "CONSULTATION_EMBEDDER", "none")  # noqa: B010
    index_store.clear(vectors=False)
    demo_load()
    yield
    index_store.clear(vectors=False)


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    path = tmp_path / "document.png"
    path.write_bytes(journeys.PNG)
    return path


def _walk(
    chromium: object, base: str, upload: Path, language: str, check: journeys.Visit
) -> list[str]:
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    context = chromium.new_context(
        locale="ja-JP", viewport={"width": PHONE_WIDTH, "height": 740}, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    walk = journeys.Walk(page=page, base=base, visit_hook=check)
    try:
        journeys.resident_walk(walk, language=language, upload=upload)
    finally:
        context.close()
    return walk.visited


def _report(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{state}:\n  " + "\n  ".join(found) for state, found in problems.items())


@pytest.mark.browser
def test_every_resident_page_fits_a_360_px_phone_with_44_px_touch_targets(
    live_server: LiveServer, demo: None, chromium: object, upload: Path
) -> None:
    """No sideways scrolling; buttons, controls and non-inline links at least 44 × 44 px."""
    problems: dict[str, list[str]] = {}

    def check(page: object, state: str) -> None:
        found = overflow_problems(page) + small_target_problems(page)
        if found:
            problems[state] = found

    visited = _walk(chromium, live_server.url, upload, "ja", check)
    assert sorted(visited) == sorted(journeys.all_states())
    assert problems == {}, _report(problems)


@pytest.mark.browser
def test_every_resident_page_in_english_has_no_japanese_fixed_text(
    live_server: LiveServer, demo: None, chromium: object, upload: Path
) -> None:
    """In English only data typed in Japanese (marked lang="ja") may hold Japanese; and the
    English pages fit the phone too."""
    problems: dict[str, list[str]] = {}

    def check(page: object, state: str) -> None:
        found = japanese_problems(page) + overflow_problems(page)
        if found:
            problems[state] = found

    visited = _walk(chromium, live_server.url, upload, "en", check)
    assert sorted(visited) == sorted(journeys.all_states())
    assert problems == {}, _report(problems)


@pytest.mark.browser
def test_switching_language_keeps_the_status_result_and_the_typed_wizard_values(
    live_server: LiveServer, demo: None, page: object, upload: Path
) -> None:
    """The switch posts the page's own form: the status result (a POST result) and the values
    typed on a wizard step stay; the access code never appears in the address or the page."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    walk = journeys.Walk(page=page, base=live_server.url, visit_hook=lambda _page, _state: None)
    journeys.walk_apply(walk, upload)

    journeys.lookup(walk)
    expect(page.locator("#status-state")).to_have_text("受付済")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#status-state")).to_have_text("Received")
    expect(page.locator("#status-heading")).to_have_text("Special Cash Payment application")
    assert walk.secret not in page.url
    assert walk.secret not in page.content()
    page.get_by_role("button", name="日本語").click()
    expect(page.locator("#status-state")).to_have_text("受付済")

    walk.go("/kobe/procedures/teigaku-kyufukin/")
    walk.submit()
    page.fill('[name="name"]', "Kobe Jiro")
    page.fill('[name="address"]', "6-5-1 Kano-cho")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_label("Full name")).to_have_value("Kobe Jiro")
    expect(page.locator("[name=address]")).to_have_value("6-5-1 Kano-cho")
    expect(page.locator(".error-summary")).to_have_count(0)  # switching is not submitting
    page.reload()  # the language stays for the next page
    expect(page.get_by_label("Full name")).to_have_value("Kobe Jiro")


def test_a_status_post_without_a_proof_in_the_session_shows_no_result(
    client: object, tenant_a: object
) -> None:
    """``again`` shows a result only to the session that proved the access code."""
    from django.test import Client

    assert isinstance(client, Client)
    response = client.post("/kobe/status/?language=en", {"again": "1"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="status-state"' not in body
    assert 'name="secret"' in body  # the lookup form instead
    assert response.cookies["django_language"].value == "en"
