"""Screenshots of every journey at 360 and 1280 px: ``make screenshots``.

Sets up a throwaway SQLite database with the demo data, serves it with ``madoguchi serve`` on a
free port of 127.0.0.1, walks the resident journeys of the browser tests
(``tests/browser/journeys.py``: apply with a bank step, receipt, status, request and answer, chat
and hand-over, dashboard, catalogue, self-report, error pages) and the staff ones (clerk queue and
application, admin console, operator console, clinic 発生届, nurse case and worklist), writes a
PNG of each page at each width into ``--out`` (default ``var/screenshots/``, git-ignored), prints
the list and stops its server. Needs ``make install`` and ``/usr/bin/chromium``.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (360, 1280)
STAFF_JOURNEYS = ("clerk", "admin", "operator", "clinic", "nurse")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _madoguchi(*args: str, env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 - our own command
        [str(Path(sys.executable).parent / "madoguchi"), *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped with exit code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer on {base} within {seconds:.0f} s")


class Camera:
    """Photographs the current page at every width, numbering the files in order."""

    def __init__(self, out: Path, widths: tuple[int, ...]) -> None:
        self.out, self.widths = out, widths
        self.taken: list[Path] = []
        self.count = 0

    def __call__(self, page: Any, name: str) -> None:
        page.wait_for_load_state("networkidle")
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        for width in self.widths:
            page.set_viewport_size({"width": width, "height": 800})
            path = self.out / f"{width}" / f"{self.count:03d}-{slug}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
            self.taken.append(path)


def _sign_in(page: Any, base: str, username: str, path: str) -> None:
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from madoguchi.demo.services import DEMO_PASSWORD

    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    page.goto(f"{base}{path}")
    page.fill('[name="username"]', username)
    page.fill('[name="password"]', DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    page.fill('[name="token"]', f"{code:06d}")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()


def _staff_walk(browser: Any, base: str, who: str, shoot: Callable[[Any, str], None]) -> None:
    from madoguchi.api.clients.models import ApiClient
    from madoguchi.procedures.models import Application
    from madoguchi.surveillance.models import Case

    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)

    def show(path: str, name: str) -> None:
        page.goto(base + path)
        shoot(page, f"{who}-{name}")

    if who == "clerk":
        _sign_in(page, base, "kobe-clerk", "/kobe/staff/applications/")
        shoot(page, "clerk-queue")
        latest = Application.objects.filter(municipality__slug="kobe").order_by("-pk").first()
        if latest is not None:
            show(f"/kobe/staff/applications/{latest.receipt_number}/", "application")
        show("/kobe/chat/staff/", "chat-inbox")
        show("/kobe/messages/staff/sends/new/", "messaging-send")
        show("/kobe/staff/reservations/koseki/day/", "reservations-day")
        # The usage report as a clerk reaches it: from the staff menu, not by its address.
        page.goto(f"{base}/kobe/staff/")
        with page.expect_navigation():
            page.get_by_role("link", name="予約の利用状況").first.click()
        shoot(page, "reservations-report")
    elif who == "admin":
        _sign_in(page, base, "kobe-admin", "/kobe/staff/admin/")
        shoot(page, "admin-console")
        show("/kobe/staff/", "staff-menu")
        show("/kobe/chat/staff/faq/try/?q=粗大ごみの申し込み", "faq-try")
        show("/kobe/staff/admin/api-clients/", "api-clients")
        show("/kobe/messages/staff/", "messaging")
        show("/kobe/staff/reservations/", "reservations")
        show("/kobe/staff/reservations/report/", "reservations-report")
        show("/kobe/staff/reports/", "reports-queue")
        show("/kobe/staff/audit/", "audit-log")
        show("/kobe/staff/reports/setup/", "reports-setup")
        show("/kobe/staff/reservations/closed/", "reservations-closed")
        show("/kobe/messages/staff/notices/", "notices")
        show("/kobe/messages/staff/notices/templates/procedures.receipt/", "notice-wording")
        client = ApiClient.objects.filter(municipality__slug="kobe").order_by("pk").first()
        if client is not None:
            show(f"/kobe/staff/admin/api-clients/{client.pk}/", "api-client")
    elif who == "operator":
        _sign_in(page, base, "operator", "/operator/")
        page.goto(f"{base}/operator/")
        shoot(page, "operator-console")
    elif who == "clinic":
        _sign_in(page, base, "kobe-clinic", "/kobe/health/clinic/")
        shoot(page, "clinic-home")
        link = page.locator("main a[href*='/health/clinic/new/']").first
        if link.count():
            link.click()
            page.wait_for_load_state()
            shoot(page, "clinic-notification")
    elif who == "nurse":
        _sign_in(page, base, "kobe-nurse", "/kobe/health/worklist/")
        shoot(page, "nurse-worklist")
        case = Case.objects.filter(municipality__slug="kobe").order_by("-pk").first()
        if case is not None:
            # As the nurse reaches a case: 職員メニュー → 患者一覧 → the case.
            page.goto(f"{base}/kobe/staff/")
            with page.expect_navigation():
                page.get_by_role("link", name="患者一覧").first.click()
            with page.expect_navigation():
                page.locator(f"main a[href$='/health/cases/{case.pk}/']").first.click()
            shoot(page, "nurse-case")
    context.close()


def take(
    out: Path, *, only: set[str] | None, widths: tuple[int, ...], language: str = "ja"
) -> list[Path]:
    """Serve a fresh demo database and photograph the journeys (``only``: their names; the
    resident ones in ``language``)."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-screens-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/screens.sqlite3",
            "MADOGUCHI_ENV": "development",
            "MADOGUCHI_DEBUG": "0",
            # Lexical answers: no embedding of the FAQ before the first page.
            "MADOGUCHI_CONSULTATION_EMBEDDER": "none",
            "MADOGUCHI_READ_ONLY_FILE": f"{tmp}/read-only",
        }
        _madoguchi("migrate", "--noinput", "-v", "0", env=env)
        _madoguchi("demo", "load", env=env)
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop beside the ORM
        from playwright.sync_api import sync_playwright
        from tests.browser import journeys
        from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(  # noqa: S603 - our own command
            [
                str(Path(sys.executable).parent / "madoguchi"),
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        camera = Camera(out, widths)
        try:
            _wait_until_up(base, server)
            upload = Path(tmp) / "document.png"
            upload.write_bytes(journeys.PNG)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
                )
                context = browser.new_context(
                    locale="ja-JP", viewport={"width": 360, "height": 800}
                )
                page = context.new_page()
                page.set_default_timeout(30_000)
                walk = journeys.Walk(page=page, base=base, visit_hook=camera, only=only)
                journeys.resident_walk(walk, language=language, upload=upload)
                context.close()
                for who in STAFF_JOURNEYS:
                    if only is None or who in only:
                        _staff_walk(browser, base, who, camera)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return camera.taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "screenshots")
    parser.add_argument(
        "--only",
        action="append",
        help="walk only these journeys (repeatable): open-data, apply, status, chat, "
        "self-report, reservations, reports, messaging, errors, " + ", ".join(STAFF_JOURNEYS),
    )
    parser.add_argument("--width", type=int, action="append", help="default: 360 and 1280")
    parser.add_argument(
        "--language", choices=("ja", "en"), default="ja", help="of the resident journeys"
    )
    args = parser.parse_args()
    if not args.only:  # a whole walk replaces the last one: no stale pictures under old numbers
        for old in args.out.glob("*/*.png"):
            old.unlink()
    taken = take(
        args.out,
        only=set(args.only) if args.only else None,
        widths=tuple(args.width) if args.width else WIDTHS,
        language=args.language,
    )
    for path in taken:
        print(path)
    print(f"{len(taken)} screenshots in {args.out}")


if __name__ == "__main__":
    main()
