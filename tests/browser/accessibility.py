"""axe-core run inside Chromium on every page the browser tests visit.

Each browser context a test opens is watched. In a context running JavaScript an init script
checks every top-level HTML document once it has loaded, against the WCAG 2.x A/AA rules
(JIS X 8341-3), and reports to Python through a binding; while the check runs, a locator
handler makes the test's next action or assertion on that page wait, so a page cannot be left
before it is checked. At the end of the test (or when a test closes its context) every page
still open is checked again in the state the test left it in. Without JavaScript axe cannot run
(it needs timers), so such a page is copied into a scripted checker page whose own scripts a
Content Security Policy blocks. Serious and critical violations fail the test; with
``MADOGUCHI_AXE_REPORT=<file>`` every violation of any impact is appended there as JSON lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from playwright.sync_api import BrowserContext, Error, Page, Request, Route

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
# Best practices are run for the report only; a test fails on WCAG rules alone.
TAGS = [*WCAG, "best-practice"]
FAILING = ("critical", "serious")
RUN_AXE = """async (tags) => {
  const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
  const result = await axe.run(document, options);
  return result.violations.map((v) => ({
    rule: v.id, impact: v.impact, help: v.help, tags: v.tags,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""
CHECKER_CSP = "script-src 'none'"
# Runs in every top-level document before its own scripts (init scripts are not subject to the
# page's Content Security Policy). The check starts once the page has loaded; a document left
# before axe finishes is reported as started only (see ``left_before_checked`` in the log).
INIT_SCRIPT = """
if (window.top === window && document.contentType === "text/html"
    && location.protocol.startsWith("http")) {
%(axe)s
  document.addEventListener("DOMContentLoaded", () => {
    document.documentElement.setAttribute("%(pending)s", "");
  });
  window.addEventListener("load", () => setTimeout(async () => {
    const report = window.__madoguchiAxeReport, url = location.href, started = performance.now();
    report({url, started: true});
    try {
      const violations = await (%(run)s)(%(tags)s);
      report({url, violations, seconds: (performance.now() - started) / 1000});
    } catch (error) {
      report({url, error: String(error), seconds: (performance.now() - started) / 1000});
    }
    document.documentElement.removeAttribute("%(pending)s");
  }, 0));
}
"""
PENDING = "data-axe-pending"


@cache
def axe_source() -> str:
    """axe-core's axe.min.js as bundled by the axe-playwright-python package."""
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


@cache
def _init_script() -> str:
    return INIT_SCRIPT % {
        "axe": axe_source(),
        "run": RUN_AXE,
        "tags": json.dumps(TAGS),
        "pending": PENDING,
    }


@dataclass(frozen=True)
class Violation:
    url: str
    moment: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    wcag: bool = True


@dataclass
class AxeGuard:
    """Checks every watched page; ``violations`` collects what axe found."""

    new_context: Callable[..., BrowserContext]  # the browser's own, unwatched
    test: str
    violations: list[Violation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pages_checked: int = 0
    active: bool = True  # off once the test's outcome is settled
    seconds: float = 0.0
    _contexts: list[tuple[BrowserContext, bool]] = field(default_factory=list)
    _checker: Page | None = None
    _snapshots: dict[str, str] = field(default_factory=dict)
    _pending: set[str] = field(default_factory=set)

    def watch(self, context: BrowserContext, *, javascript: bool) -> None:
        """Check each document of ``context`` once loaded; ``finish`` checks the final state."""
        self._contexts.append((context, javascript))
        if not javascript:
            return  # no init scripts run; the final state is checked on a copy

        def report(source: dict[str, Any], result: dict[str, Any]) -> None:
            # Runs inside Playwright's dispatcher: record only, never call the browser here.
            url = str(result["url"])
            if "started" in result:
                self._pending.add(url)
                return
            self._pending.discard(url)
            self.pages_checked += 1
            self.seconds += float(result["seconds"])
            if "error" in result:
                self.errors.append(f"{url}: {result['error']}")
            self._record(url, "after load", result.get("violations", []))

        context.expose_binding("__madoguchiAxeReport", report)
        context.add_init_script(script=_init_script())

    def hold_actions(self, page: Page) -> None:
        """Make the test's next action or assertion on ``page`` wait for a running check.

        Playwright runs a locator handler before every action and auto-waiting assertion while
        its locator is visible: the marker axe keeps on ``<html>`` until it has reported.
        """

        page.add_locator_handler(page.locator(f"html[{PENDING}]"), lambda: self.settle(page))

    def settle(self, page: Page) -> None:
        """Wait until the check of the page's current document has reported."""
        if page.is_closed() or not page.url.startswith("http"):
            return
        # If the page goes away meanwhile, the caller's own action will say what happened.
        with contextlib.suppress(Error):
            page.wait_for_function(
                f"() => !document.documentElement?.hasAttribute('{PENDING}')", timeout=60_000
            )

    def settled(self, page: Page, action: Callable[..., Any]) -> Callable[..., Any]:
        """``action`` that first waits for the check of the page's current document."""

        def settled_action(*args: Any, **kwargs: Any) -> Any:
            self.settle(page)
            return action(*args, **kwargs)

        return settled_action

    def check(self, page: Page, *, javascript: bool, moment: str) -> None:
        """Run axe on the page as it is now, unless it shows no HTML document."""
        if not self.active or page.is_closed() or not page.url.startswith("http"):
            return
        started = time.monotonic()
        try:
            if page.evaluate("() => document.contentType") != "text/html":
                return  # a CSV, JSON or image shown by the browser itself
            found = self._run(page) if javascript else self._run_on_copy(page)
        finally:
            self.seconds += time.monotonic() - started
        self.pages_checked += 1
        self._record(page.url, moment, found)

    def _record(self, url: str, moment: str, found: list[dict[str, Any]]) -> None:
        for item in found:
            self.violations.append(
                Violation(
                    url=url,
                    moment=moment,
                    rule=item["rule"],
                    impact=item["impact"] or "",
                    help=item["help"],
                    targets=tuple(item["targets"]),
                    wcag=any(tag in WCAG for tag in item["tags"]),
                )
            )

    def finish(self) -> None:
        """Check the final state of every page still open."""
        for context, javascript in self._contexts:
            for page in list(context.pages):
                self._check_settled(page, javascript=javascript, moment="end of test")
        self.active = False

    def close_checked(
        self, context: BrowserContext, close: Callable[..., None]
    ) -> Callable[..., None]:
        """``context.close`` that first checks the pages it is about to close."""

        def checked_close(*args: Any, **kwargs: Any) -> None:
            javascript = {id(c): js for c, js in self._contexts}.get(id(context), True)
            for page in list(context.pages):
                self._check_settled(page, javascript=javascript, moment="context closed")
            self._contexts = [(c, js) for c, js in self._contexts if c is not context]
            close(*args, **kwargs)

        return checked_close

    def failures(self) -> list[Violation]:
        return [v for v in self.violations if v.wcag and v.impact in FAILING]

    def assert_clean(self) -> None:
        """Fail with a readable report on any serious or critical violation or failed check."""
        if self.failures() or self.errors:
            raise AssertionError(self.report())

    def report(self) -> str:
        """One block per rule: impact, rule, help, then each page and its elements."""
        lines = [f"axe-core: serious or critical accessibility violations in {self.test}:"]
        rules: dict[tuple[str, str, str], list[Violation]] = {}
        for violation in self.failures():
            key = (violation.impact, violation.rule, violation.help)
            rules.setdefault(key, []).append(violation)
        for (impact, rule, help_text), found in rules.items():
            lines.append(f"\n[{impact}] {rule}: {help_text}")
            lines.append(f"  https://dequeuniversity.com/rules/axe/4.12/{rule}")
            seen: set[tuple[str, str, tuple[str, ...]]] = set()
            for violation in found:
                key2 = (violation.url, violation.moment, violation.targets)
                if key2 in seen:
                    continue
                seen.add(key2)
                lines.append(f"  {violation.url} ({violation.moment}):")
                lines.extend(f"    {target}" for target in violation.targets[:10])
                if len(violation.targets) > 10:
                    lines.append(f"    … and {len(violation.targets) - 10} more")
        if self.errors:
            lines.append("\nChecks that could not run:")
            lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)

    def write_log(self, path: str) -> None:
        with open(path, "a", encoding="utf-8") as log:
            record = {
                "test": self.test,
                "pages_checked": self.pages_checked,
                "seconds": round(self.seconds, 3),
                "left_before_checked": sorted(self._pending),
                "violations": [asdict(v) for v in self.violations],
            }
            log.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._checker is not None:
            self._checker.context.close()
        if path := os.environ.get("MADOGUCHI_AXE_REPORT"):
            self.write_log(path)

    def _check_settled(self, page: Page, *, javascript: bool, moment: str) -> None:
        # A page may be in the middle of loading (a click just before the test ended): wait for
        # the new document, and retry once if it replaced the one being checked.
        for attempt in range(2):
            try:
                if not page.is_closed():
                    page.wait_for_load_state()
                self.check(page, javascript=javascript, moment=moment)
                return
            except Error as error:
                if attempt or "context was destroyed" not in str(error):
                    raise

    def _run(self, page: Page) -> list[dict[str, Any]]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source())
        found = page.evaluate(RUN_AXE, TAGS)
        assert isinstance(found, list)
        return found

    def _run_on_copy(self, page: Page) -> list[dict[str, Any]]:
        """Without JavaScript axe cannot run (no timers): check a copy in a scripted page."""
        checker = self._checker_page()
        if page.viewport_size is not None:
            checker.set_viewport_size(page.viewport_size)
        self._snapshots[page.url] = page.content()
        try:
            checker.goto(page.url)
            return self._run(checker)
        finally:
            self._snapshots.pop(page.url, None)

    def _checker_page(self) -> Page:
        if self._checker is None:
            self._checker = self.new_context(locale="ja-JP").new_page()

            def serve_copy(route: Route, request: Request) -> None:
                html = self._snapshots.get(request.url)
                if html is None or not request.is_navigation_request():
                    route.fallback()
                    return
                route.fulfill(
                    body=html,
                    content_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": CHECKER_CSP},
                )

            self._checker.route("**/*", serve_copy)
        return self._checker
