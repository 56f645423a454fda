"""Rendered dashboard bodies, cached per data version in Django's cache.

The cache is local memory per process by default. Keys carry the municipality's data version
and its update time, both read from the database on every request (one indexed query), so a
change made through any process makes every process render afresh at its next request; old
entries simply age out. Only the body is cached: the page around it holds the visitor's
CSRF token and is rendered per request.

For visitors without a session or pending messages, the whole dashboard page is cached too,
with a placeholder where the CSRF token of the language switch goes; each response puts the
visitor's own token there. Such a request costs one SQL statement and a cache lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString

from madoguchi.opendata import selectors
from madoguchi.opendata.dashboard import Period, dashboard_cards, dashboard_title
from madoguchi.opendata.models import LICENCE_URLS, Licence
from madoguchi.opendata.prefecture import (
    prefecture_cards,
    prefecture_members_table,
    prefecture_title,
)
from madoguchi.tenants.models import Municipality

__all__ = [
    "CSRF_PLACEHOLDER",
    "dashboard_body",
    "page_cached",
    "page_key",
    "page_response",
    "page_store",
    "prefecture_body",
]

# Stands in for the CSRF token in a cached page; letters only, so no escaping changes it.
CSRF_PLACEHOLDER = "opendataCsrfTokenPlaceholder"


def _cached(key: str, render: Callable[[], SafeString]) -> SafeString:
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = f"{key}:{language}"
    body = cache.get(key)
    if isinstance(body, SafeString):
        return body
    body = render()
    cache.set(key, body, settings.OPENDATA_CACHE_SECONDS)
    return body


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    label: str
    url: str
    current: bool


def dashboard_body(*, municipality: Municipality, period: Period = Period.ALL) -> SafeString:
    """The dashboard's main content for ``municipality``, from the cache when current."""
    state = selectors.publisher_state(municipality=municipality)
    page_url = reverse("opendata:dashboard", kwargs={"municipality_slug": municipality.slug})

    def render() -> SafeString:
        return render_to_string(
            "opendata/_dashboard_body.html",
            {
                "municipality": municipality,
                "title": dashboard_title(municipality, html=True),
                "prefecture_total": _prefecture_total(municipality),
                "cards": dashboard_cards(municipality=municipality, period=period),
                "periods": [
                    PeriodChoice(choice.label, page_url + choice.query, choice is period)
                    for choice in Period
                ],
                "updated_at": state.updated_at,
                "licence": Licence(state.licence).label,
                "licence_url": LICENCE_URLS[state.licence],
                "catalogue_url": reverse(
                    "opendata:catalogue", kwargs={"municipality_slug": municipality.slug}
                ),
            },
        )

    return _cached(
        f"opendata:dashboard:{municipality.pk}:{state.cache_token}:{period.value}", render
    )


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


def _prefecture_total(municipality: Municipality) -> Link | None:
    """The prefecture view this municipality is added up in (a prefecture's: its own)."""
    prefecture = municipality if municipality.is_prefecture else municipality.prefecture
    if prefecture is None:
        return None
    return Link(
        prefecture_title(prefecture, html=True),
        reverse("opendata-prefecture", kwargs={"code": prefecture.code}),
    )


def _own_dashboard_url(prefecture: Municipality) -> str:
    """The prefecture's own dashboard, when it is served here; else ""."""
    if not prefecture.is_active:
        return ""
    return reverse("opendata:dashboard", kwargs={"municipality_slug": prefecture.slug})


def prefecture_body(*, prefecture: Municipality, members: Sequence[Municipality]) -> SafeString:
    """The prefecture view's main content, cached on every member's data version."""
    states = selectors.publisher_states(municipalities=members)
    tokens = ",".join(f"{pk}={state.cache_token}" for pk, state in sorted(states.items()))
    digest = hashlib.sha256(tokens.encode()).hexdigest()[:32]
    stamps = [s.updated_at for s in states.values() if s.updated_at is not None]

    def render() -> SafeString:
        return render_to_string(
            "opendata/_prefecture_body.html",
            {
                "prefecture": prefecture,
                "title": prefecture_title(prefecture, html=True),
                "own_title": dashboard_title(prefecture, html=True),
                "own_url": _own_dashboard_url(prefecture),
                "member_count": len(members),
                "cards": prefecture_cards(prefecture=prefecture, members=members),
                "members": prefecture_members_table(members=members),
                "updated_at": max(stamps, default=None),
            },
        )

    return _cached(f"opendata:prefecture:{prefecture.pk}:{digest}", render)


def page_key(request: HttpRequest, *, slug: str) -> str | None:
    """The cache key of the whole dashboard page for this visitor, or None.

    None when the page must be rendered for the visitor alone (a query string, a session
    that may carry staff links, pending messages) or when ``slug`` serves no municipality
    (the ordinary view then answers with its 404).
    """
    if (
        request.GET
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or "messages" in request.COOKIES
    ):
        return None
    found = selectors.dashboard_page_token(slug=slug)
    if found is None:
        return None
    pk, token = found
    language = translation.get_language() or settings.LANGUAGE_CODE
    digest = hashlib.sha256(f"{token}|{request.path}".encode()).hexdigest()[:32]
    return f"opendata:page:{pk}:{digest}:{language}"


def page_store(key: str, html: str) -> tuple[bytes, ...]:
    """Cache a page rendered with CSRF_PLACEHOLDER; return its parts around the token."""
    parts = tuple(part.encode() for part in html.split(CSRF_PLACEHOLDER))
    cache.set(key, parts, settings.OPENDATA_CACHE_SECONDS)
    return parts


def page_cached(key: str) -> tuple[bytes, ...] | None:
    """The cached page's parts around the CSRF token, or None."""
    parts = cache.get(key)
    return parts if isinstance(parts, tuple) else None


def page_response(request: HttpRequest, parts: tuple[bytes, ...]) -> HttpResponse:
    """The cached page with the visitor's own CSRF token (which also sets its cookie)."""
    return HttpResponse(get_token(request).encode().join(parts))
