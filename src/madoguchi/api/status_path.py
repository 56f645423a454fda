"""The status lookup's short path: ``POST /api/v1/<slug>/status`` answered in front of Django.

In a crisis (the 2020 cash payment, a benefit with a deadline) the one request that comes in
millions is a resident asking where their application stands. Through Django's whole handler
(sixteen middleware, the URL resolver, django-ninja) that request cost more than twice the CPU
of the lookup itself (1.05 ms against 0.4 ms in one process; 0.72 ms on this path). This
WSGI wrapper answers the ordinary lookup directly, with the same service, the same answer and
the same headers, and hands every other request to Django untouched.

What it answers itself: a POST to exactly ``/api/v1/<slug>/status``, without a query string,
whose body (at most ``_MAX_BODY`` bytes of ``application/json``) holds exactly the two string
fields within the limits of the endpoint's schema (``StatusIn``), for a served municipality,
while read-only mode is off and no redirect or refused ``Host`` applies. For that request it

- sends ``request_started`` and (when the server closes the response) ``request_finished``, as
  Django's handler does, so database connections are checked and recycled the same way;
- takes the client's address through the trusted proxies with ``TrustedProxyMiddleware``'s
  ``client_address_set``;
- runs ``status_lookup`` in Japanese and builds the answer with the endpoint's own
  ``status_out`` and the API's renderer, or the endpoint's error for a refused lookup, and
  answers an exception with the API's own handlers (``api.on_exception``: 503 for an
  unavailable database, a logged 500 otherwise);
- runs the response through the ``process_response`` of the middleware that add headers to an
  API answer (CSP, X-Frame-Options, Common, Locale, Security, in Django's order), and logs a
  4xx/5xx as Django's handler does.

Everything else (a malformed or oversized body, an unknown municipality, another method or
path, read-only mode) is decided before anything is counted and goes to Django, with the body
it has read put back. ``tests/api/test_status_path.py`` compares the two paths' answers byte
for byte, headers included, so a middleware added later that changes an API answer fails
there until it is added here too. ``MADOGUCHI_STATUS_SHORT_PATH=0`` turns the short path off.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.locale import LocaleMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import set_script_prefix
from django.utils import translation
from django.utils.log import log_response

from madoguchi.api.api import SURROGATE_ESCAPE, api
from madoguchi.core.csp import CSPMiddleware
from madoguchi.core.proxy import client_address_set
from madoguchi.core.ratelimit import client_key
from madoguchi.core.readonly import read_only_active
from madoguchi.procedures.api import lookup_refused_error, status_out
from madoguchi.procedures.status import LookupRefused, status_lookup
from madoguchi.tenants.selectors import municipality_get_active

__all__ = ["StatusShortPath", "with_status_short_path"]

PostProcess = Callable[[WSGIRequest, Any], Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The slugs the endpoint's own check accepts (api.tenancy); anything else goes to Django.
_PATH = re.compile(r"/api/v1/([-a-zA-Z0-9_]{1,40})/status")
# StatusIn's fields and their limits (tests/api/test_status_path.py checks they agree).
_FIELDS = {"receipt_number", "secret"}
_RECEIPT_MAX = 64
_SECRET_MAX = 64
# A real lookup is about 60 bytes; anything much larger is not one.
_MAX_BODY = 2048


def _unused(request: Any) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("the short path's middleware only post-process responses")


class _Delegate(Exception):  # noqa: N818 - a decision, not a failure
    """The request is not an ordinary lookup: Django answers it."""


class StatusShortPath:
    """WSGI application: the ordinary status lookup here, every other request to ``django``."""

    def __init__(self, django: WSGIApp) -> None:
        self.django = django
        self._security = SecurityMiddleware(_unused)
        self._common = CommonMiddleware(_unused)
        # The middleware that add headers to an API answer, last in MIDDLEWARE first, as
        # Django runs them.
        self._post_process: list[PostProcess] = [
            CSPMiddleware(_unused).process_response,
            XFrameOptionsMiddleware(_unused).process_response,
            self._common.process_response,
            LocaleMiddleware(_unused).process_response,
            self._security.process_response,
        ]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # A query string may switch the language (LanguageFromFormMiddleware): Django's.
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
            return self.django(environ, start_response)
        match = _PATH.fullmatch(environ.get("PATH_INFO") or "")
        if match is None:
            return self.django(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return self.django(environ, start_response)
        content_type = str(environ.get("CONTENT_TYPE") or "")
        if (
            not 0 < length <= _MAX_BODY
            or content_type.split(";", 1)[0].strip().lower() != "application/json"
            or read_only_active()
        ):
            return self.django(environ, start_response)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # for Django, should it answer after all
        try:
            payload = _payload(body)
        except _Delegate:
            return self.django(environ, start_response)
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        request = WSGIRequest(environ)
        try:
            # The HTTPS redirect; a refused Host or user agent, the www redirect.
            redirected = (
                self._security.process_request(request) is not None
                or self._common.process_request(request) is not None
            )
        except (DisallowedHost, PermissionDenied):
            redirected = True
        if redirected:
            return self.django(environ, start_response)
        try:
            response = self._answer(request, match.group(1), payload)
            if response is None:  # no such municipality: Django's 404
                return self.django(environ, start_response)
            for process_response in self._post_process:
                response = process_response(request, response)
        except Exception as exc:  # a fault outside the lookup: logged and answered as Django does
            response = response_for_exception(request, exc)
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        # close(), called by the server, sends request_finished for it.
        setattr(response, "_handler_class", WSGIHandler)  # noqa: B010 - Django's attribute
        headers = [
            *response.items(),
            *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
        ]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return response

    def _answer(
        self, request: WSGIRequest, slug: str, payload: tuple[str, str]
    ) -> HttpResponse | None:
        with translation.override("ja"):
            try:
                tenant = municipality_get_active(slug=slug)
                if tenant is None:
                    return None
                client_address_set(request.META)
                try:
                    status = status_lookup(
                        municipality=tenant,
                        receipt_text=payload[0],
                        secret_text=payload[1],
                        client=client_key(request, "status"),
                    )
                except LookupRefused as exc:
                    raise lookup_refused_error(exc) from None
                response: HttpResponse = api.create_response(
                    request, status_out(status), status=HTTPStatus.OK
                )
            except Exception as exc:  # the API's own handlers answer it
                response = api.on_exception(request, exc)
        response["Content-Language"] = "ja"
        return response


def _refuse_constant(name: str) -> None:
    raise _Delegate


def _payload(body: bytes) -> tuple[str, str]:
    """The receipt number and secret, or _Delegate for anything that is not plainly two
    strings the endpoint's schema (``StatusIn``) accepts: its parser and schema judge that."""
    if SURROGATE_ESCAPE.search(body):  # whether it is paired is the strict parser's to judge
        raise _Delegate
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise _Delegate from None
    if not isinstance(data, dict) or data.keys() != _FIELDS:
        raise _Delegate
    receipt, secret = data["receipt_number"], data["secret"]
    if not (
        type(receipt) is str
        and type(secret) is str
        and len(receipt) <= _RECEIPT_MAX
        and len(secret) <= _SECRET_MAX
    ):
        raise _Delegate
    return receipt, secret


def with_status_short_path(django: WSGIApp) -> WSGIApp:
    """``django`` behind the short path, unless ``MADOGUCHI_STATUS_SHORT_PATH`` is off."""
    return StatusShortPath(django) if settings.STATUS_SHORT_PATH else django
