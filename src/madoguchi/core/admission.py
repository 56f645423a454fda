"""Admission control: a few slots per kind of expensive request in each server process.

Submissions, chat messages, uploads, staff searches and imports each take a slot of their
kind for as long as the view runs (``MADOGUCHI_ADMISSION_*_SLOTS`` per process). A request
that finds its kind's slots full waits for one at most ``MADOGUCHI_ADMISSION_QUEUE_MS``; past
that — or at once, when the requests already waiting would use up that budget — it is answered
503 with ``Retry-After``: a Japanese 「ただいま混み合っています」 page, or the API's JSON error
``busy``. Nothing of the request has run, so nothing is stored and the client can send the same
request again. Everything else (status lookup, pages, static files, the dashboard) is never
held here.

The limit lives in each process, shared by its threads (granian's blocking threads): a
``threading.Condition`` counts slots and waiters. Workers need more threads than slots
(``madoguchi serve --threads``) for the shed answers to be fast while the slots are busy.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.urls import Resolver404, get_urlconf, resolve
from django.utils import translation

__all__ = [
    "AdmissionMiddleware",
    "Gate",
    "busy_response",
    "gate_for",
    "gates_clear",
    "request_kind",
]

logger = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Non-safe requests to these views, by kind. Everything else is never limited.
_WRITE_KINDS: dict[str, str] = {
    # submissions: the web wizard's POSTs, the API, the self-report and clinic forms
    "procedures:detail": "submit",
    "procedures:step": "submit",
    "procedures:review": "submit",
    "procedures:save": "submit",
    "procedures:respond": "submit",
    "api:application_create": "submit",
    "surveillance:self-report": "submit",
    "surveillance:notification-new": "submit",
    "surveillance:notification-new-disease": "submit",
    # chat: the web assistant and the LINE webhook
    "consultation:chat": "chat",
    "consultation-line-webhook": "chat",
    # uploads
    "api:upload_create": "upload",
    # imports
    "consultation:faq-import": "import",
    "opendata:staff": "import",
    "surveillance:notification-csv": "import",
}
# Staff lists that search when asked with a query string (beyond the page number).
_SEARCH_VIEWS = frozenset(
    {"console-applications:queue", "surveillance:cases", "audit:log", "consultation:inbox"}
)


@functools.lru_cache(maxsize=4096)
def _view_name(path: str, urlconf: str | None) -> str:
    try:
        return resolve(path, urlconf).view_name
    except Resolver404:
        return ""


def request_kind(request: HttpRequest) -> str | None:
    """The kind of expensive request this is, or None for one that is never limited."""
    method = request.method or "GET"
    if method in _SAFE_METHODS and not request.META.get("QUERY_STRING"):
        return None
    # Paths repeat (the same API endpoint, the same wizard step): resolved once each.
    view_name = _view_name(request.path_info, get_urlconf() or settings.ROOT_URLCONF)
    if method in _SAFE_METHODS:
        if view_name in _SEARCH_VIEWS and any(key != "page" for key in request.GET):
            return "search"
        return None
    kind = _WRITE_KINDS.get(view_name)
    # A wizard step that carries files is an upload.
    if view_name == "procedures:step" and (request.content_type or "").startswith("multipart/"):
        return "upload"
    return kind


class Gate:
    """``slots`` holders at once; others wait in order, at most ``budget`` seconds.

    A newcomer that would wait behind more requests than the budget lets through (by the
    smoothed time a slot is held) is turned away at once instead of waiting in vain.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.busy = 0
        self.waiting = 0
        self.hold_seconds = 0.0  # moving average of how long a slot is held
        self._condition = threading.Condition(threading.Lock())

    def enter(self, budget: float) -> bool:
        with self._condition:
            if self.busy < self.slots and self.waiting == 0:
                self.busy += 1
                return True
            if budget <= 0:
                return False
            # This request is served after the `waiting + 1` next releases, which come about
            # every hold / slots seconds while all slots are busy.
            expected = (self.waiting + 1) * self.hold_seconds / self.slots
            if expected > budget:
                return False
            deadline = time.monotonic() + budget
            self.waiting += 1
            try:
                while self.busy >= self.slots:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._condition.wait(remaining)
                self.busy += 1
                return True
            finally:
                self.waiting -= 1
                if self.busy < self.slots and self.waiting:
                    # A slot is free (this waiter gave up after being woken): pass it on.
                    self._condition.notify()

    def leave(self, held_seconds: float) -> None:
        with self._condition:
            self.busy -= 1
            self.hold_seconds = (
                held_seconds
                if not self.hold_seconds
                else 0.8 * self.hold_seconds + 0.2 * held_seconds
            )
            self._condition.notify()


_gates: dict[tuple[str, int], Gate] = {}
_gates_lock = threading.Lock()


def gate_for(kind: str) -> Gate | None:
    """This process's gate for ``kind``; None when that kind has no limit (0 slots)."""
    slots = int(settings.ADMISSION_SLOTS.get(kind, 0))
    if slots <= 0:
        return None
    key = (kind, slots)
    gate = _gates.get(key)
    if gate is None:
        with _gates_lock:
            gate = _gates.setdefault(key, Gate(slots))
    return gate


def gates_clear() -> None:
    """Forget this process's gates (tests; a gate in use keeps working for its holders)."""
    with _gates_lock:
        _gates.clear()


def _resend_fields(request: HttpRequest) -> list[tuple[str, str]] | None:
    """The fields of a shed form, to send again from the busy page; None if they can't be.

    Only url-encoded forms: a multipart body may hold large files, and parsing it just to turn
    the request away would cost the time shedding saves (the page then asks to go back).
    """
    if request.method != "POST" or request.content_type != "application/x-www-form-urlencoded":
        return None
    try:
        return [(key, value) for key, values in request.POST.lists() for value in values]
    except Exception:  # an unreadable body: nothing to offer but going back
        return None


def busy_response(request: HttpRequest, kind: str) -> HttpResponse:
    """503 + Retry-After: the API's JSON error ``busy`` under /api/, else the Japanese page."""
    retry_after = max(1, settings.ADMISSION_RETRY_AFTER)
    if request.path_info.startswith("/api/"):
        response = HttpResponse(
            _busy_json(retry_after),
            status=HTTPStatus.SERVICE_UNAVAILABLE,
            content_type="application/json",
        )
        response["Content-Language"] = "ja"
    else:
        language = translation.get_language_from_request(request)
        fields = _resend_fields(request)
        with translation.override(language):
            body = render_to_string(
                "503_busy.html",
                {
                    "request": request,
                    "kind": kind,
                    "is_form": request.method == "POST",
                    "resend_fields": fields,
                    "resend_action": request.get_full_path(),
                    "retry_after": retry_after,
                },
            )
        response = HttpResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE)
        response["Content-Language"] = language
    response["Retry-After"] = str(retry_after)
    # The page may hold what the resident typed: never kept by a cache.
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(len(response.content))
    # Not one "Service Unavailable" error line per shed request: _note_shed sums them up.
    setattr(response, "_has_been_logged", True)  # noqa: B010 - Django's own flag
    _note_shed(kind)
    return response


@functools.lru_cache(maxsize=8)
def _busy_json(retry_after: int) -> bytes:
    """The API's ``busy`` error body, made once: shedding must cost as little as possible."""
    from madoguchi.api.errors import busy, error_response

    with translation.override("ja"):
        return error_response(busy(retry_after)).content


_shed_counts: dict[str, int] = {}
_shed_logged = [time.monotonic()]
_SHED_LOG_SECONDS = 10.0


def _note_shed(kind: str) -> None:
    """Count shed requests; log the counts at most every 10 s per process."""
    now = time.monotonic()
    with _gates_lock:
        _shed_counts[kind] = _shed_counts.get(kind, 0) + 1
        if now - _shed_logged[0] < _SHED_LOG_SECONDS:
            return
        counts = ", ".join(f"{k} {n}" for k, n in sorted(_shed_counts.items()))
        _shed_counts.clear()
        _shed_logged[0] = now
    logger.warning("admission control turned requests away (busy, 503): %s", counts)


class AdmissionMiddleware:
    """Hold a slot of the request's kind while it runs, or answer 503 fast."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        kind = request_kind(request)
        gate = gate_for(kind) if kind is not None else None
        if gate is None or kind is None:
            return self.get_response(request)
        if not gate.enter(settings.ADMISSION_QUEUE_MS / 1000):
            return busy_response(request, kind)
        started = time.monotonic()
        try:
            return self.get_response(request)
        finally:
            gate.leave(time.monotonic() - started)
