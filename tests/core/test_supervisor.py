"""The supervisor of ``madoguchi serve --with-worker``, with small stand-in processes for
granian and the task worker: restart with back-off, stop together, nothing left orphaned."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.core.serving import ROOT, alive, children, wait_for

# Runs the supervisor in a process of its own; argv: server code, worker code.
SUPERVISE = """
import logging, sys
from madoguchi.core.supervisor import Supervisor

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
server_code, worker_code = sys.argv[1], sys.argv[2]
supervisor = Supervisor(
    server_argv=[sys.executable, "-c", server_code],
    worker_argv=lambda worker_id: [sys.executable, "-c", worker_code, worker_id],
    task_workers=1,
    on_worker_lost=lambda worker_id: print("lost", worker_id, flush=True),
    backoff_initial=0.2,
    backoff_max=1.0,
    stable_after=5.0,
    stop_timeout=5.0,
)
sys.exit(supervisor.run())
"""
SLEEP = "import time; time.sleep(60)"


def supervise(server_code: str, worker_code: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", SUPERVISE, server_code, worker_code],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_a_worker_failing_at_start_is_restarted_with_a_growing_back_off(tmp_path: Path) -> None:
    log = tmp_path / "log"
    process = supervise(SLEEP, "import sys; sys.exit(3)", log)
    try:
        wait_for(lambda: log.read_text().count("exited with status 3") >= 5, 20, "5 exits")
        [server] = [p for p in children(process.pid) if alive(p)]
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()
    text = log.read_text()
    delays = [float(d) for d in re.findall(r"starting it again in ([\d.]+) s", text)][:5]
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0]
    host = socket.gethostname()[:32]
    lost = re.findall(r"^lost (.+)$", text, re.MULTILINE)[:3]
    # Its tasks were put back each time, by a worker id unique across machines.
    assert lost == [f"{host}-{process.pid}-0-{n}" for n in (1, 2, 3)]
    assert "SIGTERM received: stopping" in text
    wait_for(lambda: not alive(server), 5, "the server to stop with the supervisor")


def test_when_the_server_exits_the_workers_are_stopped_and_its_status_returned(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    process = supervise("import time, sys; time.sleep(2); sys.exit(5)", SLEEP, log)
    try:
        wait_for(lambda: "task worker 1 started" in log.read_text(), 10, "the worker")
        workers = [p for p in children(process.pid) if alive(p)]
        assert len(workers) == 2
        assert process.wait(20) == 5
    finally:
        process.kill()
    assert "the server exited with status 5: stopping the task workers" in log.read_text()
    wait_for(lambda: not any(alive(p) for p in workers), 5, "the worker to stop")


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    """Even SIGKILL, which the supervisor cannot handle, leaves nothing running."""
    log = tmp_path / "log"
    process = supervise(SLEEP, SLEEP, log)
    try:
        wait_for(lambda: len(children(process.pid)) == 2, 10, "both children")
        orphans = children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)
    finally:
        process.kill()
    deadline = time.monotonic() + 5
    while any(alive(p) for p in orphans) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in orphans)


def test_sighup_restarts_the_task_worker_and_reaches_the_server(tmp_path: Path) -> None:
    log = tmp_path / "log"
    server_code = (
        "import signal, time\n"
        "signal.signal(signal.SIGHUP, lambda *a: print('server reloads', flush=True))\n"
        "print('server handles SIGHUP', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = supervise(server_code, SLEEP, log)
    try:
        wait_for(lambda: "task worker 1 started" in log.read_text(), 10, "the worker")
        # A loaded machine may start the server later than the worker: signal only once its
        # handler is installed, as a real server's would be by the time it serves.
        wait_for(lambda: "server handles SIGHUP" in log.read_text(), 10, "the server's handler")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: log.read_text().count("task worker 1 started") == 2, 10, "a restart")
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()
    text = log.read_text()
    assert "server reloads" in text
    assert "starting it again" not in text  # a restart on purpose waits for no back-off
