"""Tests for madoguchi.core.ratelimit (fixed windows counted in the counters cache; the listed
counts of failed staff sign-ins in the database)."""

from __future__ import annotations

import hashlib

import pytest
from django.test import RequestFactory

from madoguchi.core import ratelimit
from madoguchi.core.models import RateLimitCounter
from madoguchi.core.ratelimit import (
    RateLimitResult,
    client_ip,
    client_key,
    listed_hit,
    ratelimit_hit,
    ratelimit_peek,
)

pytestmark = pytest.mark.django_db

# 2026-11-26 00:00:00 UTC, a multiple of 60 and of 3600, so windows start here.
T0 = 1_795_651_200.0


@pytest.fixture(autouse=True)
def _no_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Old windows are swept at random; the tests decide when that happens."""
    monkeypatch.setattr(ratelimit, "_SWEEP_PROBABILITY", 0.0)


def counters() -> list[tuple[str, int, int]]:
    """The listed counts in the database."""
    return list(
        RateLimitCounter.objects.order_by("key", "window").values_list("key", "window", "count")
    )


def count(key: str, now: float, window_seconds: int = 60) -> int:
    """The count of ``key`` in the window holding ``now``, as the counters cache keeps it."""
    return ratelimit_peek(key, limit=1, window_seconds=window_seconds, now=now).count


def test_hits_within_the_limit_are_allowed_then_refused() -> None:
    """With limit 3 per minute, hits one to three pass and the fourth and fifth do not."""
    results = [
        ratelimit_hit("login:kobe-clerk", limit=3, window_seconds=60, now=T0 + 10 + i)
        for i in range(5)
    ]
    assert results == [
        RateLimitResult(allowed=True, count=1, limit=3, retry_after=50),
        RateLimitResult(allowed=True, count=2, limit=3, retry_after=49),
        RateLimitResult(allowed=True, count=3, limit=3, retry_after=48),
        RateLimitResult(allowed=False, count=4, limit=3, retry_after=47),
        RateLimitResult(allowed=False, count=5, limit=3, retry_after=46),
    ]
    assert count("login:kobe-clerk", T0) == 5
    assert counters() == []  # nothing is written to the database


@pytest.mark.parametrize(
    ("now", "retry_after"),
    [
        (T0, 60),  # first second of the window: the whole window remains
        (T0 + 0.999, 60),  # fractions of a second do not shorten the wait
        (T0 + 1, 59),
        (T0 + 30.5, 30),
        (T0 + 59, 1),
        (T0 + 59.9, 1),  # never 0
    ],
)
def test_retry_after_is_the_seconds_to_the_window_end(now: float, retry_after: int) -> None:
    """retry_after counts whole seconds from the current second to the end of the window."""
    result = ratelimit_hit("k", limit=0, window_seconds=60, now=now)
    assert result == RateLimitResult(allowed=False, count=1, limit=0, retry_after=retry_after)


def test_a_new_window_starts_from_zero() -> None:
    """The first hit of the next window is counted from one again."""
    for i in range(4):
        ratelimit_hit("k", limit=2, window_seconds=60, now=T0 + i)
    assert ratelimit_hit("k", limit=2, window_seconds=60, now=T0 + 59).allowed is False

    next_window = ratelimit_hit("k", limit=2, window_seconds=60, now=T0 + 60)

    assert next_window == RateLimitResult(allowed=True, count=1, limit=2, retry_after=60)
    assert (count("k", T0), count("k", T0 + 60)) == (5, 1)


def test_windows_are_aligned_to_multiples_of_their_length() -> None:
    """A window of an hour starts on the hour whatever the time of the first hit."""
    result = ratelimit_hit("k", limit=10, window_seconds=3600, now=T0 + 1800)
    assert result.retry_after == 1800
    assert count("k", T0, 3600) == 1


def test_keys_are_counted_independently() -> None:
    """Refusing one key leaves another key's count untouched."""
    for i in range(3):
        ratelimit_hit("login:ip:a", limit=2, window_seconds=60, now=T0 + i)
    assert ratelimit_hit("login:ip:a", limit=2, window_seconds=60, now=T0 + 3).allowed is False

    other = ratelimit_hit("login:ip:b", limit=2, window_seconds=60, now=T0 + 3)

    assert other == RateLimitResult(allowed=True, count=1, limit=2, retry_after=57)
    assert (count("login:ip:a", T0), count("login:ip:b", T0)) == (4, 1)


@pytest.mark.parametrize("hits", [1, 49, 50, 51, 200])
def test_counting_is_exact_across_many_hits(hits: int) -> None:
    """Every hit is counted once; exactly the first ``limit`` hits are allowed."""
    results = [
        ratelimit_hit("k", limit=50, window_seconds=3600, now=T0 + i % 3600) for i in range(hits)
    ]
    assert [r.count for r in results] == list(range(1, hits + 1))
    assert [r.allowed for r in results] == [i < 50 for i in range(hits)]
    assert count("k", T0, 3600) == hits


def test_peek_does_not_count() -> None:
    """Peeking reports the count without adding a hit, however often it is called."""
    for i in range(2):
        ratelimit_hit("k", limit=3, window_seconds=60, now=T0 + i)
    peeks = [ratelimit_peek("k", limit=3, window_seconds=60, now=T0 + 20) for _ in range(5)]
    assert peeks == [RateLimitResult(allowed=True, count=2, limit=3, retry_after=40)] * 5
    assert count("k", T0) == 2


def test_peek_says_whether_the_next_hit_would_pass() -> None:
    """Peek's allowed is False once the limit is used up, before any hit is refused."""
    for i in range(3):
        ratelimit_hit("k", limit=3, window_seconds=60, now=T0 + i)
    assert ratelimit_peek("k", limit=3, window_seconds=60, now=T0 + 5) == RateLimitResult(
        allowed=False, count=3, limit=3, retry_after=55
    )
    assert ratelimit_hit("k", limit=3, window_seconds=60, now=T0 + 6).allowed is False


def test_peek_of_an_unknown_key_or_new_window_is_zero() -> None:
    """Without hits in the current window the count is 0 and nothing is created."""
    ratelimit_hit("k", limit=3, window_seconds=60, now=T0)
    assert ratelimit_peek("other", limit=3, window_seconds=60, now=T0) == RateLimitResult(
        allowed=True, count=0, limit=3, retry_after=60
    )
    assert ratelimit_peek("k", limit=3, window_seconds=60, now=T0 + 61) == RateLimitResult(
        allowed=True, count=0, limit=3, retry_after=59
    )
    assert count("k", T0) == 1
    assert count("other", T0) == 0


def test_sweep_removes_windows_older_than_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep deletes listed windows that started more than a day before the current one."""
    RateLimitCounter.objects.create(key="old", window=int(T0) - 86400 - 60, count=9)
    RateLimitCounter.objects.create(key="day", window=int(T0) - 86400, count=9)
    monkeypatch.setattr(ratelimit, "_SWEEP_PROBABILITY", 1.0)

    listed_hit("k", limit=3, window_seconds=60, now=T0)

    assert counters() == [("day", int(T0) - 86400, 9), ("k", int(T0), 1)]


def test_without_sweep_old_windows_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    """When no sweep is drawn nothing but the hit changes."""
    RateLimitCounter.objects.create(key="old", window=int(T0) - 10 * 86400, count=9)
    listed_hit("k", limit=3, window_seconds=60, now=T0)
    assert counters() == [("k", int(T0), 1), ("old", int(T0) - 10 * 86400, 9)]


# --- client address ------------------------------------------------------------------------------


def test_client_ip_is_remote_addr_and_ignores_forwarded_for() -> None:
    """X-Forwarded-For can be forged by the client, so only REMOTE_ADDR counts."""
    request = RequestFactory().get(
        "/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1, 10.0.0.1"
    )
    assert client_ip(request) == "203.0.113.7"


def test_forged_forwarded_for_does_not_escape_the_limit() -> None:
    """Changing X-Forwarded-For on every request still counts against the same key."""
    keys = {
        client_key(
            RequestFactory().get(
                "/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}"
            ),
            "login",
        )
        for i in range(5)
    }
    assert len(keys) == 1


@pytest.mark.parametrize("remote_addr", ["", None])
def test_client_ip_without_remote_addr_is_unknown(remote_addr: str | None) -> None:
    """A request without an address is counted under 'unknown'."""
    request = RequestFactory().get("/")
    if remote_addr is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote_addr
    assert client_ip(request) == "unknown"


def test_client_key_hashes_the_address_per_scope() -> None:
    """The key holds a hash of the address, not the address, and is separated by scope."""
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::1")
    digest = hashlib.sha256(b"2001:db8::1").hexdigest()[:32]
    assert client_key(request, "login") == f"login:ip:{digest}"
    assert client_key(request, "apply") == f"apply:ip:{digest}"
    assert "2001:db8::1" not in client_key(request, "login")
