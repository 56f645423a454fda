"""One writer at a time on a SQLite file, queued in this machine instead of by sleeping.

SQLite lets one connection write at a time. A connection that finds the file locked waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries and is not told
when the lock is released. Under steady writes from several worker processes the waiting worker
sleeps past the release while its requests queue, and its core idles: at 1,000,000 applications
the server used 1.59 of 2 cores for 295 submissions/s, and 1.74 for status lookups whose only
writes are the rate-limit counters (see ``docs/benchmarks.md``).

A :class:`WriteGate` is a lock file beside the SQLite file. A writer takes it before it asks
SQLite for the write lock and gives it back after ``COMMIT`` or ``ROLLBACK``. Threads of one
process queue on a lock the kernel wakes them from; processes take an ``flock`` on the file,
tried every 0.05-0.5 ms, so the next writer starts within half a millisecond of the release
instead of after SQLite's next sleep.

SQLite's own lock stays what guarantees one writer; the gate only orders who asks for it. A
writer that cannot take the gate within the timeout goes on without it, to SQLite's busy
handler as before: a holder that hangs delays the others by at most the timeout and never
deadlocks them. A process that holds no gate (``sqlite3`` on the command line, a backup) is
waited for by SQLite as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["WriteGate", "gate_for", "gate_path"]

# Between two tries of the file lock (seconds): short first, the writes it waits for are short.
_FIRST_PAUSE = 0.00005
_LONGEST_PAUSE = 0.0005


def gate_path(database: str) -> str:
    """The lock file of the SQLite file ``database`` (beside its ``-wal`` and ``-shm``)."""
    return f"{database}-writers"


class WriteGate:
    """A lock shared by every thread and process of this machine that writes one SQLite file.

    Not reentrant: a thread takes it once per transaction. Safe across ``fork``: a child opens
    its own file description (an inherited one would share the parent's lock).
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._pid = -1
        self._threads = threading.Lock()
        self._fd = -1

    def _for_this_process(self) -> None:
        if self._pid != os.getpid():
            self._forget_parent()

    def _forget_parent(self) -> None:
        """In a child process: drop what was the parent's.

        The inherited descriptor is closed at once: while a copy stays open, a parent killed
        while holding the gate would leave it held. Closing a copy does not release the
        parent's lock (only ``LOCK_UN`` or closing every copy does). A thread lock inherited
        from the parent may be held by a thread that does not exist here.
        """
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._threads = threading.Lock()
        self._fd = -1
        self._pid = os.getpid()

    def acquire(self) -> bool:
        """Take the gate, waiting up to the timeout; False when it was not taken in time."""
        self._for_this_process()
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            return False
        try:
            if self._fd < 0:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            pause = _FIRST_PAUSE
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(pause)
                    pause = min(pause * 2, _LONGEST_PAUSE)
                else:
                    return True
        except OSError:
            # No lock file here (read-only folder, full disk): SQLite's busy handler decides.
            pass
        self._threads.release()
        return False

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Within this block the gate is held (True), or was not taken in time (False)."""
        taken = self.acquire()
        try:
            yield taken
        finally:
            if taken:
                self.release()

    def release(self) -> None:
        """Give the gate back (only after :meth:`acquire` returned True, in the same thread)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A server forks its workers: each must queue on its own, and hold no copy of the parent's.
    global _gates_lock
    _gates_lock = threading.Lock()
    for gate in _gates.values():
        gate._forget_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


def gate_for(database: str, timeout: float) -> WriteGate:
    """The one gate of this process for the SQLite file ``database`` (its threads share it)."""
    path = gate_path(os.path.realpath(database))
    with _gates_lock:
        gate = _gates.get(path)
        if gate is None:
            gate = _gates[path] = WriteGate(path, timeout)
        return gate
