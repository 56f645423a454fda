"""Fixed-window rate limits and other short-lived counters.

Counts go through Django's cache framework (the ``counters`` cache, see ``settings.CACHES``):
by default a small SQLite file of their own, shared by every worker process of the machine and
never holding the database's write lock; with ``MADOGUCHI_CACHE_URL`` a Redis/Valkey shared by
every app server. A hit is one atomic ``incr`` of a key that names its window.

Counts that staff must list and clear (failed staff sign-ins, ``listed_*``) stay in the
database table ``RateLimitCounter``: a cache cannot list its keys. They are written only on a
failed sign-in, never per request.

When the counters cache cannot be reached, or (for the listed counts) while read-only mode is
on, the counts are kept in this process's memory instead (per server process, so a little more
lenient), which keeps the status lookup answering and limited.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest

from madoguchi.core.counter_cache import RedisCounterCache, SQLiteCache
from madoguchi.core.models import RateLimitCounter
from madoguchi.core.readonly import read_only_active

logger = logging.getLogger(__name__)

# Old windows of the listed counts are swept now and then instead of by a separate job.
_SWEEP_PROBABILITY = 0.01

COUNTERS_CACHE = "counters"


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends


def _window(now: float, window_seconds: int) -> tuple[int, int]:
    start = int(now) - int(now) % window_seconds
    return start, start + window_seconds - int(now)


def _cache_key(key: str, start: int) -> str:
    # Keys are hashed: client keys may be long, and memcached-style key rules forbid spaces.
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"rl:{digest}:{start}"


def ratelimit_hit(
    key: str, *, limit: int, window_seconds: int, now: float | None = None
) -> RateLimitResult:
    """Count one hit for ``key`` and say whether it is within ``limit`` per window."""
    now = time.time() if now is None else now
    start, remaining = _window(now, window_seconds)
    count = _cache_hit(key, start, remaining + window_seconds + 300)
    return RateLimitResult(count <= limit, count, limit, max(remaining, 1))


def _cache_hit(key: str, start: int, timeout: int) -> int:
    cache = caches[COUNTERS_CACHE]
    name = _cache_key(key, start)
    try:
        if isinstance(cache, SQLiteCache | RedisCounterCache):  # one step, not incr, add, incr
            return cache.incr_or_add(name, timeout=timeout)
        try:
            return int(cache.incr(name))
        except ValueError:  # the window's first hit
            # The entry outlives its window (the window is in its name), so a late incr never
            # finds it gone and counts from one again.
            cache.add(name, 0, timeout=timeout)
            return int(cache.incr(name))
    except Exception:  # the cache server is down: count in memory rather than fail the request
        logger.warning("rate-limit counters unreachable; counting in memory", exc_info=True)
        return _memory_hit(key, start)


def ratelimit_peek(
    key: str, *, limit: int, window_seconds: int, now: float | None = None
) -> RateLimitResult:
    """The state of ``key`` without counting a hit."""
    now = time.time() if now is None else now
    start, remaining = _window(now, window_seconds)
    try:
        count = int(caches[COUNTERS_CACHE].get(_cache_key(key, start), 0))
    except Exception:
        logger.warning("rate-limit counters unreachable; counting in memory", exc_info=True)
        count = _memory_peek(key, start)
    return RateLimitResult(count < limit, count, limit, max(remaining, 1))


def ratelimit_peek_many(
    keys: dict[str, tuple[int, int]], *, now: float | None = None
) -> dict[str, RateLimitResult]:
    """``ratelimit_peek`` of several keys (each with its limit and window) in one round trip."""
    now = time.time() if now is None else now
    windows = {key: _window(now, window) for key, (_limit, window) in keys.items()}
    names = {key: _cache_key(key, start) for key, (start, _remaining) in windows.items()}
    try:
        found = caches[COUNTERS_CACHE].get_many(list(names.values()))
        counts = {key: int(found.get(name, 0)) for key, name in names.items()}
    except Exception:
        logger.warning("rate-limit counters unreachable; counting in memory", exc_info=True)
        counts = {key: _memory_peek(key, windows[key][0]) for key in keys}
    return {
        key: RateLimitResult(counts[key] < limit, counts[key], limit, max(windows[key][1], 1))
        for key, (limit, _window_seconds) in keys.items()
    }


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


def _memory_peek(key: str, start: int) -> int:
    with _memory_lock:
        return _memory.get((key, start), 0)


# --- counts staff list and clear (failed staff sign-ins), kept in the database ----------------


def listed_hit(
    key: str, *, limit: int, window_seconds: int, now: float | None = None
) -> RateLimitResult:
    """Count one hit for ``key`` in the database table, so that staff can list and clear it."""
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


def listed_peek(
    key: str, *, limit: int, window_seconds: int, now: float | None = None
) -> RateLimitResult:
    """The state of a listed ``key`` without counting a hit."""
    now = time.time() if now is None else now
    start, remaining = _window(now, window_seconds)
    if read_only_active():
        count = _memory_peek(key, start)
        return RateLimitResult(count < limit, count, limit, max(remaining, 1))
    row = RateLimitCounter.objects.filter(key=key, window=start).values_list("count", flat=True)
    count = row[0] if row else 0
    return RateLimitResult(count < limit, count, limit, max(remaining, 1))


def listed_reset(key: str) -> None:
    """Forget every window's count of a listed ``key`` (a run of failures ended by a success)."""
    RateLimitCounter.objects.filter(key=key).delete()


def listed_reset_prefix(prefix: str) -> int:
    """Forget the counts of every listed key starting with ``prefix``; returns how many."""
    deleted, _by_model = RateLimitCounter.objects.filter(key__startswith=prefix).delete()
    return deleted


def listed_over(prefix: str, *, limit: int, window_seconds: int) -> set[str]:
    """The listed keys starting with ``prefix`` whose count in this window reached ``limit``."""
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
