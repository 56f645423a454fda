"""Crowd benchmark: API submissions at 1×, 2× and 10× the load that saturates two workers.

    .venv/bin/python -m bench.crowd [--duration 15] [--workers 2] [--threads 8]

1. A fresh SQLite database in a temporary MADOGUCHI_DATA_DIR (never var/): migrate and
   ``madoguchi demo load``; bodies of ``jido-teate`` applications, each a different person,
   checked against the definition before any load.
2. ``madoguchi serve --workers 2 --threads 8`` on a free 127.0.0.1 port, with admission control
   as configured (``--slots`` submission slots per worker, ``--queue-ms`` budget) and the API's
   per-client submission limit raised (all the load comes from one address).
3. **Capacity.** A closed loop of twice as many clients as the server has submission slots,
   each sending its next submission when the last is answered (20 ms later after a 503), for
   ``--duration`` seconds: the 201s per second it reaches is the load that saturates the two
   workers, "1×".
4. **Crowd.** An open-loop client (Poisson arrivals, new requests whatever the answers so far,
   as a crowd behaves) offers 1×, 2× and 10× that rate for ``--duration`` seconds each and
   waits for every answer (at most ``--timeout`` seconds each). Printed per level: offered and
   sent rates, accepted throughput (201/s), the share shed (503 ``busy``), p50/p99 of accepted
   and of shed answers, timeouts and other errors, and the applications stored against the
   201s (every acknowledged receipt looked up in the database).
5. The issue's targets at 10×: p99 of shed answers <= 100 ms, no timeouts, accepted throughput
   within 10 % of the 1× figure, stored applications == 201 responses. Reported, never asserted.

The machine's load average and the CPU used by the server, the client and everything else are
printed for each run: on a shared machine other work shows up there. Only 127.0.0.1 is loaded,
every run is bounded in time, and the server is stopped by its own PID.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.status_and_submit import (
    JST,
    ROOT,
    SUBMIT_PATH,
    SUBMIT_PROCEDURE,
    VENV_BIN,
    Server,
    _children,
    _machine_busy_seconds,
    _process_seconds,
    bench_environment,
    configure_django,
    count_applications,
    count_stored_receipts,
    free_port,
    log,
    machine_info,
    wait_for_quiet,
    write_submission_bodies,
)

TARGET_SHED_P99_MS = 100.0
TARGET_THROUGHPUT_RATIO = 0.9
LEVELS = (1, 2, 10)
# Capacity: closed-loop clients per submission slot, and their pause after a 503.
CLIENTS_PER_SLOT = 2
SHED_PAUSE = 0.02


# --- the load client (runs in its own process: python -m bench.crowd --drive ...) -------------


@dataclass
class Outcome:
    status: int  # 0: timed out, -1: connection error
    latency_ms: float
    lag_ms: float  # how late the request left against its schedule
    receipt: str = ""
    code: str = ""


def _request_bytes(host: str, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    else:
        body = await reader.read()
    keep = headers.get("connection", "").lower() != "close"
    return status, body, keep


class Pool:
    """Keep-alive connections to the server; a new one whenever none is idle."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        try:
            writer.write(payload)
            await writer.drain()
            status, body, keep = await _read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer))
        else:
            writer.close()
        return status, body


def _outcome(status: int, body: bytes, latency_ms: float, lag_ms: float) -> Outcome:
    outcome = Outcome(status, latency_ms, lag_ms)
    try:
        data = json.loads(body)
    except ValueError:
        return outcome
    if status == 201:
        outcome.receipt = str(data.get("receipt_number", ""))
    elif isinstance(data, dict) and isinstance(data.get("error"), dict):
        outcome.code = str(data["error"].get("code", ""))
    return outcome


async def _one(
    pool: Pool, payload: bytes, due: float, timeout: float, results: list[Outcome]
) -> None:
    started = time.monotonic()
    lag_ms = max(0.0, started - due) * 1000
    try:
        status, body = await asyncio.wait_for(pool.send(payload), timeout)
    except TimeoutError:
        results.append(Outcome(0, timeout * 1000, lag_ms))
        return
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        results.append(Outcome(-1, (time.monotonic() - started) * 1000, lag_ms))
        return
    results.append(_outcome(status, body, (time.monotonic() - started) * 1000, lag_ms))


async def _open_loop(
    url: str, bodies: list[bytes], rate: float, duration: float, timeout: float, seed: int
) -> tuple[list[Outcome], float]:
    host_port, path = url.removeprefix("http://").split("/", 1)
    host, port = host_port.split(":")
    pool = Pool(host, int(port))
    rng = random.Random(seed)
    results: list[Outcome] = []
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    due = start
    index = 0
    while True:
        due += rng.expovariate(rate)
        if due - start >= duration:
            break
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        payload = _request_bytes(host_port, "/" + path, bodies[index % len(bodies)])
        index += 1
        task = asyncio.create_task(_one(pool, payload, due, timeout, results))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_for = time.monotonic() - start
    if tasks:
        await asyncio.wait(tasks)
    return results, sent_for


async def _closed_loop(
    url: str, bodies: list[bytes], clients: int, duration: float, timeout: float
) -> tuple[list[Outcome], float]:
    host_port, path = url.removeprefix("http://").split("/", 1)
    host, port = host_port.split(":")
    results: list[Outcome] = []
    counter = iter(range(10**9))
    start = time.monotonic()

    async def client() -> None:
        pool = Pool(host, int(port))
        while time.monotonic() - start < duration:
            payload = _request_bytes(host_port, "/" + path, bodies[next(counter) % len(bodies)])
            await _one(pool, payload, time.monotonic(), timeout, results)
            if results[-1].status == 503:
                # A turned-away client comes back a little later, not in a tight loop.
                await asyncio.sleep(SHED_PAUSE)

    await asyncio.gather(*(client() for _ in range(clients)))
    return results, time.monotonic() - start


def drive(argv: list[str]) -> None:
    """The client process: load, then one JSON line with every outcome on stdout."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--skip", type=int, default=0, help="bodies already sent")
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--clients", type=int, default=0)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    lines = args.bodies.read_text(encoding="utf-8").splitlines()[args.skip :]
    bodies = [line.encode("utf-8") for line in lines if line]
    if args.rate > 0:
        coroutine = _open_loop(args.url, bodies, args.rate, args.duration, args.timeout, args.seed)
    else:
        coroutine = _closed_loop(args.url, bodies, args.clients, args.duration, args.timeout)
    started = time.process_time()
    results, sent_for = asyncio.run(coroutine)
    print(
        json.dumps(
            {
                "sent_for": sent_for,
                "client_cpu": time.process_time() - started,
                "outcomes": [
                    [o.status, round(o.latency_ms, 3), round(o.lag_ms, 3), o.receipt, o.code]
                    for o in results
                ],
            }
        )
    )


# --- the orchestrator -------------------------------------------------------------------------


@dataclass
class Level:
    label: str
    offered: float  # requests/s offered (open loop) or 0 for the closed loop
    seconds: float  # how long requests were being sent
    outcomes: list[Outcome]
    cpu_server: float
    cpu_client: float
    cpu_other: float
    load_average: tuple[float, float, float]
    stored: int = 0
    receipts_stored: int = 0
    sent_bodies: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def of(self, status: int) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def accepted_per_s(self) -> float:
        return len(self.of(201)) / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def start_server(
    data_dir: Path, run_dir: Path, args: argparse.Namespace
) -> tuple[Server, dict[str, str]]:
    port = free_port()
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(bench_environment(data_dir))
    admission = {
        "MADOGUCHI_ADMISSION_SUBMIT_SLOTS": str(args.slots),
        "MADOGUCHI_ADMISSION_QUEUE_MS": str(args.queue_ms),
        "MADOGUCHI_ADMISSION_RETRY_AFTER": "5",
    }
    env.update(admission)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    log_path, out_path = run_dir / "server.stderr.log", run_dir / "server.stdout.log"
    argv = [
        str(VENV_BIN / "madoguchi"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(args.workers), "--threads", str(args.threads),
    ]  # fmt: skip
    with log_path.open("wb") as err, out_path.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err)
    server = Server(process, port, args.workers, log_path, out_path)
    log(f"server pid {process.pid}: {' '.join(argv[1:])}")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    else:
        server.stop()
        raise SystemExit("the server did not answer /healthz within 90 s")
    server.worker_pids = _children(process.pid)
    log(f"ready at {server.base} (worker pids {server.worker_pids})")
    return server, admission


def run_level(
    label: str,
    server: Server,
    bodies: Path,
    skip: int,
    *,
    duration: float,
    timeout: float,
    rate: float = 0.0,
    clients: int = 0,
    seed: int = 1,
) -> Level:
    argv = [
        sys.executable, "-m", "bench.crowd", "--drive", "--url", server.base + SUBMIT_PATH,
        "--bodies", str(bodies), "--skip", str(skip), "--duration", str(duration),
        "--timeout", str(timeout), "--seed", str(seed),
        *(["--rate", f"{rate:.3f}"] if rate else ["--clients", str(clients)]),
    ]  # fmt: skip
    what = f"{rate:,.1f} req/s offered" if rate else f"{clients} closed-loop clients"
    log(f"{label}: {what} for {duration:.0f} s")
    pids = [server.process.pid, *server.worker_pids]
    server_before = sum(_process_seconds(pid) for pid in pids)
    machine_before = _machine_busy_seconds()
    started = time.monotonic()
    completed = subprocess.run(
        argv, capture_output=True, text=True, cwd=ROOT, timeout=duration + timeout + 120,
        check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    load_average = os.getloadavg()
    if completed.returncode != 0:
        raise SystemExit(f"the load client failed:\n{completed.stderr[-3000:]}")
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    server_seconds = sum(_process_seconds(pid) for pid in pids) - server_before
    machine_seconds = _machine_busy_seconds() - machine_before
    client_seconds = float(data["client_cpu"])
    outcomes = [Outcome(s, lat, lag, r, c) for s, lat, lag, r, c in data["outcomes"]]
    return Level(
        label=label,
        offered=rate,
        seconds=float(data["sent_for"]),
        outcomes=outcomes,
        cpu_server=server_seconds / elapsed,
        cpu_client=client_seconds / elapsed,
        cpu_other=max(0.0, machine_seconds - server_seconds - client_seconds) / elapsed,
        load_average=load_average,
        sent_bodies=len(outcomes),
    )


def describe(level: Level, base_rate: float) -> list[str]:
    accepted, shed = level.of(201), level.of(503)
    timeouts, errors = level.of(0), level.of(-1)
    other: dict[int, int] = {}
    for o in level.outcomes:
        if o.status not in (201, 503, 0, -1):
            other[o.status] = other.get(o.status, 0) + 1
    total = len(level.outcomes)
    matched = level.stored == len(accepted) == level.receipts_stored
    lag_p99 = percentile([o.lag_ms for o in level.outcomes], 99)
    shed_codes = sorted({o.code for o in shed})
    lines = [
        f"{level.label}"
        + (
            f"  offered {level.offered:,.1f} req/s ({level.offered / base_rate:.1f}x), "
            f"sent {total / level.seconds:,.1f} req/s"
            if level.offered
            else f"  {total:,} requests, {total / level.seconds:,.1f} req/s"
        ),
        f"  accepted {level.accepted_per_s:,.1f}/s ({len(accepted):,} 201s)  "
        f"p50 {percentile([o.latency_ms for o in accepted], 50):.1f} ms  "
        f"p99 {percentile([o.latency_ms for o in accepted], 99):.1f} ms",
        f"  shed {len(shed):,} ({len(shed) / total:.1%})  "
        f"p50 {percentile([o.latency_ms for o in shed], 50):.1f} ms  "
        f"p99 {percentile([o.latency_ms for o in shed], 99):.1f} ms  "
        f"codes {','.join(shed_codes) or '-'}",
        f"  timeouts {len(timeouts)}, connection errors {len(errors)}, other statuses "
        + (", ".join(f"{c}: {n}" for c, n in sorted(other.items())) or "none"),
        f"  stored {level.stored:,} vs 201s {len(accepted):,}; acknowledged receipts found "
        f"{level.receipts_stored:,}: {'match' if matched else 'MISMATCH'}",
        f"  client lag behind schedule p99 {lag_p99:.1f} ms"
        f"; CPU (cores): server {level.cpu_server:.2f}, client {level.cpu_client:.2f}, "
        f"other processes {level.cpu_other:.2f}; load average "
        + " ".join(f"{v:.2f}" for v in level.load_average),
    ]  # fmt: skip
    return lines


def prepare(data_dir: Path) -> None:
    from django.core.management import call_command
    from django.db import connection

    log("migrate and madoguchi demo load")
    call_command("migrate", interactive=False, verbosity=0)
    with open(os.devnull, "w") as devnull:
        call_command("demo", "load", stdout=devnull)
    connection.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--drive"]:
        drive(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per level")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="granian threads per worker")
    parser.add_argument("--slots", type=int, default=2, help="submission slots per worker")
    parser.add_argument("--queue-ms", type=int, default=50, help="admission queue budget")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout, seconds")
    parser.add_argument("--bodies", type=int, default=40_000, help="distinct submissions")
    parser.add_argument("--base-rate", type=float, default=0.0, help="1x in req/s (skip step 3)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each measured level, wait up to SECONDS for other processes to go idle",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args(argv)

    run_dir = Path(tempfile.mkdtemp(prefix="madoguchi-crowd-"))
    data_dir = run_dir / "data"
    data_dir.mkdir()
    log(f"run directory {run_dir}")
    try:
        return run(args, run_dir, data_dir)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def run(args: argparse.Namespace, run_dir: Path, data_dir: Path) -> int:
    # Submissions need no sentence embeddings; without them the demo loads in seconds.
    os.environ["MADOGUCHI_CONSULTATION_EMBEDDER"] = "none"
    configure_django(data_dir)
    info = machine_info()
    prepare(data_dir)
    bodies = write_submission_bodies(run_dir, args.bodies, f"{args.seed}-{time.time_ns()}")
    server: Server | None = None
    levels: list[Level] = []
    skip = 0

    def measure(level: Level) -> Level:
        nonlocal skip
        skip += level.sent_bodies
        receipts = [o.receipt for o in level.of(201)]
        level.stored = count_applications(SUBMIT_PROCEDURE) - before[0]
        level.receipts_stored = count_stored_receipts(receipts, SUBMIT_PROCEDURE)
        before[0] += level.stored
        for line in describe(level, base_rate or 1.0):
            print(line, flush=True)
        return level

    base_rate = args.base_rate
    before = [0]
    try:
        server, admission = start_server(data_dir, run_dir, args)
        before[0] = count_applications(SUBMIT_PROCEDURE)
        slots_total = args.slots * args.workers
        # Twice as many clients as slots keep every slot busy however granian spreads the
        # connections over its workers.
        clients = CLIENTS_PER_SLOT * slots_total
        warm = run_level(
            "warm-up", server, bodies, skip, duration=args.warmup, timeout=args.timeout,
            clients=slots_total,
        )  # fmt: skip
        measure(warm)

        def settle() -> None:
            if args.quiet_wait > 0:
                busy = wait_for_quiet(args.quiet_wait, threshold=0.5)
                log(f"  before the level, the machine used {busy:.2f} cores")

        if not base_rate:
            settle()
            closed = run_level(
                "capacity (closed loop)", server, bodies, skip, duration=args.duration,
                timeout=args.timeout, clients=clients,
            )  # fmt: skip
            capacity = measure(closed)
            base_rate = capacity.accepted_per_s
            levels.append(capacity)
            log(f"1x = {base_rate:.1f} submissions/s")
        for multiple in LEVELS:
            settle()
            level = run_level(
                f"{multiple}x", server, bodies, skip, duration=args.duration,
                timeout=args.timeout, rate=base_rate * multiple, seed=args.seed + multiple,
            )  # fmt: skip
            levels.append(measure(level))
            if skip >= args.bodies:
                log("every body was sent once; more would repeat people (duplicates)")
    finally:
        if server is not None:
            server.stop()

    log_text = server.log_path.read_text(errors="replace") if server else ""
    by_label = {level.label: level for level in levels}
    one, ten = by_label["1x"], by_label["10x"]
    shed_p99 = percentile([o.latency_ms for o in ten.of(503)], 99)
    ratio = ten.accepted_per_s / one.accepted_per_s if one.accepted_per_s else 0.0
    stored_ok = all(lv.stored == len(lv.of(201)) == lv.receipts_stored for lv in levels)
    timeouts = sum(len(lv.of(0)) for lv in levels)

    def verdict(ok: bool) -> str:
        return "met" if ok else "SHORT"

    lines = [
        "=" * 78,
        f"madoguchi crowd benchmark — {datetime.datetime.now(tz=JST):%Y-%m-%d %H:%M} JST",
        f"machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM, {info['os']}",
        f"software: Python {info['python']}, SQLite {info['sqlite']}, Django {info['django']}, "
        f"granian {info['granian']} ({args.workers} workers, {args.threads} threads each)",
        f"admission: {args.slots} submission slots per worker, queue budget {args.queue_ms} ms, "
        f"Retry-After 5 s ({', '.join(f'{k}={v}' for k, v in admission.items())})",
        f"load: POST {SUBMIT_PATH}, a different person per request; "
        f"{args.duration:.0f} s per level, client timeout {args.timeout:.0f} s; "
        f"1x = {base_rate:.1f} req/s"
        + (" (measured, closed loop)" if not args.base_rate else " (given)"),
        "",
    ]
    for level in levels:
        lines += describe(level, base_rate)
        lines.append("")
    lines += [
        "targets at 10x:",
        f"  p99 of shed answers {shed_p99:.1f} ms (<= {TARGET_SHED_P99_MS:.0f} ms: "
        f"{verdict(shed_p99 <= TARGET_SHED_P99_MS)})",
        f"  timeouts {len(ten.of(0))} (0: {verdict(not ten.of(0))}); in the whole run {timeouts}",
        f"  accepted {ten.accepted_per_s:.1f}/s = {ratio:.2f} x the 1x figure "
        f"{one.accepted_per_s:.1f}/s (>= {TARGET_THROUGHPUT_RATIO}: "
        f"{verdict(ratio >= TARGET_THROUGHPUT_RATIO)})",
        f"  stored applications == 201 responses at every level: {verdict(stored_ok)}",
        f"server log: {log_text.count('database is locked')} 'database is locked', "
        f"{log_text.count('Internal Server Error')} 'Internal Server Error'; "
        f"{len(re.findall('admission control turned requests away', log_text))} shed summaries",
        "=" * 78,
    ]
    print("\n" + "\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
