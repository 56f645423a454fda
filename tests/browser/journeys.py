"""Every resident page in each of its states, reached in a real browser on the demo data.

``RESIDENT_PAGES`` is the one enumeration of public pages (by URL name) and their states;
``NOT_PAGES`` names the public URLs that are not pages (files, feeds, webhooks) and ``STAFF``
those that are staff-only although their path lacks ``staff/``. ``tests/browser/
test_resident_pages.py`` checks that the URLconf holds nothing else, so a new resident page
fails a test until it is listed here and walked.

``resident_walk`` drives one browser page through every state and calls ``visit(page, state)``
on arrival: the phone and English tests check the page there, ``make screenshots`` photographs
it. The walk needs the demo data (``madoguchi demo load``) and the database of the server it
talks to (the live test server, or the screenshot command's own server on the same SQLite file).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESIDENT_PAGES: dict[str, tuple[str, ...]] = {
    "site-index": ("list",),
    "municipality-home": ("services",),
    "procedures:catalogue": ("list",),
    "procedures:detail": ("explained",),
    "procedures:step": ("first", "errors", "repeating-group", "bank", "files"),
    "procedures:save": ("ask-email",),
    "procedures:resume-base": ("no-link",),
    "procedures:resume": ("expired",),
    "procedures:review": ("answers",),
    "procedures:done": ("receipt",),
    "procedures:status": ("form", "refused", "result", "request", "answered"),
    "procedures:respond": ("sent", "refused", "no-session"),
    "consultation:chat": ("welcome", "answer", "hand-over"),
    "consultation:continue": ("invalid",),
    "consultation:line-friend": ("page",),
    "opendata:dashboard": ("charts",),
    "opendata:catalogue": ("files",),
    "opendata-index": ("list",),
    "opendata-prefecture": ("sum",),
    "surveillance:self-report": ("form", "errors", "sent"),
    "surveillance:self-report-line-code": ("code",),
    "reservations:resources": ("list",),
    "reservations:slots": ("times",),
    "reservations:book": ("form", "errors", "booked"),
    "reservations:wait": ("form",),
    "reservations:lookup": ("form", "refused"),
    "reservations:manage": ("booking", "changed", "cancelled", "expired"),
    "reservations:change": ("times",),
    "reports:open": ("list",),
    "reports:file": ("form", "errors", "nearby", "filed"),
    "reports:status": ("form", "refused", "result"),
    "messaging:subscribe": ("form", "errors"),
    "messaging:subscribe-sent": ("sent",),
    "messaging:confirm": ("confirm", "invalid"),
    "messaging:manage": ("confirmed", "errors", "saved", "stopped"),
    "messaging:unsubscribe": ("ask", "unsubscribed"),
    # Not URLs: the error pages every request may end on (templates/<code>.html).
    "errors": ("400", "403", "403_csrf", "404", "429", "500", "503", "503_busy", "503_read_only"),
}

NOT_PAGES = {
    "procedures:draft-file": "a file the resident uploaded, shown back to them",
    "opendata:catalogue-json": "DCAT JSON",
    "opendata:file": "CSV/JSON data file",
    "opendata-site-catalogue": "DCAT JSON",
    "opendata-prefecture-file": "CSV/JSON data file",
    "healthz": "probe",
    "readyz": "probe",
    "set_language": "POST endpoint that redirects",
    "consultation-line-webhook": "LINE webhook",
}

# Staff pages whose path has no "staff/" segment (admin:, api:, linkage-api: and operator: are
# staff or machine endpoints by name).
STAFF = {
    "surveillance:clinic-home",
    "surveillance:notification-csv",
    "surveillance:age-band-counts",
    "surveillance:notification-new",
    "surveillance:notification-new-disease",
    "surveillance:cases",
    "surveillance:case",
    "surveillance:certificate",
    "surveillance:worklist",
    "surveillance:counts",
    "surveillance:case-line-code",
    "surveillance:report-card",
    "platform-login",
    "platform-code",
    "invitation-password",
    "invitation-code",
    "invitation-open",
}

# A real 1×1 PNG (the server checks content).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
    "da63f8cfc0f01f0005000201a5a5b4b10000000049454e44ae426082"
)

Visit = Callable[[Any, str], None]


@dataclass
class Walk:
    """One walk through the resident pages; ``visited`` lists ``page:state`` in order."""

    page: Any  # playwright.sync_api.Page
    base: str
    visit_hook: Visit
    slug: str = "kobe"
    only: set[str] | None = None  # page names to walk (None: all)
    visited: list[str] = field(default_factory=list)
    receipt: str = ""
    secret: str = ""
    language: str = "ja"

    def choose_language(self) -> None:
        if self.language != "ja":
            self.page.context.add_cookies(
                [{"name": "django_language", "value": self.language, "url": self.base}]
            )

    def wanted(self, name: str) -> bool:
        return self.only is None or name in self.only

    def visit(self, name: str, state: str) -> None:
        assert state in RESIDENT_PAGES[name], f"{name}:{state} is not enumerated"
        self.page.wait_for_load_state()
        self.visited.append(f"{name}:{state}")
        self.visit_hook(self.page, f"{name}:{state}")

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def submit(self, selector: str = "main form button[type=submit]") -> None:
        # The wizard's first "next" is a visually hidden default button for Enter: press the
        # one a person sees.
        with self.page.expect_navigation():
            shown = self.page.locator(":not([aria-hidden=true])")
            self.page.locator(selector).and_(shown).first.click()

    def send(self, selector: str) -> None:
        """Click a control of a form that scripts send in place (the chat)."""
        with self.page.expect_response(lambda r: r.request.method == "POST"):
            self.page.locator(selector).first.click()
        self.page.wait_for_load_state("networkidle")


def _fill_applicant(page: Any) -> None:
    page.fill('[name="name"]', "Kobe Taro")
    page.fill('[name="name_kana"]', "コウベ タロウ")
    page.fill('[name="birth_date"]', "1980-04-01")
    page.fill('[name="postal_code"]', "650-8570")
    page.fill('[name="address"]', "6-5-1 Kano-cho, Chuo-ku, Kobe")
    page.fill('[name="phone"]', "078-331-8181")


def walk_apply(walk: Walk, upload: Path) -> None:
    """Catalogue → explanation → every wizard step → review → receipt (with a bank step)."""
    page, slug = walk.page, walk.slug
    walk.go(f"/{slug}/procedures/")
    walk.visit("procedures:catalogue", "list")
    walk.go(f"/{slug}/procedures/teigaku-kyufukin/")
    walk.visit("procedures:detail", "explained")
    walk.submit()
    walk.visit("procedures:step", "first")
    page.fill('[name="name"]', "Kobe Taro")
    page.fill('[name="name_kana"]', "kobe")
    walk.submit('button[name="action"][value="next"]')
    walk.visit("procedures:step", "errors")
    _fill_applicant(page)
    walk.submit('button[name="action"][value="next"]')
    walk.submit('button[name="action"][value="add:members"]')
    page.fill('[name="members.0.name"]', "Kobe Hanako")
    page.fill('[name="members.0.name_kana"]', "コウベ ハナコ")
    page.fill('[name="members.0.birth_date"]', "2019-05-01")
    page.check('[name="members.0.relationship"][value="child"]')
    walk.visit("procedures:step", "repeating-group")
    walk.submit('button[name="action"][value="next"]')
    walk.visit("procedures:step", "bank")
    page.fill('[name="account.bank_code"]', "0001")
    page.fill('[name="account.branch_code"]', "001")
    page.check('[name="account.account_type"]  >> nth=0')
    page.fill('[name="account.account_number"]', "1234567")
    page.fill('[name="account.holder_name"]', "コウベ タロウ")
    walk.submit('button[name="action"][value="next"]')
    walk.visit("procedures:step", "files")
    page.set_input_files('[name="id_document"]', str(upload))
    page.check('[name="agreement"]')
    walk.submit('button[name="action"][value="next"]')
    walk.visit("procedures:review", "answers")
    walk.submit()
    walk.visit("procedures:done", "receipt")
    walk.receipt = page.locator("#receipt-number").inner_text().strip()
    walk.secret = page.locator("#lookup-secret").inner_text().strip()


def walk_save_and_resume(walk: Walk) -> None:
    page, slug = walk.page, walk.slug
    walk.go(f"/{slug}/procedures/jido-teate/")
    walk.submit()
    walk.submit('button[name="action"][value="save"]')
    walk.visit("procedures:save", "ask-email")
    walk.go(f"/{slug}/apply/resume/")
    walk.visit("procedures:resume-base", "no-link")
    walk.go(f"/{slug}/apply/resume/not-a-valid-link/")
    walk.visit("procedures:resume", "expired")
    del page


def lookup(walk: Walk, secret: str | None = None) -> None:
    walk.go(f"/{walk.slug}/status/")
    walk.page.fill('[name="receipt_number"]', walk.receipt)
    walk.page.fill('[name="secret"]', walk.secret if secret is None else secret)
    walk.submit()


def ask_for_information(receipt: str, slug: str) -> None:
    """A clerk asks for a document (through the services, as the clerk's page would)."""
    from madoguchi.accounts.permissions import StaffContext
    from madoguchi.procedures.models import Application
    from madoguchi.procedures.workflow import application_transition
    from madoguchi.tenants.models import Role
    from madoguchi.tenants.selectors import membership_list_for_user

    digits = re.sub(r"\D", "", receipt)
    application = Application.objects.get(receipt_number=digits, municipality__slug=slug)
    membership = (
        application.municipality.memberships.filter(role=Role.CLERK).select_related("user").first()
    )
    assert membership is not None, "the demo has a clerk"
    staff = StaffContext(
        membership.user,
        application.municipality,
        tuple(
            membership_list_for_user(user=membership.user, municipality=application.municipality)
        ),
        "127.0.0.1",
    )
    application_transition(application=application, target="reviewing", staff=staff)
    application = Application.objects.get(pk=application.pk)
    application_transition(
        application=application,
        target="more_info",
        staff=staff,
        missing_items="Please send a copy of your residence certificate.",
    )


def walk_status(walk: Walk, upload: Path) -> None:
    """The lookup form, a refused lookup, the result, a request for information and the answer."""
    page, slug = walk.page, walk.slug
    walk.go(f"/{slug}/status/")
    walk.visit("procedures:status", "form")
    lookup(walk, secret="WRONG000")
    walk.visit("procedures:status", "refused")
    lookup(walk)
    walk.visit("procedures:status", "result")
    ask_for_information(walk.receipt, slug)
    lookup(walk)
    walk.visit("procedures:status", "request")
    walk.submit("#respond-heading ~ form button[type=submit], form[action$='respond/'] button")
    walk.visit("procedures:respond", "refused")
    lookup(walk)
    page.fill('[name="text"]', "Attached.")
    page.set_input_files('[name="files"]', str(upload))
    walk.submit("form[action$='respond/'] button[type=submit]")
    walk.visit("procedures:respond", "sent")
    lookup(walk)
    walk.visit("procedures:status", "answered")
    # Another browser (no lookup in its session) sends an answer: it is asked to look up again.
    page.context.clear_cookies()
    walk.choose_language()
    walk.go(f"/{slug}/status/")
    with page.expect_navigation():
        page.evaluate(
            """(url) => { const f = document.querySelector('main form'); f.action = url;
            f.submit(); }""",
            f"{walk.base}/{slug}/status/respond/",
        )
    walk.visit("procedures:respond", "no-session")


def line_account(slug: str) -> None:
    """Give ``slug`` a LINE official account (nothing is sent to LINE by the pages walked)."""
    from madoguchi.audit.services import AuditActor
    from madoguchi.consultation.services import line_channel_save
    from madoguchi.tenants.models import Municipality

    line_channel_save(
        municipality=Municipality.objects.get(slug=slug),
        channel_secret="demo-channel-secret",
        access_token="demo-access-token",
        basic_id="@madoguchi",
        actor=AuditActor(label="demo"),
    )


def walk_chat(walk: Walk) -> None:
    page = walk.page
    walk.go(f"/{walk.slug}/chat/")
    walk.visit("consultation:chat", "welcome")
    page.fill('[name="question"]', "粗大ごみを出したい")
    walk.send(".chat__form button[type=submit]")
    walk.visit("consultation:chat", "answer")
    walk.send('button[name="payload"][value="handover"]')
    walk.visit("consultation:chat", "hand-over")
    # A valid link back to the conversation redirects to the chat above; a broken one is a page.
    walk.go(f"/{walk.slug}/chat/continue/not-a-valid-link/")
    walk.visit("consultation:continue", "invalid")
    walk.go(f"/{walk.slug}/chat/line/")
    walk.visit("consultation:line-friend", "page")


def walk_open_data(walk: Walk) -> None:
    walk.go("/")
    walk.visit("site-index", "list")
    walk.go(f"/{walk.slug}/")
    walk.visit("municipality-home", "services")
    walk.go(f"/{walk.slug}/dashboard/")
    walk.visit("opendata:dashboard", "charts")
    walk.go(f"/{walk.slug}/dashboard/data/")
    walk.visit("opendata:catalogue", "files")
    walk.go("/opendata/")
    walk.visit("opendata-index", "list")
    walk.go("/opendata/prefectures/280003/")
    walk.visit("opendata-prefecture", "sum")


def self_report_token(slug: str) -> str:
    """A fresh self-report link for one of the demo's open cases of ``slug``."""
    from madoguchi.audit.services import AuditActor
    from madoguchi.surveillance.errors import SurveillanceError
    from madoguchi.surveillance.models import Case
    from madoguchi.surveillance.reports import report_link_issue

    today = datetime.date.today()
    for case in Case.objects.filter(municipality__slug=slug, observation_end__gte=today):
        try:
            return report_link_issue(cases=[case], actor=AuditActor(label="demo"))
        except SurveillanceError:
            continue  # a disease without daily self-reports
    raise AssertionError(f"the demo of {slug} has no case under observation")


def walk_self_report(walk: Walk, token: str) -> None:
    page = walk.page
    walk.go(f"/{walk.slug}/health/report/{token}/")
    walk.visit("surveillance:self-report", "form")
    page.fill('[name="temperature"]', "365")
    walk.submit("main form button[type=submit]")
    walk.visit("surveillance:self-report", "errors")
    page.fill('[name="temperature"]', "36.5")
    page.fill('[name="spo2"]', "98")
    for radio in page.locator('main form input[type=radio][value="no"]').all():
        radio.check()
    walk.submit("main form button[type=submit]")
    walk.visit("surveillance:self-report", "sent")
    walk.go(f"/{walk.slug}/health/report/{token}/")
    walk.submit("form[action$='line/'] button[type=submit]")
    walk.visit("surveillance:self-report-line-code", "code")


def walk_reports(walk: Walk, upload: Path) -> None:
    """The report form, its refusal and the nearby hint; a report filed with a GPS photo in a
    demo category, its receipt; the status form, a wrong code and the result; the open list
    showing the report."""
    from tests.reports.test_reports import jpeg_with_exif

    page, slug = walk.page, walk.slug
    photo = upload.with_name("report-photo.jpg")
    photo.write_bytes(jpeg_with_exif(34.690083, 135.195511))
    walk.go(f"/{slug}/reports/new/")
    walk.visit("reports:file", "form")
    description = {"ja": "歩道の舗装がはがれて段差になっています。"}
    page.fill('[name="description"]', description.get(walk.language, "The pavement is broken."))
    walk.submit("main form button#report-submit")
    walk.visit("reports:file", "errors")
    page.select_option('[name="category"]', "doro")
    page.select_option('[name="area"]', index=1)
    walk.submit("main form button#report-check")
    walk.visit("reports:file", "nearby")
    page.set_input_files('[name="photos"]', str(photo))
    walk.submit("main form button#report-submit")
    walk.visit("reports:file", "filed")
    receipt = page.inner_text("#receipt-number").strip()
    secret = page.inner_text("#secret").strip()
    walk.go(f"/{slug}/reports/status/")
    walk.visit("reports:status", "form")
    page.fill('[name="receipt_number"]', receipt)
    page.fill('[name="secret"]', "wrong")
    walk.submit()
    walk.visit("reports:status", "refused")
    page.fill('[name="receipt_number"]', receipt)
    page.fill('[name="secret"]', secret)
    walk.submit()
    walk.visit("reports:status", "result")
    walk.go(f"/{slug}/reports/")
    walk.visit("reports:open", "list")


def subscription_token(slug: str, email: str) -> str:
    """The token of the link the confirmation e-mail to ``email`` carries."""
    from madoguchi.messaging.models import Channel, Subscriber
    from madoguchi.messaging.models.subscriptions import address_digest

    return Subscriber.objects.get(
        municipality__slug=slug, channel=Channel.EMAIL, address_digest=address_digest(email)
    ).token


def walk_messaging(walk: Walk) -> None:
    """Sign up for messages (a refusal, then the e-mail sent), a broken link, the confirmation,
    the page of choices (refused, saved), the one-step unsubscribe and the stopped choices."""
    page, slug = walk.page, walk.slug
    email = f"resident-{walk.language}@example.jp"
    walk.go(f"/{slug}/messages/")
    walk.visit("messaging:subscribe", "form")
    page.fill('[name="email"]', "not-an-address")
    walk.submit()
    walk.visit("messaging:subscribe", "errors")
    page.fill('[name="email"]', email)
    page.check('[name="topics"][value="bosai"]')
    page.check('[name="topics"][value="gomi"]')
    page.select_option('[name="area"]', index=1)
    walk.submit()
    walk.visit("messaging:subscribe-sent", "sent")
    token = subscription_token(slug, email)
    walk.go(f"/{slug}/messages/confirm/not-a-valid-link/")
    walk.visit("messaging:confirm", "invalid")
    walk.go(f"/{slug}/messages/confirm/{token}/")
    walk.visit("messaging:confirm", "confirm")
    walk.submit("#confirm")
    walk.visit("messaging:manage", "confirmed")
    for box in page.locator('main [name="topics"]').all():
        box.uncheck()
    walk.submit()
    walk.visit("messaging:manage", "errors")
    page.check('[name="topics"][value="kosodate"]')
    walk.submit()
    walk.visit("messaging:manage", "saved")
    with page.expect_navigation():
        page.locator(f"main a[href$='/messages/unsubscribe/{token}/']").click()
    walk.visit("messaging:unsubscribe", "ask")
    walk.submit("#unsubscribe")
    walk.visit("messaging:unsubscribe", "unsubscribed")
    walk.go(f"/{slug}/messages/my/{token}/")
    walk.visit("messaging:manage", "stopped")


def walk_reservations(walk: Walk) -> None:
    """Book a counter time, look it up elsewhere, change it and cancel it; the waiting list."""
    page = walk.page
    walk.go(f"/{walk.slug}/reservations/booking/manage/")
    walk.visit("reservations:manage", "expired")
    walk.go(f"/{walk.slug}/reservations/")
    walk.visit("reservations:resources", "list")
    walk.go(f"/{walk.slug}/reservations/koseki/")
    walk.visit("reservations:slots", "times")
    with page.expect_navigation():
        page.locator("main .slot-list a.button").first.click()
    walk.visit("reservations:book", "form")
    page.fill('[name="phone"]', "abc")
    walk.submit()
    walk.visit("reservations:book", "errors")
    page.fill('[name="name"]', "神戸 花子")
    page.fill('[name="phone"]', "078-331-8181")
    walk.submit()
    walk.visit("reservations:book", "booked")
    receipt = page.inner_text("#receipt-number")
    secret = page.inner_text("#secret")
    walk.go(f"/{walk.slug}/reservations/booking/")
    walk.visit("reservations:lookup", "form")
    page.fill('[name="receipt_number"]', receipt)
    page.fill('[name="secret"]', "AAAA-AAAA")
    walk.submit()
    walk.visit("reservations:lookup", "refused")
    page.fill('[name="receipt_number"]', receipt)
    page.fill('[name="secret"]', secret)
    walk.submit()
    walk.visit("reservations:manage", "booking")
    with page.expect_navigation():
        page.click("#change-link")
    walk.visit("reservations:change", "times")
    page.locator('main input[name="slot"]:not([disabled])').nth(2).check()
    walk.submit("#change-submit")
    walk.visit("reservations:manage", "changed")
    walk.submit("#cancel-submit")
    walk.visit("reservations:manage", "cancelled")
    walk.go(f"/{walk.slug}/reservations/flu/")
    with page.expect_navigation():
        page.locator("main .slot-list li a:not(.button)").first.click()
    walk.visit("reservations:wait", "form")


def error_page_html(template: str, language: str) -> str:
    """An error page as the server renders it, in ``language``."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.utils import translation

    with translation.override(language):
        request = RequestFactory().get("/kobe/")
        return render_to_string(f"{template}.html", {"retry_after": 30}, request=request)


def _serving(html: str) -> Callable[[Any], None]:
    def fulfil(route: Any) -> None:
        route.fulfill(body=html, content_type="text/html; charset=utf-8")

    return fulfil


def walk_errors(walk: Walk, language: str) -> None:
    for code in RESIDENT_PAGES["errors"]:
        html = error_page_html(code, language)
        url = f"{walk.base}/__error_page_{code}/"
        walk.page.route(url, _serving(html))
        walk.page.goto(url)
        walk.visit("errors", code)
        walk.page.unroute(url)


def resident_walk(walk: Walk, *, language: str, upload: Path) -> None:
    """Every state of every resident page (or those of ``walk.only``)."""
    walk.language = language
    walk.choose_language()
    if walk.wanted("open-data"):
        walk_open_data(walk)
    if walk.wanted("apply"):
        walk_apply(walk, upload)
        walk_save_and_resume(walk)
        if walk.wanted("status"):
            walk_status(walk, upload)
    if walk.wanted("chat") or walk.wanted("self-report"):
        line_account(walk.slug)
    if walk.wanted("chat"):
        walk_chat(walk)
    if walk.wanted("self-report"):
        walk_self_report(walk, self_report_token(walk.slug))
    if walk.wanted("reservations"):
        walk_reservations(walk)
    if walk.wanted("reports"):
        walk_reports(walk, upload)
    if walk.wanted("messaging"):
        walk_messaging(walk)
    if walk.wanted("errors"):
        walk_errors(walk, language)


def all_states() -> list[str]:
    return [f"{name}:{state}" for name, states in RESIDENT_PAGES.items() for state in states]
