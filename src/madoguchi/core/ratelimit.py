"""Fixed-window rate limits kept in the database, so every app server sees the same counts."""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest

from madoguchi.core.models import RateLimitCounter

# Old windows are swept now and then instead of by a separate job.
_SWEEP_PROBABILITY = 0.01


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends


def _window(now: float, window_seconds: int) -> tuple[int, int]:
    start = int(now) - int(now) % window_seconds
    return start, start + window_seconds - int(now)


def ratelimit_hit(
    key: str, *, limit: int, window_seconds: int, now: float | None = None
) -> RateLimitResult:
    """Count one hit for ``key`` and say whether it is within ``limit`` per window."""
    now = time.time() if now is None else now
    start, remaining = _window(now, window_seconds)
    with transaction.atomic():
        updated = RateLimitCounter.objects.filter(key=key, window=start).update(
            count=F("count") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    RateLimitCounter.objects.create(key=key, window=start, count=1)
            except IntegrityError:
                RateLimitCounter.objects.filter(key=key, window=start).update(count=F("count") + 1)
        count = RateLimitCounter.objects.get(key=key, window=start).count
        if random.random() < _SWEEP_PROBABILITY:  # noqa: S311 - not security relevant
            RateLimitCounter.objects.filter(window__lt=start - 86400).delete()
    return RateLimitResult(count <= limit, count, limit, max(remaining, 1))


def ratelimit_peek(
    key: str, *, limit: int, window_seconds: int, now: float | None = None
) -> RateLimitResult:
    """The state of ``key`` without counting a hit."""
    now = time.time() if now is None else now
    start, remaining = _window(now, window_seconds)
    row = RateLimitCounter.objects.filter(key=key, window=start).values_list("count", flat=True)
    count = row[0] if row else 0
    return RateLimitResult(count < limit, count, limit, max(remaining, 1))


def ratelimit_reset(key: str) -> None:
    """Forget every window's count of ``key`` (a run of failures ended by a success)."""
    RateLimitCounter.objects.filter(key=key).delete()


def client_ip(request: HttpRequest) -> str:
    """The client address as the server saw it.

    Behind a proxy the operator must make the proxy set REMOTE_ADDR (e.g. granian's
    forwarded-allow-ips); X-Forwarded-For is not trusted here because clients can forge it.
    """
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def client_key(request: HttpRequest, scope: str) -> str:
    digest = hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    return f"{scope}:ip:{digest}"
