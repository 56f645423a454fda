"""Fixed-window rate limits kept in the database, so every app server sees the same counts.

While read-only mode is on the database cannot take the counts; they are kept in this
process's memory instead (per server process, so a little more lenient), which keeps the
status lookup answering and limited.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest

from madoguchi.core.models import RateLimitCounter
from madoguchi.core.readonly import read_only_active

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
    if read_only_active():
        count = _memory_hit(key, start)
        return RateLimitResult(count <= limit, count, limit, max(remaining, 1))
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


_memory: dict[tuple[str, int], int] = {}
_memory_lock = threading.Lock()
_MEMORY_MAX_KEYS = 100_000


def _memory_hit(key: str, start: int) -> int:
    with _memory_lock:
        if len(_memory) >= _MEMORY_MAX_KEYS:
            for old in [k for k in _memory if k[1] < start]:
                del _memory[old]
            if len(_memory) >= _MEMORY_MAX_KEYS:
                _memory.clear()
        count = _memory.get((key, start), 0) + 1
        _memory[(key, start)] = count
        return count


def ratelimit_peek(
    key: str, *, limit: int, window_seconds: int, now: float | None = None
) -> RateLimitResult:
    """The state of ``key`` without counting a hit."""
    now = time.time() if now is None else now
    start, remaining = _window(now, window_seconds)
    if read_only_active():
        with _memory_lock:
            count = _memory.get((key, start), 0)
        return RateLimitResult(count < limit, count, limit, max(remaining, 1))
    row = RateLimitCounter.objects.filter(key=key, window=start).values_list("count", flat=True)
    count = row[0] if row else 0
    return RateLimitResult(count < limit, count, limit, max(remaining, 1))


def ratelimit_reset(key: str) -> None:
    """Forget every window's count of ``key`` (a run of failures ended by a success)."""
    RateLimitCounter.objects.filter(key=key).delete()


def ratelimit_reset_prefix(prefix: str) -> int:
    """Forget the counts of every key starting with ``prefix``; returns how many were kept."""
    deleted, _by_model = RateLimitCounter.objects.filter(key__startswith=prefix).delete()
    return deleted


def ratelimit_over(prefix: str, *, limit: int, window_seconds: int) -> set[str]:
    """The keys starting with ``prefix`` whose count in the current window has reached ``limit``."""
    start, _remaining = _window(time.time(), window_seconds)
    return set(
        RateLimitCounter.objects.filter(
            key__startswith=prefix, window=start, count__gte=limit
        ).values_list("key", flat=True)
    )


def client_ip(request: HttpRequest) -> str:
    """The client address as the server saw it.

    Behind a proxy the operator must make the proxy set REMOTE_ADDR (e.g. granian's
    forwarded-allow-ips); X-Forwarded-For is not trusted here because clients can forge it.
    """
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def client_key(request: HttpRequest, scope: str) -> str:
    digest = hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    return f"{scope}:ip:{digest}"
