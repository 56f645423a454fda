"""Read-only mode: an operator's switch that keeps reads working and refuses every write.

Switched on by ``MADOGUCHI_READ_ONLY=1`` (for the life of the process) or by a flag file
(``madoguchi readonly on|off``, at ``MADOGUCHI_READ_ONLY_FILE``) that every process re-reads at
most every ``MADOGUCHI_READ_ONLY_CHECK_SECONDS``, so that all app servers sharing the file (a
shared data folder, or a file the deployment tool writes on each host) follow within seconds,
without a restart. A database row would not do: during a failover the database cannot be
written, which is exactly when the switch is needed.

Two layers refuse writes:

- ``ReadOnlyMiddleware`` answers every non-safe request at its start (a Japanese page, or the
  API's JSON error ``read_only``, 503 with ``Retry-After``), except the few POSTs that only
  read (the status lookup, the language switch);
- ``refuse_writes`` is installed on every database connection and raises ``ReadOnlyError`` for
  INSERT, UPDATE, DELETE and schema changes while the mode is on, so a write that slips through
  (a GET that records something, a task) fails inside its transaction, which rolls back:
  nothing is half-written.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

__all__ = [
    "ReadOnlyError",
    "ReadOnlyMiddleware",
    "ReadOnlyState",
    "install_write_guard",
    "read_only_active",
    "read_only_response",
    "read_only_state",
    "read_only_switch",
    "refuse_writes",
]

# POSTs that change nothing a resident or staff member would call a change: the status lookup
# (its rate-limit counters move to process memory while read-only, see core.ratelimit) and the
# language switch (a cookie).
READ_ONLY_ALLOWED_POSTS = frozenset(
    {"procedures:status", "api:status_get", "set_language"},
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_WRITE_SQL = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|UPSERT|MERGE|TRUNCATE|CREATE|DROP|ALTER)\b",
    re.IGNORECASE,
)


class ReadOnlyError(OperationalError):
    """A write refused because read-only mode is on.

    An OperationalError whose message says the database "is locked": code that already waits
    out a locked database (the task worker's claim loop) pauses instead of failing.
    """

    def __init__(self) -> None:
        super().__init__("madoguchi is in read-only mode: the database is locked for writes")


@dataclass(frozen=True, slots=True)
class ReadOnlyState:
    active: bool
    source: str  # "setting", "file" or "" when off
    since: str = ""  # ISO time from the flag file
    reason: str = ""  # the operator's note from the flag file


_OFF = ReadOnlyState(False, "")
_lock = threading.Lock()
_cached: dict[str, Any] = {"path": None, "checked": -1e9, "state": _OFF}


def _flag_path() -> Path:
    path = settings.READ_ONLY_FILE
    return path if isinstance(path, Path) else Path(path)


def _read_flag(path: Path) -> ReadOnlyState:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _OFF
    except OSError:
        # Present but unreadable: the safe reading of a switch meant to stop writes is "on".
        return ReadOnlyState(True, "file")
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return ReadOnlyState(True, "file", str(data.get("since", "")), str(data.get("reason", "")))


def read_only_state() -> ReadOnlyState:
    """Whether read-only mode is on; the flag file is re-read at most every N seconds."""
    if settings.READ_ONLY:
        return ReadOnlyState(True, "setting")
    path = _flag_path()
    now = time.monotonic()
    with _lock:
        fresh = now - _cached["checked"] < settings.READ_ONLY_CHECK_SECONDS
        if fresh and _cached["path"] == path:
            state: ReadOnlyState = _cached["state"]
            return state
    state = _read_flag(path)
    with _lock:
        _cached.update(path=path, checked=now, state=state)
    return state


def read_only_active() -> bool:
    return read_only_state().active and not settings.READ_ONLY_OVERRIDE


def read_only_switch(*, on: bool, reason: str = "") -> ReadOnlyState:
    """Write (atomically) or remove the flag file; this process sees the change at once."""
    path = _flag_path()
    if on:
        payload = {"since": timezone.now().isoformat(timespec="seconds"), "reason": reason}
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".read-only-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, ensure_ascii=False)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    else:
        path.unlink(missing_ok=True)
    with _lock:
        _cached.update(checked=-1e9)
    return read_only_state()


# --- the database layer ----------------------------------------------------------------------

Execute = Callable[[str, Any, bool, dict[str, Any]], Any]


def refuse_writes(
    execute: Execute, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """An execute wrapper: while read-only, statements that write raise ReadOnlyError."""
    if _WRITE_SQL.match(sql) and read_only_active():
        raise ReadOnlyError
    return execute(sql, params, many, context)


def install_write_guard(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: put ``refuse_writes`` on every new connection."""
    if refuse_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(refuse_writes)


# --- HTTP ------------------------------------------------------------------------------------


def read_only_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the API's JSON error shape under /api/, else the Japanese page."""
    retry_after = str(max(1, settings.READ_ONLY_RETRY_AFTER))
    if request.path_info.startswith("/api/"):
        from madoguchi.api.errors import error_response, read_only

        with translation.override("ja"):
            response: HttpResponse = error_response(read_only(settings.READ_ONLY_RETRY_AFTER))
    else:
        language = translation.get_language_from_request(request)
        with translation.override(language):
            body = render_to_string("503_read_only.html", {"request": request}, request=None)
        response = HttpResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE)
        response["Content-Language"] = language
    response["Retry-After"] = retry_after
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(len(response.content))
    setattr(response, "_has_been_logged", True)  # noqa: B010 - expected, not a server error
    return response


def _allowed_while_read_only(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in READ_ONLY_ALLOWED_POSTS


class ReadOnlyMiddleware:
    """Refuse writes at the start of the request while read-only mode is on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if (
            request.method not in _SAFE_METHODS
            and read_only_active()
            and not _allowed_while_read_only(request)
        ):
            return read_only_response(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A write reached the database layer (a page that records something as it is read).
        if isinstance(exception, ReadOnlyError):
            return read_only_response(request)
        return None


def describe(state: ReadOnlyState) -> str:
    """One line for ``madoguchi readonly status``."""
    if not state.active:
        return "read-only mode: off"
    if state.source == "setting":
        return "read-only mode: on (MADOGUCHI_READ_ONLY is set; unset it and restart to end it)"
    since = state.since
    try:
        when = datetime.datetime.fromisoformat(since)
        since = timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S %Z")
    except ValueError:
        pass
    text = f"read-only mode: on since {since or 'an unknown time'} (flag file {_flag_path()})"
    return f"{text}; reason: {state.reason}" if state.reason else text
