"""The process that ``madoguchi serve --with-worker`` runs: granian plus its task workers.

granian supervises its own WSGI workers (``--respawn-failed-workers``). This supervisor keeps
the rest together:

- a task worker that exits (at start or later) is started again after a back-off that doubles
  while it keeps failing quickly (1 s, 2 s, 4 s ... up to ``backoff_max``) and resets once it
  has run for ``stable_after`` seconds; the tasks it was running are put back in the queue;
- SIGTERM or SIGINT stops granian and the workers (each gets SIGTERM, then SIGKILL after
  ``stop_timeout``) and exits 0; when granian exits by itself the workers are stopped and its
  exit status is returned, so that systemd (or whoever started us) sees the failure;
- SIGHUP is passed on to granian, which starts new WSGI workers before stopping the old ones
  (no request is dropped), and each task worker is restarted once it has finished the task
  it is running, so that both run the new code;
- every child gets SIGTERM from the kernel when this process dies, even by SIGKILL
  (``PR_SET_PDEATHSIG``), so nothing is left running without its parent.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["Supervisor", "TaskWorkerSlot"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.1


def _die_with_parent(parent: int) -> Callable[[], None]:
    """Run in the child before exec: ask for SIGTERM when the parent dies."""

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        # The parent may have died before prctl took effect.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@dataclass
class TaskWorkerSlot:
    """One task worker the supervisor keeps running."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    worker_id: str = ""
    started_at: float = 0.0
    restart_at: float = 0.0
    backoff: float = 0.0
    starts: int = 0
    restarting: bool = False  # stopped on purpose (SIGHUP): start again at once
    history: list[str] = field(default_factory=list)


class Supervisor:
    """Runs ``server_argv`` and ``task_workers`` copies of ``worker_argv(worker_id)``."""

    def __init__(
        self,
        *,
        server_argv: Sequence[str],
        worker_argv: Callable[[str], Sequence[str]],
        task_workers: int,
        on_worker_lost: Callable[[str], None],
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        stable_after: float = 30.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.server_argv = list(server_argv)
        self.worker_argv = worker_argv
        self.on_worker_lost = on_worker_lost
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self.slots = [TaskWorkerSlot(index=i) for i in range(task_workers)]
        self.server: subprocess.Popen[bytes] | None = None
        self.host = socket.gethostname()[:32]
        self._stop_signal = 0
        self._reload = False

    # --- signals ---------------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signal = signum

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self._reload = True

    # --- children ----------------------------------------------------------------------------

    def _spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        # argv is built by `madoguchi serve` from its own options, never from a request.
        return subprocess.Popen(list(argv), preexec_fn=_die_with_parent(os.getpid()))  # noqa: S603

    def _start_worker(self, slot: TaskWorkerSlot) -> None:
        slot.starts += 1
        # Unique among the workers of every machine sharing the queue (at most 64 characters).
        slot.worker_id = f"{self.host}-{os.getpid()}-{slot.index}-{slot.starts}"
        slot.process = self._spawn(self.worker_argv(slot.worker_id))
        slot.started_at = time.monotonic()
        logger.info("task worker %d started (pid %d)", slot.index + 1, slot.process.pid)

    def _worker_exited(self, slot: TaskWorkerSlot, code: int) -> None:
        assert slot.process is not None
        slot.process = None
        lived = time.monotonic() - slot.started_at
        # Tasks the dead worker had claimed would otherwise stay "running" until their lease ends.
        try:
            self.on_worker_lost(slot.worker_id)
        except Exception:
            logger.exception("could not put back the tasks of task worker %s", slot.worker_id)
        if slot.restarting:
            slot.restarting = False
            slot.backoff = 0.0
            slot.restart_at = time.monotonic()
            return
        if lived >= self.stable_after:
            slot.backoff = self.backoff_initial
        else:
            slot.backoff = min(self.backoff_max, max(self.backoff_initial, slot.backoff * 2))
        slot.restart_at = time.monotonic() + slot.backoff
        logger.warning(
            "task worker %d exited with status %d after %.1f s; starting it again in %.1f s",
            slot.index + 1,
            code,
            lived,
            slot.backoff,
        )

    def _terminate(self, processes: Sequence[subprocess.Popen[bytes]]) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("pid %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()

    def _stop_all(self) -> None:
        children = [slot.process for slot in self.slots if slot.process is not None]
        if self.server is not None:
            children.insert(0, self.server)
        self._terminate(children)

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until stopped; the exit status to leave with."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        self.server = self._spawn(self.server_argv)
        for slot in self.slots:
            self._start_worker(slot)
        try:
            return self._loop()
        finally:
            self._stop_all()

    def _loop(self) -> int:
        assert self.server is not None
        while True:
            if self._stop_signal:
                logger.info("%s received: stopping", signal.Signals(self._stop_signal).name)
                return 0
            code = self.server.poll()
            if code is not None:
                logger.error("the server exited with status %d: stopping the task workers", code)
                return code or 1
            if self._reload:
                self._reload = False
                self._reload_children()
            now = time.monotonic()
            for slot in self.slots:
                if slot.process is not None:
                    exited = slot.process.poll()
                    if exited is not None:
                        self._worker_exited(slot, exited)
                if slot.process is None and now >= slot.restart_at:
                    self._start_worker(slot)
            time.sleep(_POLL_SECONDS)

    def _reload_children(self) -> None:
        assert self.server is not None
        logger.info("SIGHUP received: reloading the server's and the task workers' code")
        self.server.send_signal(signal.SIGHUP)
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                slot.restarting = True
                # db_worker finishes the task it is running, then exits.
                slot.process.send_signal(signal.SIGTERM)
