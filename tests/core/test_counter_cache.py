"""The counters cache: the embedded SQLite backend and Redis, counted from several processes.

A limit must count across the worker processes of one machine (the embedded default) and
across app servers (Redis): two processes hitting one key at once get every count from 1 to
the total exactly once.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import caches

from madoguchi.core.counter_cache import RedisCounterCache, SQLiteCache
from madoguchi.core.models import RateLimitCounter
from madoguchi.core.ratelimit import ratelimit_hit, ratelimit_peek

REPO = Path(__file__).resolve().parents[2]

# One process's hits; prints the counts it was given, one per line.
_WORKER = """
import os, sys, time
import django
django.setup()
from madoguchi.core.ratelimit import ratelimit_hit
start = float(sys.argv[1])
while time.time() < start:
    time.sleep(0.005)
for _ in range(int(sys.argv[2])):
    print(ratelimit_hit("shared:key", limit=150, window_seconds=3600).count)
"""


def _run_two_processes(env: dict[str, str], hits: int) -> list[list[int]]:
    """Two processes hitting one key at the same moment; the counts each of them saw."""
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "MADOGUCHI_ENV": "development",
        **env,
    }
    full_env.pop("PYTEST_VERSION", None)
    full_env.pop("PYTEST_XDIST_WORKER", None)
    start = time.time() + 8  # both have started Django by then on a busy machine
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(start), str(hits)],
            env=full_env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append([int(line) for line in out.split()])
    return results


def _assert_counted_together(results: list[list[int]], hits: int) -> None:
    assert [len(r) for r in results] == [hits, hits]
    # Every count was handed out once: no hit lost, none counted twice, across both processes.
    assert sorted(results[0] + results[1]) == list(range(1, 2 * hits + 1))
    # Each process saw counts the other one made (they ran interleaved, not one after another).
    assert max(results[0]) > hits or max(results[1]) > hits


# --- the embedded default -------------------------------------------------------------------


def test_the_default_counts_one_limit_across_two_processes(tmp_path: Path) -> None:
    """Two worker processes of one machine share the count of a key, atomically."""
    results = _run_two_processes({"MADOGUCHI_DATA_DIR": str(tmp_path)}, hits=150)

    _assert_counted_together(results, 150)
    # Past the limit of 150 both processes refused: the 151st hit of either was over it.
    over = [c for c in results[0] + results[1] if c > 150]
    assert len(over) == 150
    assert (tmp_path / "counters.sqlite3").exists()
    assert not (tmp_path / "madoguchi.sqlite3").exists()  # the database was never opened


@pytest.mark.django_db
def test_the_default_backend_is_a_sqlite_file_apart_from_the_database() -> None:
    """Without MADOGUCHI_CACHE_URL the counters live in their own SQLite file in WAL mode."""
    cache = caches["counters"]
    assert isinstance(cache, SQLiteCache)
    ratelimit_hit("k", limit=3, window_seconds=60)
    mode = cache._db().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert not RateLimitCounter.objects.exists()


@pytest.fixture
def sqlite_cache(tmp_path: Path) -> SQLiteCache:
    return SQLiteCache(str(tmp_path / "c.sqlite3"), {})


def test_sqlite_cache_incr_needs_an_existing_key(sqlite_cache: SQLiteCache) -> None:
    """Like every Django cache, incr of a missing key is a ValueError; after add it counts."""
    with pytest.raises(ValueError, match="not found"):
        sqlite_cache.incr("n")
    assert sqlite_cache.add("n", 0, timeout=60) is True
    assert sqlite_cache.add("n", 5, timeout=60) is False  # add never overwrites a live entry
    assert [sqlite_cache.incr("n") for _ in range(3)] == [1, 2, 3]
    assert sqlite_cache.incr("n", 10) == 13
    assert sqlite_cache.get("n") == 13


def test_incr_or_add_counts_from_one_and_keeps_the_expiry(sqlite_cache: SQLiteCache) -> None:
    """One statement does what add(key, 0) then incr(key) do: a missing or expired entry starts
    at 1 with the timeout; a live one counts on and keeps its expiry; a non-integer refuses."""
    assert [sqlite_cache.incr_or_add("n", timeout=60) for _ in range(3)] == [1, 2, 3]
    expires = sqlite_cache._db().execute("SELECT expires FROM cache").fetchone()[0]
    assert sqlite_cache.incr_or_add("n", timeout=3600) == 4
    assert sqlite_cache._db().execute("SELECT expires FROM cache").fetchone()[0] == expires
    assert sqlite_cache.get("n") == 4

    sqlite_cache.set("old", 41, timeout=0.2)
    time.sleep(0.3)
    assert sqlite_cache.incr_or_add("old", timeout=60) == 1
    assert sqlite_cache.get("old") == 1

    sqlite_cache.set("text", "not a number", timeout=60)
    with pytest.raises(ValueError, match="not an integer"):
        sqlite_cache.incr_or_add("text", timeout=60)
    assert sqlite_cache.get("text") == "not a number"


def test_a_long_key_with_spaces_is_kept_without_a_warning(
    sqlite_cache: SQLiteCache, recwarn: pytest.WarningsRecorder
) -> None:
    """No memcached key rules here: any text is a key, checked by nobody on every call."""
    key = "status failures " + "x" * 300
    sqlite_cache.set(key, 1, timeout=60)
    assert sqlite_cache.get(key) == 1
    assert not [w for w in recwarn if "memcached" in str(w.message)]


def test_an_increment_leaves_no_lock_behind(tmp_path: Path) -> None:
    """After one connection counts, another (another process's) counts at once: the first
    holds no write lock between its requests."""
    first = SQLiteCache(str(tmp_path / "c.sqlite3"), {})
    second = SQLiteCache(str(tmp_path / "c.sqlite3"), {})
    first.add("n", 0, timeout=60)
    assert first.incr("n") == 1
    started = time.monotonic()
    assert second.incr("n") == 2
    assert second.add("m", 0, timeout=60) is True
    assert time.monotonic() - started < 5  # a held lock would make it wait 20 s
    assert first.incr("n") == 3


# Processes that start together and count on a file none of them has opened yet.
_OPENERS = """
import multiprocessing, sys, tempfile, time
from madoguchi.core.counter_cache import RedisCounterCache, SQLiteCache

def count(path, start, results):
    cache = SQLiteCache(path, {})
    while time.time() < start:
        pass
    try:
        results.put(cache.incr_or_add("k", timeout=60))
    except Exception as error:
        results.put(repr(error))

if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    for _ in range(int(sys.argv[1])):
        path = tempfile.mkdtemp(dir=sys.argv[2]) + "/counters.sqlite3"
        results = context.Queue()
        start = time.time() + 0.3
        processes = [
            context.Process(target=count, args=(path, start, results)) for _ in range(6)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        print(sorted(str(results.get()) for _ in processes))
"""


def test_workers_starting_together_all_open_a_new_file(tmp_path: Path) -> None:
    """Six workers that start at once and count on a counters file none of them has made yet
    all get a count: none is told "database is locked" while another switches the new file to
    WAL (that made a worker fall back to counting in memory, with a traceback in the log)."""
    rounds = 25
    done = subprocess.run(
        [sys.executable, "-c", _OPENERS, str(rounds), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == rounds
    assert set(lines) == {str([str(n) for n in range(1, 7)])}


def test_sqlite_cache_entries_expire(sqlite_cache: SQLiteCache) -> None:
    """An expired entry is gone for get, incr and has_key, and add may take its place."""
    sqlite_cache.set("n", 7, timeout=0.2)
    assert sqlite_cache.get("n") == 7
    time.sleep(0.3)
    assert sqlite_cache.get("n", "none") == "none"
    assert sqlite_cache.has_key("n") is False
    with pytest.raises(ValueError, match="not found"):
        sqlite_cache.incr("n")
    assert sqlite_cache.add("n", 1, timeout=60) is True
    assert sqlite_cache.get("n") == 1


def test_sqlite_cache_keeps_any_picklable_value(sqlite_cache: SQLiteCache) -> None:
    """Values other than integers round-trip; set, delete and clear do what they say."""
    value = {"名前": ["窓口", 1.5, None], "n": 2**70}
    sqlite_cache.set("v", value, timeout=None)
    sqlite_cache.set("w", b"\x00bytes", timeout=60)
    assert sqlite_cache.get("v") == value
    assert sqlite_cache.get_many(["v", "w", "x"]) == {"v": value, "w": b"\x00bytes"}
    assert sqlite_cache.delete("v") is True
    assert sqlite_cache.delete("v") is False
    sqlite_cache.clear()
    assert sqlite_cache.get("w") is None


# --- Redis ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free loopback port, stopped after the module."""
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        if os.environ.get("MADOGUCHI_REQUIRE_SERVERS"):
            pytest.fail("redis-server is required (MADOGUCHI_REQUIRE_SERVERS is set)")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


DJANGO_REDIS = "django.core.cache.backends.redis.RedisCache"
COUNTERS_REDIS = "madoguchi.core.counter_cache.RedisCounterCache"


def _redis_caches(url: str, counters: str = COUNTERS_REDIS) -> dict[str, dict[str, str]]:
    return {
        "default": {"BACKEND": DJANGO_REDIS, "LOCATION": url, "KEY_PREFIX": "madoguchi"},
        "counters": {"BACKEND": counters, "LOCATION": url, "KEY_PREFIX": "madoguchi-counters"},
    }


def test_redis_counts_one_limit_across_two_processes(redis_url: str, tmp_path: Path) -> None:
    """With MADOGUCHI_CACHE_URL two processes (as two app servers would) share the count."""
    results = _run_two_processes(
        {"MADOGUCHI_CACHE_URL": redis_url, "MADOGUCHI_DATA_DIR": str(tmp_path)}, hits=150
    )

    _assert_counted_together(results, 150)
    assert not (tmp_path / "counters.sqlite3").exists()  # nothing counted in the embedded file


def test_the_setting_moves_the_counters_to_redis(redis_url: str) -> None:
    """The settings module builds Redis caches from MADOGUCHI_CACHE_URL."""
    code = (
        "import django; django.setup(); from django.core.cache import caches;"
        "print(type(caches['counters']).__name__, type(caches['default']).__name__)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "MADOGUCHI_CACHE_URL": redis_url,
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["RedisCounterCache", "RedisCache"]


@pytest.mark.django_db
@pytest.mark.parametrize("backend", [COUNTERS_REDIS, DJANGO_REDIS])
def test_redis_windows_and_limits_behave_like_the_default(
    redis_url: str, settings: object, backend: str
) -> None:
    """Within this process on Redis: the limit refuses the hit past it, a new window is fresh.
    The same with Django's own RedisCache (counted with its incr and add)."""
    setattr(settings, "CACHES", _redis_caches(redis_url, backend))  # noqa: B010
    caches["counters"].clear()
    t0 = 1_795_651_200.0
    counts = [ratelimit_hit("r", limit=2, window_seconds=60, now=t0 + i) for i in range(3)]
    assert [(r.count, r.allowed) for r in counts] == [(1, True), (2, True), (3, False)]
    assert ratelimit_hit("r", limit=2, window_seconds=60, now=t0 + 60).count == 1
    assert ratelimit_peek("r", limit=2, window_seconds=60, now=t0).count == 3
    assert not RateLimitCounter.objects.exists()


@pytest.mark.django_db
def test_an_unreachable_cache_server_counts_in_memory(settings: object) -> None:
    """When Redis is down the limit still holds (in this process) and nothing fails."""
    setattr(settings, "CACHES", _redis_caches(f"redis://127.0.0.1:{_free_port()}/0"))  # noqa: B010
    t0 = 1_795_651_200.0 + 7 * 86400
    counts = [ratelimit_hit("down", limit=2, window_seconds=60, now=t0 + i) for i in range(3)]
    assert [(r.count, r.allowed) for r in counts] == [(1, True), (2, True), (3, False)]
    assert ratelimit_peek("down", limit=2, window_seconds=60, now=t0).count == 3


def test_redis_incr_or_add_counts_from_one_and_keeps_the_expiry(redis_url: str) -> None:
    """One round trip that behaves as the SQLite backend's: a new entry starts at 1 and lives
    ``timeout`` seconds; later hits keep that expiry; a value that is no integer is refused."""
    cache = RedisCounterCache(redis_url, {"KEY_PREFIX": "incr-or-add-test"})
    cache.clear()
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    key = cache.make_and_validate_key("hits")

    assert [cache.incr_or_add("hits", timeout=100) for _ in range(3)] == [1, 2, 3]
    assert 95 <= client.ttl(key) <= 100
    client.expire(key, 40)
    assert cache.incr_or_add("hits", timeout=100) == 4
    assert client.ttl(key) <= 40  # the live entry kept its own expiry
    assert cache.get("hits") == 4  # read back through Django's own get

    assert cache.incr_or_add("forever", timeout=None) == 1
    assert client.ttl(cache.make_and_validate_key("forever")) == -1

    cache.set("text", "not a number")
    with pytest.raises(ValueError, match="not an integer"):
        cache.incr_or_add("text", timeout=100)
    assert cache.get("text") == "not a number"

    client.delete(key)  # expired: counting starts again at 1 with the new timeout
    assert cache.incr_or_add("hits", timeout=100) == 1


def test_a_redis_hit_is_one_round_trip(redis_url: str, settings: object) -> None:
    """The rate limit's hit sends one pipeline; Django's incr alone asks twice."""
    cache = RedisCounterCache(redis_url, {"KEY_PREFIX": "round-trip-test"})
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    sent: list[str] = []
    connection = client.connection_pool.get_connection()
    original = connection.send_packed_command

    def counting(command: object, check_health: bool = True) -> None:
        sent.append("send")
        original(command, check_health)

    connection.send_packed_command = counting
    client.connection_pool.release(connection)
    try:
        cache.incr_or_add("trip", timeout=100)
        one = len(sent)
        sent.clear()
        cache.incr("trip")
        django_incr = len(sent)
    finally:
        connection.send_packed_command = original
    assert (one, django_incr) == (1, 2)
