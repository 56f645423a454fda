"""The English walk's checker itself: it reports Japanese fixed text and spares marked data.

``test_resident_pages`` passes only when ``japanese_problems`` finds nothing, so a checker that
found nothing on any page would pass it too; these tests hold the checker to what it must see.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.pagechecks import japanese_problems

_PAGE = """<!doctype html><html lang="en"><head><title>{title}</title></head>
<body><main>{body}</main></body></html>"""


@pytest.fixture
def blank(chromium_browser: object) -> Iterator[object]:
    """A page of its own (not the axe-watched one: the snippets are no real pages)."""
    from playwright.sync_api import Browser

    assert isinstance(chromium_browser, Browser)
    context = chromium_browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    yield page
    context.close()


def _problems(page: object, body: str, title: str = "Chat") -> list[str]:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.set_content(_PAGE.format(title=title, body=body))
    return japanese_problems(page)


@pytest.mark.browser
def test_the_checker_reports_an_untranslated_fixed_sentence(blank: object) -> None:
    """A fixed sentence left in Japanese, even around data, is reported with its element."""
    body = '<p class="chat__text"><span lang="ja">福祉課</span>の担当者におつなぎします。</p>'
    problems = _problems(blank, body)
    assert problems == [
        'text in p.chat__text "福祉課の担当者におつなぎします。": "の担当者におつなぎします。"'
    ]


@pytest.mark.browser
def test_the_checker_spares_japanese_data_marked_lang_ja(blank: object) -> None:
    """The same Japanese inside lang="ja" (data typed by a municipality) is exempt."""
    body = (
        '<p class="chat__text">I will put you through to <span lang="ja">福祉課</span>.</p>'
        '<p lang="ja">の担当者におつなぎします。</p>'
    )
    assert _problems(blank, body) == []


@pytest.mark.browser
def test_the_checker_reports_japanese_in_titles_buttons_and_attributes(blank: object) -> None:
    """Unmarked Japanese in <title>, an attribute or a button's value is reported; the title
    may repeat data that the page marks."""
    body = (
        '<span lang="ja">神戸市</span>'
        '<button aria-label="送信">Send</button>'
        '<input type="submit" value="報告する">'
    )
    problems = _problems(blank, body, title="神戸市 — 相談")
    assert problems == [
        '<title> "神戸市 — 相談"',
        'aria-label of button "送信": "送信"',
        'value of input "報告する": "報告する"',
    ]
    assert _problems(blank, '<span lang="ja">神戸市</span>', title="神戸市 — Chat") == []
