"""Per-client rate limits for API operations, counted before the request body is read."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from madoguchi.api.errors import error_response, rate_limited
from madoguchi.core.ratelimit import client_key, ratelimit_hit

__all__ = ["limit_per_client"]

Run = Callable[..., HttpResponseBase]


def limit_per_client(
    scope: str, limit: Callable[[], int], *, window_seconds: int = 60
) -> Callable[[Run], Run]:
    """Allow ``limit()`` calls per client address and window; answer 429 with Retry-After after.

    Use it with ``ninja.decorators.decorate_view``: it wraps the operation before its
    parameters are parsed, so a refused client costs no body parsing or upload spooling.
    ``limit`` is called per request, so tests and settings can change it.
    """

    def decorator(run: Run) -> Run:
        @wraps(run)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            result = ratelimit_hit(
                client_key(request, scope), limit=limit(), window_seconds=window_seconds
            )
            if not result.allowed:
                return error_response(rate_limited(result.retry_after))
            return run(request, *args, **kwargs)

        return limited

    return decorator
