"""Helpers of the fault tests: ``madoguchi serve`` on a loopback port, its processes, and a
bounded load of API calls from a few threads.

The server uses the suite's own test database (``DATABASE_URL`` of the run, see
``tests.procedures.test_concurrent_submit.database_url``) unless told otherwise, and is
stopped by its own PID.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return sorted(set(found))


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def granian_pid(self) -> int:
        """The granian main process: ourselves, or our child under --with-worker."""
        if "granian" in cmdline(self.process.pid):
            return self.process.pid
        [pid] = [p for p in children(self.process.pid) if "granian" in cmdline(p)]
        return pid

    def http_workers(self) -> list[int]:
        return [p for p in children(self.granian_pid()) if alive(p)]

    def task_workers(self) -> list[int]:
        return [p for p in children(self.process.pid) if "task_worker" in cmdline(p) and alive(p)]


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MADOGUCHI_ENV": "test",
        "MADOGUCHI_DEBUG": "0",
        "DATABASE_URL": database_url,
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_CONSULTATION_EMBEDDER": "none",
        "MADOGUCHI_API_SUBMISSIONS_PER_MINUTE": "100000",
        # These tests are about supervision and failures, not shedding: a slow reload on a busy
        # machine must not turn into 503 busy answers (tests/core/test_admission.py covers them).
        "MADOGUCHI_ADMISSION_SUBMIT_SLOTS": "0",
        "MADOGUCHI_SERVE_RESPAWN_INTERVAL": "8",
        "MADOGUCHI_SERVE_STOP_TIMEOUT": "10",
        "MADOGUCHI_LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **extra,
    }


@contextmanager
def serve(env: dict[str, str], log: Path, *args: str, workers: int = 2) -> Iterator[Server]:
    """``madoguchi serve`` until the block ends; waits until /healthz answers."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "madoguchi.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    try:
        wait_for(
            lambda: process.poll() is None and get(server.base + "/healthz")[0] == 200,
            60,
            "the server to answer /healthz",
        )
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """Status and body; 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def post_json(
    url: str, body: object, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    """Status and body; 0 and the error's name when no answer came."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, repr(getattr(exc, "reason", exc)).encode()


@dataclass
class Attempt:
    key: str
    status: int  # 0: the connection failed or timed out
    started: float
    elapsed: float
    receipt: str = ""
    error: str = ""


@dataclass
class Load:
    """Submissions from ``clients`` threads until stopped; a failed attempt (no answer, or a
    5xx) is retried with the same idempotency key, as a careful client would."""

    url: str
    answers: Callable[[int], dict[str, object]]
    clients: int = 4
    retry_seconds: float = 60.0
    attempts: list[Attempt] = field(default_factory=list)
    final: dict[str, Attempt] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for client in range(self.clients):
            thread = threading.Thread(target=self._run, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _run(self, client: int) -> None:
        number = 0
        while not self._stop.is_set():
            index = client * 100_000 + number
            key = f"fault-{client}-{number}"
            number += 1
            give_up = time.monotonic() + self.retry_seconds
            while time.monotonic() < give_up:  # a key is finished even after the stop signal
                started = time.monotonic()
                status, body = post_json(
                    self.url, {"answers": self.answers(index)}, {"Idempotency-Key": key}
                )
                attempt = Attempt(key, status, started, time.monotonic() - started)
                if status in {200, 201}:
                    attempt.receipt = json.loads(body)["receipt_number"]
                elif status == 0:
                    attempt.error = body.decode()
                with self._lock:
                    self.attempts.append(attempt)
                if status in {200, 201} or 400 <= status < 500:
                    with self._lock:
                        self.final[key] = attempt
                    break
                time.sleep(0.2)


def assert_one_application_per_key(load: Load, stored: set[str]) -> None:
    """Every key ended with an answer; the applications ``stored`` are exactly those answered:
    none lost, none stored twice by a retry."""
    unfinished = {a.key for a in load.attempts} - set(load.final)
    assert unfinished == set()
    assert {a.status for a in load.final.values()} <= {200, 201}
    receipts = [a.receipt for a in load.final.values()]
    assert len(set(receipts)) == len(receipts)  # no two keys share an application
    assert stored == set(receipts)
    created = [a for a in load.attempts if a.status == 201]
    # A 200 is a retry whose first attempt was stored but whose answer was lost.
    replayed = [a for a in load.final.values() if a.status == 200]
    assert len(created) + len(replayed) == len(stored)
