"""The axe-core check itself: a page with known violations served to Chromium is caught."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser.accessibility import AxeGuard

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
GOOD = """<!DOCTYPE html><html lang="ja"><head><title>よいページ</title></head>
<body><main><h1>よいページ</h1><p><a href="/bad">次へ</a></p>
<p><a href="/data.csv">CSV</a> <a href="/plain">テキスト</a></p></main></body></html>"""
# An image without a text alternative (critical) and grey on white text (serious).
BAD = """<!DOCTYPE html><html lang="ja"><head><title>悪いページ</title></head>
<body><main><h1>悪いページ</h1><img src="/photo.png" id="photo">
<p id="faint" style="color:#bbb">読みにくい文字</p><a href="/good">戻る</a></main></body></html>"""
PAGES = {
    "/good": ("text/html; charset=utf-8", GOOD, {}),
    "/bad": ("text/html; charset=utf-8", BAD, {}),
    "/plain": ("text/plain; charset=utf-8", "ただの文字", {}),
    "/data.csv": (
        "text/csv",
        "a,b\n1,2\n",
        {"Content-Disposition": 'attachment; filename="d.csv"'},
    ),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        content_type, body, headers = PAGES.get(self.path, ("text/plain", "", {}))
        data = body.encode()
        self.send_response(200 if self.path in PAGES else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    """A plain HTTP server on loopback with one good and one bad page."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _rules(guard: AxeGuard) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(v.url, v.rule, v.impact, v.targets) for v in guard.failures()}


def test_a_page_left_through_a_link_is_checked_and_fails(
    site: str, page: object, axe_guard: AxeGuard
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{site}/bad")
    page.get_by_role("link", name="戻る").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("よいページ")

    assert _rules(axe_guard) == {
        (f"{site}/bad", "image-alt", "critical", ("#photo",)),
        (f"{site}/bad", "color-contrast", "serious", ("#faint",)),
    }
    assert {v.moment for v in axe_guard.failures()} == {"after load"}
    with pytest.raises(AssertionError) as failure:
        axe_guard.assert_clean()
    report = str(failure.value)
    assert "[critical] image-alt: Images must have alternative text\n" in report
    assert f"  {site}/bad (after load):\n    #photo" in report
    axe_guard.violations.clear()  # the check worked; let this test pass


def test_the_final_state_of_a_page_is_checked(site: str, page: object, axe_guard: AxeGuard) -> None:
    """A change without navigation (as made by a script) is seen at the end of the test."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(f"{site}/good")
    expect(page.get_by_role("heading", level=1)).to_have_text("よいページ")  # checked on load
    assert axe_guard.violations == []
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=x>')")
    axe_guard.finish()
    assert _rules(axe_guard) == {(f"{site}/good", "image-alt", "critical", ("img",))}
    assert axe_guard.failures()[0].moment == "end of test"
    axe_guard.violations.clear()


def test_a_page_without_javascript_is_checked_when_its_context_closes(
    site: str, chromium: object, axe_guard: AxeGuard
) -> None:
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/bad")
    context.close()
    assert _rules(axe_guard) == {
        (f"{site}/bad", "image-alt", "critical", ("#photo",)),
        (f"{site}/bad", "color-contrast", "serious", ("#faint",)),
    }
    assert {v.moment for v in axe_guard.failures()} == {"context closed"}
    axe_guard.violations.clear()


def test_downloads_and_documents_that_are_not_html_are_left_alone(
    site: str, page: object, axe_guard: AxeGuard
) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(f"{site}/good")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "d.csv"
    page.get_by_role("link", name="テキスト").click()
    page.wait_for_url(f"{site}/plain")
    page.goto(f"{site}/good")
    axe_guard.finish()
    assert axe_guard.violations == []
    assert axe_guard.errors == []
    # /good after each of its two loads and at the end; /plain is not HTML.
    assert axe_guard.pages_checked == 3


INNER_TEST = """
def test_visits_a_bad_page(page):
    page.goto("{site}/bad")
"""


def test_a_browser_test_visiting_a_bad_page_fails(site: str, tmp_path: Path) -> None:
    """The check is wired into every browser test: an otherwise passing test fails."""
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(site=site))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    plugins = ["-p", "tests.browser.conftest", "-p", "no:randomly", "-p", "no:django"]
    config = [
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(tmp_path),
        "-c",
        str(tmp_path / "pytest.ini"),
    ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, *config, "-q", str(tmp_path)],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "MADOGUCHI_AXE_REPORT"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout
    assert "axe-core: serious or critical accessibility violations" in run.stdout
    assert f"{site}/bad (end of test):" in run.stdout
