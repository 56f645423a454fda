"""Private database and cache servers for the benchmarks, on loopback ports, removed after.

``postgres_server`` starts a throwaway PostgreSQL cluster (initdb as the ``postgres`` user when
run as root, fsync off: a benchmark, not a store); ``redis_server`` a ``redis-server`` without
persistence. Either yields the given URL unchanged instead when one is passed, so a benchmark
can also be pointed at servers the operator runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REDIS = Path("/usr/bin/redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        sys.exit("PostgreSQL server binaries are missing (apt-get install postgresql)")
    return found[-1].parent


def as_postgres(*argv: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def postgres_server(url: str | None = None, *, max_connections: int = 50) -> Iterator[str]:
    """The URL of a PostgreSQL server: ``url``, or a private cluster started and removed here."""
    if url:
        yield url
        return
    binaries = pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    port = free_port()
    as_postgres(
        str(binaries / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "--auth=trust",
        "-E", "UTF8", "--locale=C.UTF-8",
    )  # fmt: skip
    as_postgres(
        str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "server.log"),
        "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}"
        f" -c max_connections={max_connections} -c shared_buffers=256MB -c fsync=off"
        " -c synchronous_commit=off",
        "-w", "start",
    )  # fmt: skip
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis_server(url: str | None = None) -> Iterator[str]:
    """The URL of a Redis server: ``url``, or a private ``redis-server`` started and stopped
    here (no persistence)."""
    if url:
        yield url
        return
    if not REDIS.exists():
        sys.exit("redis-server is missing (apt-get install redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-bench-redis-"))
    port = free_port()
    with (folder / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(REDIS), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                "--appendonly", "no", "--dir", str(folder),
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not _pong(port):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"redis-server did not start: {(folder / 'redis.log').read_text()}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _pong(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False
