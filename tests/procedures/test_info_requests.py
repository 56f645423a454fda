"""Tests for requests for more information (追加書類のお願い) and the resident's answer.

The clerk asks for documents; the resident finds the request on the status page after looking
the application up, and answers there with text and files. Only a browser that has just looked
the application up may answer, and a refused answer stores nothing.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django import DjangoDbBlocker

from madoguchi.procedures.models import Application, Attachment, InfoRequest, ProcedureVersion
from madoguchi.procedures.views import STATUS_OK_KEY
from madoguchi.procedures.workflow import application_transition
from tests.isolation import Tenant, make_tenant
from tests.procedures.backoffice_fixtures import (
    HTML,
    PDF,
    PNG,
    back_office_state,
    kyufukin_submit,
    last_audit_pk,
    new_audit,
    publish_catalogue,
    receipts_in,
    shared_database,
    staff_context,
)
from tests.procedures.conftest import KYUFUKIN

ITEMS = "住民票の写し（世帯全員分）を添付してください。\n本籍の記載は不要です。"
STATUS = "status/"
RESPOND = "status/respond/"
TYPE_REFUSED = "このファイルは受け付けられません。JPEG・PNG・HEIC・PDF のいずれかを選んでください。"
NO_OPEN_REQUEST = "回答をお願いしている事項はありません。"


@dataclass(frozen=True)
class Office:
    tenant: Tenant
    version: ProcedureVersion


@pytest.fixture(scope="module")
def office(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Office]:
    with (
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")),
        shared_database(django_db_blocker),
    ):
        tenant = make_tenant("281000", "kobe")
        yield Office(tenant, publish_catalogue(tenant.municipality, KYUFUKIN, "welfare"))


@pytest.fixture(autouse=True)
def _savepoint(db: None) -> None:
    """Each test in a savepoint of the module's transaction."""


@dataclass(frozen=True)
class Asked:
    """An application the clerk has asked for documents, and its lookup secret."""

    application: Application
    secret: str
    request: InfoRequest


@pytest.fixture
def asked(office: Office) -> Asked:
    result = kyufukin_submit(office.version)
    assert result.secret is not None
    clerk = staff_context(office.tenant, "clerk")
    application_transition(application=result.application, target="reviewing", staff=clerk)
    application_transition(
        application=result.application, target="more_info", staff=clerk, missing_items=ITEMS
    )
    application = Application.objects.get(pk=result.application.pk)
    return Asked(application, result.secret, InfoRequest.objects.get(application=application))


def looked_up(office: Office, asked: Asked, client: Client | None = None) -> tuple[Client, str]:
    """A resident's browser that has just looked the application up; and the page."""
    browser = client or Client()
    response = browser.post(
        office.tenant.url(STATUS),
        {"receipt_number": asked.application.receipt_number, "secret": asked.secret},
    )
    assert response.status_code == 200
    return browser, html.unescape(response.content.decode())


def respond(browser: Client, office: Office, text: str, *files: tuple[str, bytes]) -> Any:
    data: dict[str, Any] = {"text": text}
    if files:
        data["files"] = [
            SimpleUploadedFile(name, content, content_type="application/pdf")
            for name, content in files
        ]
    return browser.post(office.tenant.url(RESPOND), data)


def errors_of(response: Any) -> list[str]:
    body = html.unescape(response.content.decode())
    summary = body.split('<div class="error-summary"', 1)[1].split("</ul>", 1)[0]
    return [item.split("</li>", 1)[0] for item in summary.split("<li>")[1:]]


def unanswered(office: Office, asked: Asked) -> None:
    request = InfoRequest.objects.get(pk=asked.request.pk)
    assert (request.answered_at, request.response) == (None, None)
    assert Application.objects.get(pk=asked.application.pk).answered_at is None


# --- the status page ------------------------------------------------------------------------------


def test_the_status_page_shows_the_items_and_the_form_to_answer(
    office: Office, asked: Asked
) -> None:
    _browser, page = looked_up(office, asked)

    assert '<strong class="badge badge--info" id="status-state">追加書類のお願い</strong>' in page
    assert (
        '<p id="status-message">住民票の写し（世帯全員分）を添付してください。<br>'
        "本籍の記載は不要です。</p>"
    ) in page
    form = page.split('id="respond-heading"', 1)[1].split("</section>", 1)[0]
    assert "住民票の写し（世帯全員分）を添付してください。<br>本籍の記載は不要です。" in form
    assert '<form method="post" action="/kobe/status/respond/"' in form
    assert 'enctype="multipart/form-data"' in form
    assert '<textarea id="f-text" name="text"' in form
    assert '<input type="file" id="f-files" name="files" multiple' in form


def test_a_wrong_secret_shows_neither_the_items_nor_the_form(office: Office, asked: Asked) -> None:
    response = Client().post(
        office.tenant.url(STATUS),
        {"receipt_number": asked.application.receipt_number, "secret": "WRONG123"},
    )
    page = html.unescape(response.content.decode())
    assert "住民票の写し" not in page
    assert "respond-heading" not in page


# --- who may answer ------------------------------------------------------------------------------


def test_answering_without_a_lookup_is_refused_and_stores_nothing(
    office: Office, asked: Asked
) -> None:
    before = back_office_state(office.tenant.municipality)
    response = respond(Client(), office, "住民票を送ります。", ("juminhyo.pdf", PDF))
    assert response.status_code == 403
    assert "時間が経ったため、もう一度受付番号と確認コードを入力してください。" in html.unescape(
        response.content.decode()
    )
    assert back_office_state(office.tenant.municipality) == before
    unanswered(office, asked)


def test_a_failed_lookup_grants_nothing(office: Office, asked: Asked) -> None:
    browser = Client()
    browser.post(
        office.tenant.url(STATUS),
        {"receipt_number": asked.application.receipt_number, "secret": "WRONG123"},
    )
    before = back_office_state(office.tenant.municipality)
    assert respond(browser, office, "住民票を送ります。").status_code == 403
    assert back_office_state(office.tenant.municipality) == before


def test_a_lookup_more_than_half_an_hour_ago_no_longer_counts(office: Office, asked: Asked) -> None:
    browser, _page = looked_up(office, asked)
    session = browser.session
    session[STATUS_OK_KEY] = {
        "id": asked.application.pk,
        "until": timezone.now().timestamp() - 1,
    }
    session.save()
    before = back_office_state(office.tenant.municipality)
    assert respond(browser, office, "住民票を送ります。", ("juminhyo.pdf", PDF)).status_code == 403
    assert back_office_state(office.tenant.municipality) == before


# --- answering -----------------------------------------------------------------------------------


def test_an_answer_with_a_pdf_is_stored_and_shown_to_the_department(
    office: Office, asked: Asked
) -> None:
    browser, _page = looked_up(office, asked)
    mark = last_audit_pk()

    response = respond(browser, office, "住民票を添付します。", ("juminhyo.pdf", PDF))

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    # The result page again, saying so, without the request's form.
    assert 'id="status-state"' in page
    assert "ご回答を受け付けました。担当課で確認しています。" in page
    assert 'id="respond-heading"' not in page
    request = InfoRequest.objects.get(pk=asked.request.pk)
    application = Application.objects.get(pk=asked.application.pk)
    assert request.response == "住民票を添付します。"
    assert request.answered_at is not None
    assert application.answered_at == request.answered_at
    assert application.state == "more_info"  # staff decide what happens next
    [document] = Attachment.objects.filter(application=application, field_key="info_request")
    assert (document.content_type, document.size, document.original_name) == (
        "application/pdf",
        len(PDF),
        "juminhyo.pdf",
    )
    [entry] = new_audit(office.tenant.municipality, mark)
    assert (entry.kind, entry.action, entry.actor_label, entry.data) == (
        "event",
        "application.info_answered",
        "resident",
        {"files": 1},
    )

    clerk = office.tenant.client("clerk")
    queue = clerk.get(office.tenant.url("staff/applications/"))
    rows = [row for row in queue.content.decode().split("<tr>") if receipts_in(row)]
    [row] = [r for r in rows if application.receipt_number in r]
    assert '<span class="badge badge--info">回答あり</span>' in row
    detail = html.unescape(
        clerk.get(
            office.tenant.url(f"staff/applications/{application.receipt_number}/")
        ).content.decode()
    )
    assert "住民から回答あり" in detail
    assert "住民票を添付します。" in detail
    assert f'/files/{document.pk}/">juminhyo.pdf</a>' in detail

    # The status page now thanks the resident instead of asking again.
    _browser, status = looked_up(office, asked)
    assert "ご回答を受け付けました。担当課で確認しています。" in status
    assert "respond-heading" not in status


def test_the_next_transition_clears_the_answered_mark(office: Office, asked: Asked) -> None:
    browser, _page = looked_up(office, asked)
    assert respond(browser, office, "送りました。", ("juminhyo.pdf", PDF)).status_code == 200
    application_transition(
        application=asked.application,
        target="reviewing",
        staff=staff_context(office.tenant, "clerk"),
    )
    assert Application.objects.get(pk=asked.application.pk).answered_at is None
    queue = office.tenant.client("clerk").get(office.tenant.url("staff/applications/"))
    assert "回答あり" not in queue.content.decode()


def test_an_html_file_named_pdf_is_refused_and_nothing_is_answered(
    office: Office, asked: Asked
) -> None:
    browser, _page = looked_up(office, asked)
    before = back_office_state(office.tenant.municipality)

    response = respond(browser, office, "住民票です。", ("juminhyo.pdf", HTML))

    assert response.status_code == 400
    assert errors_of(response) == [f"juminhyo.pdf：{TYPE_REFUSED}"]
    assert back_office_state(office.tenant.municipality) == before
    unanswered(office, asked)


def test_an_empty_answer_is_refused(office: Office, asked: Asked) -> None:
    browser, _page = looked_up(office, asked)
    before = back_office_state(office.tenant.municipality)
    response = respond(browser, office, "  ")
    assert response.status_code == 400
    assert errors_of(response) == ["回答の内容を入力するか、書類を添付してください。"]
    assert back_office_state(office.tenant.municipality) == before


def test_answering_twice_finds_no_open_request(office: Office, asked: Asked) -> None:
    browser, _page = looked_up(office, asked)
    assert respond(browser, office, "一回目です。").status_code == 200
    before = back_office_state(office.tenant.municipality)

    response = respond(browser, office, "二回目です。")

    assert response.status_code == 400
    assert errors_of(response) == [NO_OPEN_REQUEST]
    assert back_office_state(office.tenant.municipality) == before
    assert InfoRequest.objects.get(pk=asked.request.pk).response == "一回目です。"


@pytest.mark.parametrize(
    "second",
    [
        [("juminhyo.pdf", PDF)],  # a second answer: no open request
        [("menkyo.png", PNG), ("evil.pdf", HTML)],  # one good file beside a refused one
    ],
    ids=["answered-already", "one-file-refused"],
)
def test_a_refused_answer_keeps_none_of_its_files(
    office: Office, asked: Asked, second: list[tuple[str, bytes]]
) -> None:
    browser, _page = looked_up(office, asked)
    if len(second) == 1:
        assert respond(browser, office, "一回目です。").status_code == 200
    before = back_office_state(office.tenant.municipality)

    response = respond(browser, office, "書類です。", *second)

    assert response.status_code == 400
    assert back_office_state(office.tenant.municipality) == before


def test_a_request_is_no_longer_open_once_the_application_has_moved_on(
    office: Office, asked: Asked
) -> None:
    application_transition(
        application=asked.application,
        target="withdrawn",
        staff=staff_context(office.tenant, "clerk"),
    )
    browser, page = looked_up(office, asked)
    assert '<strong class="badge badge--info" id="status-state">取下げ</strong>' in page
    assert "respond-heading" not in page
    before = back_office_state(office.tenant.municipality)
    response = respond(browser, office, "住民票を送ります。")
    assert response.status_code == 400
    assert errors_of(response) == [NO_OPEN_REQUEST]
    assert back_office_state(office.tenant.municipality) == before
