"""The Content-Security-Policy header: kept per process, the same as django-csp writes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from madoguchi.core.csp import CSPMiddleware

HEADER = "Content-Security-Policy"


def run(
    middleware: type[LibraryCSPMiddleware],
    view: Callable[[HttpRequest], HttpResponseBase],
    request: HttpRequest,
) -> HttpResponseBase:
    response = middleware(view)(request)
    assert isinstance(response, HttpResponseBase)  # a sync middleware with a sync view
    return response


def both(view: Callable[[HttpRequest], HttpResponseBase], path: str = "/") -> list[Any]:
    """The response headers ours and django-csp's middleware write for the same request."""
    headers = []
    for middleware in (CSPMiddleware, LibraryCSPMiddleware):
        request = RequestFactory().post(path, "{}", content_type="application/json")
        response = run(middleware, view, request)
        headers.append((response.get(HEADER), response.get(HEADER + "-Report-Only")))
    return headers


def json_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"state": "received"})


def test_a_json_response_gets_the_header_django_csp_builds() -> None:
    ours, library = both(json_view, "/api/v1/kobe/status")

    assert ours == library
    assert ours[0] is not None
    assert "default-src 'self'" in ours[0]


def test_the_header_follows_a_change_of_the_settings(settings: Settings) -> None:
    both(json_view)  # the header of the current settings is now kept
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": [SELF, "https://x.example"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": [SELF]}}

    ours, library = both(json_view)

    assert ours == library
    assert "default-src 'self' https://x.example" in ours[0]
    assert "img-src 'self'" in ours[1]


def test_a_view_changing_its_policy_and_a_nonce_go_through_django_csp(
    settings: Settings,
) -> None:
    @csp_update({"img-src": "https://tiles.example"})
    def updated(request: HttpRequest) -> HttpResponse:
        return HttpResponse("map")

    ours, library = both(updated)
    assert ours == library
    assert "https://tiles.example" in ours[0]

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    seen: list[str] = []

    def with_nonce(request: HttpRequest) -> HttpResponse:
        seen.append(str(request.csp_nonce))  # type: ignore[attr-defined]
        return HttpResponse("page")

    request = RequestFactory().get("/")
    response = run(CSPMiddleware, with_nonce, request)
    assert f"script-src 'self' 'nonce-{seen[0]}'" in response[HEADER]


def test_a_nonce_asked_for_after_the_header_is_written_is_refused() -> None:
    request = RequestFactory().get("/")
    run(CSPMiddleware, json_view, request)

    with pytest.raises(Exception, match="not available after the CSP header"):
        str(request.csp_nonce)  # type: ignore[attr-defined]
