"""The write gate: writers of one SQLite file queue in the operating system, not in SQLite's
busy handler, and a writer never waits for the gate longer than its timeout."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, transaction

from madoguchi.core.counter_cache import SQLiteCache
from madoguchi.core.models import RateLimitCounter
from madoguchi.core.writegate import WriteGate, gate_for, gate_path

SRC = str(Path(__file__).resolve().parents[2] / "src")

# Takes the gate of argv[1], says so, holds it argv[2] seconds, then prints the time just before
# giving it back.
_HOLDER = """
import sys, time
from madoguchi.core.writegate import WriteGate
gate = WriteGate(sys.argv[1], timeout=10)
assert gate.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
print(time.time(), flush=True)
gate.release()
"""


@contextmanager
def _held_elsewhere(path: str, seconds: float) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, path, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def _taken_by_someone(path: str) -> bool:
    """Whether another open file (this process's included) holds the gate file's lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_second_process_starts_once_the_first_gives_the_gate_back(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3-writers")
    gate = WriteGate(path, timeout=10)
    with _held_elsewhere(path, 0.5) as holder:
        assert gate.acquire()
        acquired_at = time.time()
        assert holder.stdout is not None
        released_at = float(holder.stdout.readline())
    gate.release()
    assert acquired_at >= released_at


def test_a_writer_goes_on_without_the_gate_after_its_timeout(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3-writers")
    gate = WriteGate(path, timeout=0.3)
    with _held_elsewhere(path, 30):
        started = time.monotonic()
        assert gate.acquire() is False
        waited = time.monotonic() - started
    assert 0.3 <= waited < 5
    # Nothing was left taken in this process: with the holder gone the gate is free at once.
    assert gate.acquire()
    gate.release()
    assert not _taken_by_someone(path)


def test_threads_of_a_process_share_one_gate_per_file(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    gate = gate_for(str(database), timeout=10)
    assert gate_for(str(tmp_path / "." / "db.sqlite3"), timeout=10) is gate
    assert gate_for(str(tmp_path / "other.sqlite3"), timeout=10) is not gate
    assert gate.path == gate_path(str(database))

    order: list[str] = []
    second_waiting = threading.Event()

    def second() -> None:
        second_waiting.set()
        with gate.held() as taken:
            order.append(f"second {taken}")

    assert gate.acquire()
    thread = threading.Thread(target=second)
    thread.start()
    second_waiting.wait(5)
    time.sleep(0.2)
    order.append("first done")
    gate.release()
    thread.join(10)
    assert order == ["first done", "second True"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_does_not_share_its_parents_hold(tmp_path: Path) -> None:
    gate = WriteGate(str(tmp_path / "db.sqlite3-writers"), timeout=10)
    assert gate.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # the child: the parent holds the gate, so it must not be taken here
            gate.timeout = 0.2
            os._exit(0 if gate.acquire() is False else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        gate.release()
    assert os.waitstatus_to_exitcode(status) == 0


# Takes the gate of the database argv[1], forks a child that lives on, and waits to be killed.
# The child prints its pid: fork has returned in the child, so its after-fork hooks have run
# (the parent's own return from fork says nothing about when the child gets there).
_FORKING_HOLDER = """
import os, sys, time
from madoguchi.core.writegate import gate_for
gate = gate_for(sys.argv[1], timeout=10)
assert gate.acquire()
if os.fork() == 0:
    print(os.getpid(), flush=True)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_holder_killed_after_forking_leaves_the_gate_free(tmp_path: Path) -> None:
    database = str(tmp_path / "db.sqlite3")
    holder = subprocess.Popen(
        [sys.executable, "-c", _FORKING_HOLDER, database],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert holder.stdout is not None
    child = int(holder.stdout.readline())
    try:
        assert _taken_by_someone(gate_path(os.path.realpath(database)))
        holder.kill()
        holder.wait()
        # The child lives on; it kept no copy of the parent's descriptor, so the lock went with
        # the parent (a worker killed mid-write must not leave every other worker waiting).
        os.kill(child, 0)
        assert not _taken_by_someone(gate_path(os.path.realpath(database)))
    finally:
        holder.kill()
        holder.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the gate is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_a_write_transaction_holds_the_database_gate_until_commit_or_rollback() -> None:
    path = gate_path(os.path.realpath(connection.settings_dict["NAME"]))
    assert not _taken_by_someone(path)
    with transaction.atomic():
        RateLimitCounter.objects.create(key="gate-commit", window=0, count=1)
        assert _taken_by_someone(path)
    assert not _taken_by_someone(path)

    taken_inside: list[bool] = []

    def fails_inside_a_transaction() -> None:
        with transaction.atomic():
            RateLimitCounter.objects.create(key="gate-rollback", window=0, count=1)
            taken_inside.append(_taken_by_someone(path))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fails_inside_a_transaction()
    assert taken_inside == [True]
    assert not _taken_by_someone(path)
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["gate-commit"]

    # A connection closed inside a transaction gives the gate back too.
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    assert _taken_by_someone(path)
    connection.close()
    assert not _taken_by_someone(path)


def test_a_counter_write_waits_for_the_counters_gate(tmp_path: Path) -> None:
    cache = SQLiteCache(str(tmp_path / "counters.sqlite3"), {})
    cache.set("warm", 1)  # the file exists and is in WAL mode before the gate is taken
    path = gate_path(os.path.realpath(tmp_path / "counters.sqlite3"))
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    counted: list[int] = []
    thread = threading.Thread(target=lambda: counted.append(cache.incr_or_add("k", timeout=60)))
    try:
        thread.start()
        thread.join(0.3)
        assert thread.is_alive()
        assert counted == []
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    thread.join(10)
    assert counted == [1]
