"""An unavailable database answers 503, not a 500 with a traceback in the log.

When the database is down, unreachable, read-only, locked for too long or its file is gone,
every page answers the Japanese ``503.html`` and every ``/api/`` endpoint the API's JSON error
shape, both with ``Retry-After``. Nothing needs restarting afterwards: Django drops a broken
connection at the end of the request (``CONN_HEALTH_CHECKS``) and opens a new one next time.

Only failures of the database's availability are answered so; integrity and programming
errors stay 500s, since they are bugs. The middleware handles what views raise; the 500
handler (``madoguchi.core.views.server_error``) catches what middleware raises. The API
app registers how its answer looks (``api_responder_register``), because ``core`` does not
import the API.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

from madoguchi.core.readonly import ReadOnlyError

__all__ = [
    "RETRY_AFTER_SECONDS",
    "DatabaseUnavailableMiddleware",
    "api_responder_register",
    "is_database_unavailable",
    "unavailable_response",
    "unavailable_response_for",
]

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"

# PostgreSQL SQLSTATEs that mean "cannot write here now", reported as InternalError.
_UNAVAILABLE_SQLSTATES = frozenset(
    {
        "25006",  # read_only_sql_transaction (a standby, default_transaction_read_only)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now
        "53100",  # disk_full
        "53300",  # too_many_connections
    }
)

_api_responder: Callable[[], HttpResponse] | None = None


def api_responder_register(responder: Callable[[], HttpResponse]) -> None:
    """How ``/api/`` answers an unavailable database (the API's error shape)."""
    global _api_responder
    _api_responder = responder


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot be used now (rather than a bug).

    A write refused by read-only mode is not: its own middleware and API handler answer it with
    the maintenance page or ``read_only``.
    """
    if isinstance(exc, ReadOnlyError):
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DatabaseError):
        return getattr(exc.__cause__, "sqlstate", None) in _UNAVAILABLE_SQLSTATES
    return False


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 for ``request``: the API's JSON shape under /api/, the Japanese page elsewhere.

    Logs one line naming ``exc``; the traceback adds nothing when the database is down.
    """
    logger.error(
        "database unavailable: %s %s: %s: %s",
        request.method,
        request.path,
        type(exc).__name__,
        (str(exc).strip().splitlines() or [""])[0],
    )
    if request.path.startswith(API_PREFIX) and _api_responder is not None:
        response = _api_responder()
    else:
        # Rendered without the request: context processors could touch the database again.
        body = loader.get_template("503.html").render(
            {"retry_after_minutes": max(1, RETRY_AFTER_SECONDS // 60)}
        )
        response = HttpResponse(body, status=503)
    response.status_code = 503
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def unavailable_response_for(request: HttpRequest) -> HttpResponse | None:
    """In a 500 handler: the 503 when the exception being handled is an unavailable database."""
    exc = sys.exc_info()[1]
    if exc is None or not is_database_unavailable(exc):
        return None
    return unavailable_response(request, exc)


class DatabaseUnavailableMiddleware:
    """Answers a view's database-unavailable exception with a 503 (place it last)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        return unavailable_response(request, exception)
