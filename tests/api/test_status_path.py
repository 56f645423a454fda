"""The status lookup's short path (``madoguchi.api.status_path``) answers exactly what Django's
whole stack answers: the same status, headers and bytes, the same log lines, the same limits.

Each case sends one request to Django's own WSGI handler and the same request to the short
path in front of another handler, and compares. The handler behind the short path counts the
requests it gets, so each case also proves which of the two answered: the ordinary lookup must
never reach Django, and everything out of the ordinary must.
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from annotated_types import MaxLen
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.middleware.locale import LocaleMiddleware
from django.test import Client
from pytest_django.fixtures import Settings

from madoguchi.api import status_path
from madoguchi.api.status_path import StatusShortPath, with_status_short_path
from madoguchi.core.readonly import read_only_switch
from madoguchi.procedures import status as status_module
from madoguchi.procedures.api import StatusIn
from madoguchi.tenants.selectors import municipality_cache_clear
from tests.api.support import (
    claim,
    file_answer,
    freeze_ratelimit_clock,
    post_application,
    publish_kyufukin,
    upload_ok,
    valid_answers,
)
from tests.core.test_dbfailure import database_unreachable
from tests.isolation import Tenant

PATH = "/api/v1/kobe/status"
_CHANGING = re.compile(r"(csrftoken=|expires=)[^;]+")
_FORM_TOKEN = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+')


@dataclass(frozen=True)
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


class CountingHandler:
    """Django's WSGI handler, counting the requests that reach it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.calls += 1
        return self.handler(environ, start_response)


@contextmanager
def connections_kept() -> Iterator[None]:
    """As Django's test client: a request's end must not close the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call(
    app: Callable[..., Any],
    body: bytes,
    *,
    method: str = "POST",
    path: str = PATH,
    query: str = "",
    content_type: str = "application/json",
    address: str = "203.0.113.10",
    scheme: str = "http",
    host: str = "testserver",
    **meta: str,
) -> Answer:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": address,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": host,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": scheme,
        "wsgi.errors": sys.stderr,
        **meta,
    }
    started: list[tuple[str, list[tuple[str, str]]]] = []
    with connections_kept():
        result = app(
            environ, lambda status, headers, exc_info=None: started.append((status, headers))
        )
        try:
            content = b"".join(result)
        finally:
            result.close()
    status, headers = started[0]
    # A page with a form (the language switch of an error page) has a new CSRF token each time.
    kept = [(name, _CHANGING.sub(r"\1(varies)", value)) for name, value in headers]
    return Answer(status, sorted(kept), _FORM_TOKEN.sub(rb"\1(varies)", content))


def lookup_body(receipt_number: Any, secret: Any, *, ascii_only: bool = False) -> bytes:
    body = {"receipt_number": receipt_number, "secret": secret}
    return json.dumps(body, ensure_ascii=ascii_only).encode()


@pytest.fixture
def kobe(tenant_a: Tenant) -> Tenant:
    publish_kyufukin(tenant_a.municipality)
    return tenant_a


@pytest.fixture
def applied(kobe: Tenant) -> dict[str, Any]:
    """An application submitted through the API: its receipt number and secret."""
    client = Client()
    uploaded = upload_ok(client, "kobe")
    response = post_application(
        client,
        "kobe",
        {"answers": valid_answers(file_answer(uploaded)), "uploads": [claim(uploaded)]},
    )
    assert response.status_code == 201, response.content
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def both() -> Callable[..., tuple[Answer, Answer]]:
    """Send one request to Django and to the short path; both answers, after checking that
    the short path answered it itself (Django's handler behind it saw nothing)."""

    def send(body: bytes, *, delegated: bool = False, **kwargs: Any) -> tuple[Answer, Answer]:
        full = call(WSGIHandler(), body, **{**kwargs, "address": "203.0.113.1"})
        behind = CountingHandler()
        short = call(StatusShortPath(behind), body, **{**kwargs, "address": "203.0.113.2"})
        assert behind.calls == (1 if delegated else 0), "answered by the wrong path"
        return full, short

    return send


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_ratelimit_clock(monkeypatch)  # the same Retry-After on both paths


# --- the ordinary lookup: answered by the short path, the same answer -----------------------


def test_a_right_lookup_is_the_same_200_bytes_and_headers(
    applied: dict[str, Any], both: Callable[..., tuple[Answer, Answer]]
) -> None:
    full, short = both(lookup_body(applied["receipt_number"], applied["secret"]))

    assert full.status == "200 OK"
    assert short == full
    data = json.loads(short.body)
    assert data["receipt_number"] == applied["receipt_number"]
    assert data["state_label"] == "受付済"
    assert "Content-Security-Policy" in dict(short.headers)
    assert dict(short.headers)["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("receipt", "secret", "status", "code"),
    [
        (None, "WRONG-SECRET", "404 Not Found", "not_found"),  # None: the real number
        ("1234567890", "anything", None, None),  # a wrong check digit or a missing number
        ("12", "x", "400 Bad Request", "receipt_format"),
        (None, "", "400 Bad Request", "secret_required"),
        (None, "   ", "400 Bad Request", "secret_required"),
        ("０１２３４５６７８９", "x", None, None),  # full-width digits, as typed on a phone
        (None, "秘密", "404 Not Found", "not_found"),
        (None, "a\x00b", "404 Not Found", "not_found"),
    ],
)
def test_a_refused_lookup_is_the_same_error(
    applied: dict[str, Any],
    both: Callable[..., tuple[Answer, Answer]],
    receipt: str | None,
    secret: str,
    status: str | None,
    code: str | None,
) -> None:
    for ascii_only in (False, True):  # UTF-8 as it is, or \u escapes (Python's json.dumps)
        body = lookup_body(receipt or applied["receipt_number"], secret, ascii_only=ascii_only)

        full, short = both(body)

        assert short == full
    assert full.status.startswith("4")
    if status is not None:
        assert full.status == status
        assert json.loads(full.body)["error"]["code"] == code


def test_english_clients_get_the_same_japanese_answer(
    applied: dict[str, Any], both: Callable[..., tuple[Answer, Answer]]
) -> None:
    full, short = both(
        lookup_body(applied["receipt_number"], "WRONG"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"
    )

    assert short == full
    assert ("Content-Language", "ja") in short.headers
    assert "正しくありません" in json.loads(short.body)["error"]["message"]


def test_over_https_the_hsts_header_is_the_same(
    applied: dict[str, Any], both: Callable[..., tuple[Answer, Answer]], settings: Settings
) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    full, short = both(lookup_body(applied["receipt_number"], applied["secret"]), scheme="https")

    assert full.status == "200 OK"
    assert short == full
    assert dict(short.headers)["Strict-Transport-Security"].startswith("max-age=31536000")


def test_failures_lock_the_number_for_that_client_alike(
    applied: dict[str, Any], settings: Settings
) -> None:
    """Six wrong secrets in a row: the same 404s, then the same 429 with Retry-After."""
    settings.STATUS_LOOKUP_MAX_FAILURES = 3
    wrong = lookup_body(applied["receipt_number"], "WRONG")
    right = lookup_body(applied["receipt_number"], applied["secret"])
    behind = CountingHandler()
    short_path = StatusShortPath(behind)

    full = [call(WSGIHandler(), wrong, address="198.51.100.1") for _ in range(5)]
    full.append(call(WSGIHandler(), right, address="198.51.100.1"))
    short = [call(short_path, wrong, address="198.51.100.2") for _ in range(5)]
    short.append(call(short_path, right, address="198.51.100.2"))

    assert behind.calls == 0
    assert short == full
    assert [answer.status[:3] for answer in short] == ["404"] * 3 + ["429"] * 3
    assert json.loads(short[-1].body)["error"]["code"] == "receipt_locked"
    assert dict(short[-1].headers)["Retry-After"] == "1790"
    # Another client (the resident with the printed code) is answered at once.
    assert call(short_path, right, address="198.51.100.3").status == "200 OK"


def test_the_per_client_limit_counts_alike(applied: dict[str, Any], settings: Settings) -> None:
    settings.STATUS_LOOKUP_RATE_PER_CLIENT = 2
    right = lookup_body(applied["receipt_number"], applied["secret"])
    short_path = StatusShortPath(CountingHandler())

    full = [call(WSGIHandler(), right, address="198.51.100.4").status for _ in range(3)]
    short = [call(short_path, right, address="198.51.100.5").status for _ in range(3)]

    assert short == full == ["200 OK", "200 OK", "429 Too Many Requests"]


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own(
    applied: dict[str, Any], settings: Settings
) -> None:
    settings.STATUS_LOOKUP_RATE_PER_CLIENT = 1
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    right = lookup_body(applied["receipt_number"], applied["secret"])
    behind = CountingHandler()
    short_path = StatusShortPath(behind)

    def through_proxy(client: str) -> str:
        return call(short_path, right, address="10.0.0.5", HTTP_X_FORWARDED_FOR=client).status

    assert through_proxy("203.0.113.7") == "200 OK"
    assert through_proxy("203.0.113.7") == "429 Too Many Requests"
    assert through_proxy("203.0.113.8") == "200 OK"  # another resident, the same balancer
    # A forged header from a peer that is no proxy changes nothing.
    forged = [
        call(short_path, right, address="192.0.2.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status
        for n in range(2)
    ]
    assert forged == ["200 OK", "429 Too Many Requests"]
    assert behind.calls == 0


def test_the_request_signals_are_sent_once_each(applied: dict[str, Any]) -> None:
    """Django's handler checks and recycles database connections on these signals."""
    sent: list[str] = []

    def started(**kwargs: Any) -> None:
        sent.append("started")

    def finished(**kwargs: Any) -> None:
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        call(
            StatusShortPath(CountingHandler()),
            lookup_body(applied["receipt_number"], applied["secret"]),
        )
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert sent == ["started", "finished"]


def test_refusals_are_logged_as_django_logs_them(
    applied: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = lookup_body(applied["receipt_number"], "WRONG")

    def lines(app: Callable[..., Any]) -> list[tuple[str, int, str]]:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            call(app, wrong)
        return [(r.name, r.levelno, r.getMessage()) for r in caplog.records]

    full = lines(WSGIHandler())
    short = lines(StatusShortPath(CountingHandler()))

    assert short == full == [("django.request", logging.WARNING, f"Not Found: {PATH}")]


def test_an_unexpected_error_is_the_apis_logged_500(
    applied: dict[str, Any],
    both: Callable[..., tuple[Answer, Answer]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(status_module, "application_status_by_receipt", broken)

    full, short = both(lookup_body(applied["receipt_number"], applied["secret"]))

    assert full.status == "500 Internal Server Error"
    assert short == full
    assert json.loads(short.body)["error"]["code"] == "internal_error"
    unhandled = [r for r in caplog.records if r.getMessage().startswith("unhandled error in")]
    assert len(unhandled) == 2
    assert all(r.exc_info for r in unhandled)


def test_a_fault_after_the_lookup_is_a_logged_500_as_in_django(
    applied: dict[str, Any],
    both: Callable[..., tuple[Answer, Answer]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A middleware that fails on the answer: both paths answer 500 and log it."""

    def broken(self: object, request: object, response: object) -> None:
        raise RuntimeError("a bug in a middleware")

    monkeypatch.setattr(LocaleMiddleware, "process_response", broken)

    full, short = both(lookup_body(applied["receipt_number"], applied["secret"]))

    assert full.status == short.status == "500 Internal Server Error"
    errors = [r for r in caplog.records if r.getMessage() == f"Internal Server Error: {PATH}"]
    assert len(errors) == 2
    assert all(r.exc_info for r in errors)


@pytest.mark.django_db(transaction=True)
def test_with_the_database_unreachable_the_answer_is_the_same_503(
    kobe: Tenant, tmp_path: Path
) -> None:
    body = lookup_body("1234567890", "x")
    behind = CountingHandler()
    municipality_cache_clear()  # as a worker started during the outage
    with database_unreachable(tmp_path):
        full = call(WSGIHandler(), body)
        municipality_cache_clear()
        short = call(StatusShortPath(behind), body)

    assert full.status == "503 Service Unavailable"
    assert short == full
    assert behind.calls == 0
    assert json.loads(short.body)["error"]["code"] == "service_unavailable"


# --- everything else: handed to Django untouched -------------------------------------------


@pytest.mark.parametrize(
    ("body", "kwargs"),
    [
        (b"{not json", {}),
        (b"[1, 2]", {}),
        (b'"1234567890"', {}),
        (b'{"receipt_number": "1234567890"}', {}),
        (b'{"receipt_number": "1234567890", "secret": "x", "extra": 1}', {}),
        (b'{"receipt_number": 1234567890, "secret": "x"}', {}),
        (b'{"receipt_number": "1234567890", "secret": null}', {}),
        (lookup_body("1" * 65, "x"), {}),
        (lookup_body("1234567890", "x" * 65), {}),
        (b'{"receipt_number": "1234567890", "secret": NaN}', {}),
        (b'{"receipt_number": "1234567890", "secret": "\\ud800"}', {}),
        (b'{"receipt_number": "1234567890", "secret": "\\udc00\\ud800"}', {}),
        (b'{"receipt_number": "1234567890", "secret": "x"}' + b" " * 3000, {}),
        (lookup_body("1234567890", "x"), {"content_type": "text/plain"}),
        (lookup_body("1234567890", "x"), {"content_type": "application/x-www-form-urlencoded"}),
        (lookup_body("1234567890", "x"), {"path": "/api/v1/nowhere/status"}),
        (lookup_body("1234567890", "x"), {"path": "/api/v1/kobe/status/"}),
        (lookup_body("1234567890", "x"), {"query": "language=en"}),
        (lookup_body("1234567890", "x"), {"method": "PUT"}),
        (b"", {"method": "GET"}),
        (lookup_body("1234567890", "x"), {"host": "evil.example"}),
    ],
)
def test_anything_out_of_the_ordinary_is_answered_by_django_alike(
    kobe: Tenant,
    both: Callable[..., tuple[Answer, Answer]],
    body: bytes,
    kwargs: dict[str, Any],
    settings: Settings,
) -> None:
    settings.ALLOWED_HOSTS = ["testserver"]

    full, short = both(body, delegated=True, **kwargs)

    assert short == full
    assert not full.status.startswith("5")


def test_an_https_redirect_is_djangos(
    applied: dict[str, Any], both: Callable[..., tuple[Answer, Answer]], settings: Settings
) -> None:
    settings.SECURE_SSL_REDIRECT = True

    full, short = both(lookup_body(applied["receipt_number"], applied["secret"]), delegated=True)

    assert full.status.startswith("301")
    assert short == full


def test_in_read_only_mode_django_answers(
    applied: dict[str, Any], both: Callable[..., tuple[Answer, Answer]], settings: Settings
) -> None:
    """The lookup still works there (its counters move to memory), through Django's path."""
    read_only_switch(on=True, reason="test")
    try:
        full, short = both(
            lookup_body(applied["receipt_number"], applied["secret"]), delegated=True
        )
    finally:
        read_only_switch(on=False)

    assert full.status == "200 OK"
    assert short == full


# --- its own rules agree with the endpoint's ------------------------------------------------


def test_its_field_rules_are_the_schemas() -> None:
    fields = StatusIn.model_fields
    assert set(fields) == status_path._FIELDS
    limits = {
        name: next(m.max_length for m in field.metadata if isinstance(m, MaxLen))
        for name, field in fields.items()
    }
    assert limits == {
        "receipt_number": status_path._RECEIPT_MAX,
        "secret": status_path._SECRET_MAX,
    }


def test_the_setting_turns_it_off(settings: Settings) -> None:
    django = WSGIHandler()
    assert isinstance(with_status_short_path(django), StatusShortPath)
    settings.STATUS_SHORT_PATH = False
    assert with_status_short_path(django) is django
