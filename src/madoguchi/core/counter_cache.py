"""A Django cache backend in a small SQLite file of its own, for the embedded default.

Rate-limit counters must be shared by the worker processes of one machine (a per-process
LocMemCache would multiply every limit by the number of workers) without a server and without
taking the main database's write lock. This backend keeps them in a separate SQLite file in WAL
mode: every operation is one autocommitted statement, ``incr`` is a single
``UPDATE ... RETURNING`` and so atomic across processes, and ``synchronous=NORMAL`` spares the
fsync per write (a power cut may lose the last counts, which is acceptable for counters).
Writers queue at the file's :class:`~madoguchi.core.writegate.WriteGate`, so a worker waiting
for another's write starts when it ends rather than after SQLite's busy handler has slept.

Django's FileBasedCache is not used because its ``incr`` is a read followed by a write: two
processes counting at once lose hits.

Configure it as ``{"BACKEND": "madoguchi.core.counter_cache.SQLiteCache", "LOCATION": path}``.
"""

from __future__ import annotations

import os
import pickle
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.redis import RedisCache

from madoguchi.core.writegate import WriteGate, gate_for

__all__ = ["RedisCounterCache", "SQLiteCache"]

# How long opening the file may wait for other processes doing the same (seconds).
_OPEN_TIMEOUT = 20

# The share of writes that also delete the expired rows.
_SWEEP_PROBABILITY = 0.001

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cache ("
    " key TEXT PRIMARY KEY,"
    " value BLOB NOT NULL,"
    " expires REAL"  # seconds since the epoch; NULL: never
    ") WITHOUT ROWID"
)


def _encode(value: Any) -> int | bytes:
    # Integers are stored as SQLite integers so that incr can add to them in place.
    if type(value) is int and -(2**63) <= value < 2**63:
        return value
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _decode(stored: int | bytes) -> Any:
    return stored if isinstance(stored, int) else pickle.loads(stored)  # noqa: S301 - our own rows


class SQLiteCache(BaseCache):
    """Cache entries in one SQLite file shared by every process of the machine."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._path = Path(location)
        self._local = threading.local()
        self._gate: WriteGate = gate_for(str(self._path), _OPEN_TIMEOUT)

    # --- connection ----------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: connections are not shared)."""
        local = self._local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is not None and local.pid == os.getpid():
            return connection
        self._path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._open()
        local.connection = connection
        local.pid = os.getpid()
        return connection

    def _open(self) -> sqlite3.Connection:
        """A connection to the file in WAL mode, with the table made.

        Worker processes that start together open a new file at once. Switching it to WAL takes
        an exclusive lock, and SQLite answers "database is locked" at once, without waiting, to
        the connections whose lock upgrade would deadlock; so the set-up is tried again rather
        than failing the first requests.
        """
        deadline = time.monotonic() + _OPEN_TIMEOUT
        while True:
            connection = sqlite3.connect(
                self._path, timeout=_OPEN_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            try:
                connection.execute("PRAGMA busy_timeout=20000")
                if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(_SCHEMA)
            except sqlite3.OperationalError as error:
                connection.close()
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))  # noqa: S311 - a back-off, not a secret
                continue
            return connection

    def validate_key(self, key: str) -> None:
        """Any text is a valid key here: SQLite has none of memcached's key rules, whose check
        costs a scan of every key on every call."""

    def close(self, **kwargs: Any) -> None:
        """Connections are kept for the thread's life (Django calls this after each request)."""

    def _expires(self, timeout: float | None) -> float | None:
        expires: float | None = self.get_backend_timeout(timeout)
        return expires

    def _write(self, sql: str, parameters: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        """Run one writing statement to its end at the write gate: its rows and rowcount.

        Read to the end (fetchall) because until then the statement is not finished and its
        connection keeps the file's write lock, blocking every other process.
        """
        db = self._db()
        with self._gate.held():
            cursor = db.execute(sql, parameters)
            rows = cursor.fetchall()
            if random.random() < _SWEEP_PROBABILITY:  # noqa: S311 - not security relevant
                # Expired rows are deleted now and then by a write instead of by a job.
                db.execute(
                    "DELETE FROM cache WHERE expires IS NOT NULL AND expires <= ?", (time.time(),)
                )
        return rows, cursor.rowcount

    # --- the cache API ---------------------------------------------------------------------------

    def add(
        self,
        key: str,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        key = self.make_and_validate_key(key, version=version)
        expires = self._expires(timeout)
        if expires is not None and expires <= time.time():
            return False
        _, count = self._write(
            "INSERT INTO cache (key, value, expires) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
            " WHERE cache.expires IS NOT NULL AND cache.expires <= ?",
            (key, _encode(value), expires, time.time()),
        )
        return count > 0

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        rows = (
            self._db()
            .execute(
                "SELECT value FROM cache WHERE key = ? AND (expires IS NULL OR expires > ?)",
                (key, time.time()),
            )
            .fetchall()
        )
        return _decode(rows[0][0]) if rows else default

    def set(
        self,
        key: str,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        key = self.make_and_validate_key(key, version=version)
        expires = self._expires(timeout)
        if expires is not None and expires <= time.time():
            self._write("DELETE FROM cache WHERE key = ?", (key,))
            return
        self._write(
            "INSERT INTO cache (key, value, expires) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
            (key, _encode(value), expires),
        )

    def touch(
        self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        key = self.make_and_validate_key(key, version=version)
        _, count = self._write(
            "UPDATE cache SET expires = ? WHERE key = ? AND (expires IS NULL OR expires > ?)",
            (self._expires(timeout), key, time.time()),
        )
        return count > 0

    def delete(self, key: str, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        _, count = self._write("DELETE FROM cache WHERE key = ?", (key,))
        return count > 0

    def has_key(self, key: str, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        rows = (
            self._db()
            .execute(
                "SELECT 1 FROM cache WHERE key = ? AND (expires IS NULL OR expires > ?)",
                (key, time.time()),
            )
            .fetchall()
        )
        return bool(rows)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        """Add ``delta`` in one statement, so that concurrent processes never lose a hit."""
        full = self.make_and_validate_key(key, version=version)
        rows, _ = self._write(
            "UPDATE cache SET value = value + ? WHERE key = ? AND typeof(value) = 'integer'"
            " AND (expires IS NULL OR expires > ?) RETURNING value",
            (delta, full, time.time()),
        )
        if rows:
            value: int = rows[0][0]
            return value
        if self.has_key(key, version=version):  # a value that is not an integer
            return super().incr(key, delta, version=version)
        raise ValueError(f"Key '{key}' not found")

    def incr_or_add(self, key: str, *, timeout: float | None, version: int | None = None) -> int:
        """Count one: ``add(key, 0, timeout)`` then ``incr(key)`` in one atomic statement.

        A missing or expired entry starts at 1 with ``timeout``; a live integer keeps its
        expiry. Returns the new count. A live entry that is not an integer raises ValueError,
        as ``incr`` does.
        """
        full = self.make_and_validate_key(key, version=version)
        now = time.time()
        rows, _ = self._write(
            "INSERT INTO cache (key, value, expires) VALUES (?, 1, ?)"
            " ON CONFLICT (key) DO UPDATE SET"
            "  value = CASE WHEN cache.expires IS NOT NULL AND cache.expires <= ?"
            "   THEN 1 ELSE cache.value + 1 END,"
            "  expires = CASE WHEN cache.expires IS NOT NULL AND cache.expires <= ?"
            "   THEN excluded.expires ELSE cache.expires END"
            " WHERE typeof(cache.value) = 'integer'"
            "  OR (cache.expires IS NOT NULL AND cache.expires <= ?)"
            " RETURNING value",
            (full, self._expires(timeout), now, now, now),
        )
        if not rows:
            raise ValueError(f"Key '{key}' holds a value that is not an integer")
        value: int = rows[0][0]
        return value

    def clear(self) -> None:
        self._write("DELETE FROM cache")


class RedisCounterCache(RedisCache):
    """Django's Redis cache plus ``incr_or_add`` in one round trip, for the counters.

    Django's ``incr`` asks whether the key exists before it increments (two round trips), and
    a window's first hit also needs an ``add``: a rate limit cost two to four round trips per
    hit. Here ``SET key 0 NX EX timeout`` and ``INCR key`` go in one ``MULTI``/``EXEC``
    pipeline: atomic, one round trip, the same values Django's own ``add`` and ``incr`` store.

    Configure it as ``{"BACKEND": "madoguchi.core.counter_cache.RedisCounterCache",
    "LOCATION": url}`` (the settings do when ``MADOGUCHI_CACHE_URL`` is set).
    """

    def incr_or_add(self, key: str, *, timeout: float | None, version: int | None = None) -> int:
        """Count one, as :meth:`SQLiteCache.incr_or_add`: a missing or expired entry starts at
        1 and lives ``timeout`` seconds; a live integer keeps its expiry. Returns the new count;
        a live entry that is not an integer raises ValueError."""
        from redis.exceptions import ResponseError

        full = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        # Django's client of this cache (its connection pool), not in django-stubs.
        client = self._cache.get_client(full, write=True)  # type: ignore[attr-defined]
        pipeline = client.pipeline(transaction=True)
        if seconds is None:
            pipeline.set(full, 0, nx=True)
        else:
            pipeline.set(full, 0, nx=True, ex=max(1, int(seconds)))
        pipeline.incr(full)
        try:
            _created, value = pipeline.execute()
        except ResponseError as error:  # INCR of a value that is not an integer
            raise ValueError(f"Key '{key}' holds a value that is not an integer") from error
        return int(value)
