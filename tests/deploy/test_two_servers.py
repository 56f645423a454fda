"""Two app servers behind haproxy, with PostgreSQL and Redis, all on loopback ports.

The test brings its own private PostgreSQL cluster (initdb as the ``postgres`` user, as
``.ci/run`` does), a private ``redis-server`` and two ``madoguchi serve`` processes (granian)
sharing them, with haproxy in front (health checks on ``/healthz``, a server cookie, failover).
It does not use the suite's database, so it runs whether the suite runs on SQLite or
PostgreSQL. It proves, in order:

1. the status-lookup limit counts hits on both servers together, and through haproxy per
   client (``X-Forwarded-For`` from trusted proxies, ``MADOGUCHI_TRUSTED_PROXIES``);
2. a dashboard changed through one server is fresh through the other at once;
3. an attachment uploaded through one server is downloaded through the other: each server has
   a data folder of its own and both point ``MADOGUCHI_MEDIA_ROOT`` at one shared folder;
4. a staff session pinned to a server survives that server being killed (haproxy fails over);
5. every submission answered 201 while the server is killed is stored exactly once.

It skips only when a binary is missing and ``MADOGUCHI_REQUIRE_SERVERS`` is not set (CI sets
it). Everything it started is stopped by PID at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.support import PNG, valid_answers
from tests.core.serving import (
    ROOT,
    Load,
    Server,
    assert_one_application_per_key,
    children,
    free_port,
    serve,
    server_env,
    wait_for,
)
from tests.core.test_pg_outage import Cluster, _pg_bin
from tests.core.test_serve_faults import SUBMIT, jido_teate_answers

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

REDIS = Path("/usr/bin/redis-server")
HAPROXY = Path("/usr/sbin/haproxy")
LOOKUP_LIMIT = 6  # status lookups per client and minute on the servers under test
STAFF_PAGE = "/kobe/dashboard/staff/"
DASHBOARD = "/kobe/dashboard/"


def _missing_binaries() -> list[str]:
    missing = [str(path) for path in (REDIS, HAPROXY) if not path.exists()]
    if _pg_bin() is None:
        missing.append("/usr/lib/postgresql/*/bin/initdb")
    if shutil.which("granian", path=os.path.dirname(sys.executable)) is None:
        missing.append("granian")
    return missing


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    cookies: dict[str, str]
    location: str
    data: bytes = b""


def request(
    url: str,
    *,
    cookies: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    body: object = None,
    headers: dict[str, str] | None = None,
    upload: tuple[str, bytes] | None = None,
    timeout: float = 20,
) -> Answer:
    """One HTTP request without following redirects; status 0 when no answer came."""
    headers = dict(headers or {})
    data: bytes | None = None
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif upload is not None:  # one file in the multipart field "file"
        boundary = "madoguchi-test-boundary"
        part = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{upload[0]}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        data = part.encode() + upload[1] + f"\r\n--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback
    try:
        response = opener.open(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        response = exc
    except OSError:
        return Answer(0, "", {}, "")
    with response:
        got: dict[str, str] = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            got[name.strip()] = rest.split(";", 1)[0]
        raw = response.read()
        return Answer(
            int(response.status),
            raw.decode(errors="replace"),
            got,
            response.headers.get("Location") or "",
            raw,
        )


@dataclass
class Stack:
    cluster: Cluster
    a: Server
    b: Server
    proxy: str
    session: str
    folder: Path
    media: Path


@contextlib.contextmanager
def _redis(folder: Path) -> Iterator[str]:
    port = free_port()
    log = (folder / "redis.log").open("wb")
    process = subprocess.Popen(
        [
            str(REDIS), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
            "--appendonly", "no", "--dir", str(folder),
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def pong() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    try:
        wait_for(lambda: process.poll() is None and pong(), 20, "redis-server to answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextlib.contextmanager
def _cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    assert pg_bin is not None
    data = Path(tempfile.mkdtemp(prefix="madoguchi-deploy-pg-"))  # the postgres user's own
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    data.chmod(0o700)
    made = Cluster(pg_bin, data, free_port())
    made._as_postgres(
        str(pg_bin / "initdb"), "-D", str(data / "data"), "-U", "postgres", "--auth=trust",
        "-E", "UTF8", "--locale=C.UTF-8",
    )  # fmt: skip
    made.start()
    try:
        yield made
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            made.stop()
        shutil.rmtree(data, ignore_errors=True)


def _manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextlib.contextmanager
def _haproxy(folder: Path, a: Server, b: Server) -> Iterator[str]:
    port, stats = free_port(), free_port()
    config = folder / "haproxy.cfg"
    config.write_text(
        f"""
global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    option forwardfor
    # Reads are retried on another server also when one died mid-answer; other methods only
    # when no server took them (a client retries those with its Idempotency-Key).
    retry-on all-retryable-errors
frontend web
    bind 127.0.0.1:{port}
    http-request disable-l7-retry unless METH_GET or METH_HEAD
    default_backend app
backend app
    balance roundrobin
    cookie SRV insert indirect nocache
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
    server a 127.0.0.1:{a.port} check cookie a
    server b 127.0.0.1:{b.port} check cookie b
listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /
"""
    )
    log = (folder / "haproxy.log").open("wb")
    process = subprocess.Popen(
        [str(HAPROXY), "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"

    def both_up() -> bool:
        rows = request(f"http://127.0.0.1:{stats}/;csv").body.splitlines()
        up = {row.split(",")[1] for row in rows if row.startswith("app,") and ",UP," in row}
        return {"a", "b"} <= up

    try:
        wait_for(lambda: process.poll() is None and both_up(), 30, "haproxy to see both up")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def stack() -> Iterator[Stack]:
    missing = _missing_binaries()
    if missing:
        if os.environ.get("MADOGUCHI_REQUIRE_SERVERS"):
            pytest.fail(f"MADOGUCHI_REQUIRE_SERVERS is set but these are missing: {missing}")
        pytest.skip(f"needs {', '.join(missing)} (.ci/run installs them)")
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-deploy-"))
    try:
        with contextlib.ExitStack() as stop:
            cluster = stop.enter_context(_cluster())
            redis_url = stop.enter_context(_redis(folder))
            media = folder / "shared-media"  # the one folder both servers mount (NFS, say)
            media.mkdir()
            env = server_env(
                cluster.url,
                folder / "data-a",
                MADOGUCHI_MEDIA_ROOT=str(media),
                MADOGUCHI_CACHE_URL=redis_url,
                MADOGUCHI_STATUS_RATE_PER_CLIENT=str(LOOKUP_LIMIT),
                MADOGUCHI_TRUSTED_PROXIES="127.0.0.1",
                MADOGUCHI_SERVE_THREADS="4",
            )
            _manage(env, "-m", "madoguchi.cli", "migrate", "--noinput", "-v", "0")
            session = json.loads(_manage(env, "-m", "tests.deploy.seed"))["session"]
            (folder / "data-b").mkdir()
            env_b = {**env, "MADOGUCHI_DATA_DIR": str(folder / "data-b")}
            a = stop.enter_context(serve(env, folder / "a.log", workers=1))
            b = stop.enter_context(serve(env_b, folder / "b.log", workers=1))
            proxy = stop.enter_context(_haproxy(folder, a, b))
            yield Stack(cluster, a, b, proxy, session, folder, media)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _kill(server: Server) -> None:
    """SIGKILL the server's granian process and its workers, as a crashed machine would."""
    pids = [server.process.pid, *children(server.process.pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.process.wait(10)


def _start_of_a_fresh_window() -> None:
    """The limiter counts per calendar minute: keep the few lookups inside one."""
    if time.time() % 60 > 30:
        time.sleep(61 - time.time() % 60)


def _lookup(base: str, forwarded: str = "") -> int:
    return request(
        base + "/api/v1/kobe/status",
        body={"receipt_number": "not-a-number", "secret": "x"},
        headers={"X-Forwarded-For": forwarded} if forwarded else {},
    ).status


def _lookups_count_on_both(stack: Stack) -> None:
    _start_of_a_fresh_window()
    statuses = [_lookup(server.base) for _ in range(LOOKUP_LIMIT) for server in (stack.a, stack.b)]
    # Half the lookups went to each server: each server alone would have let all through.
    assert 429 not in statuses[:LOOKUP_LIMIT], statuses
    assert statuses[LOOKUP_LIMIT:] == [429] * LOOKUP_LIMIT, statuses

    # Through haproxy (round robin over both), each client behind the trusted proxies is counted
    # on its own address: one resident reaching the limit does not refuse the next.
    first = [_lookup(stack.proxy, "203.0.113.7") for _ in range(LOOKUP_LIMIT + 1)]
    assert 429 not in first[:LOOKUP_LIMIT], first
    assert first[LOOKUP_LIMIT] == 429, first
    assert _lookup(stack.proxy, "203.0.113.8") != 429


def _csrf(page: Answer) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert found is not None, page.body[:2000]
    return html.unescape(found.group(1))


def _dashboard_fresh_through_the_other(stack: Stack) -> None:
    cc0 = "CC0 1.0（パブリック・ドメイン）"
    before = request(stack.b.base + DASHBOARD)
    assert before.status == 200
    assert cc0 not in before.body  # the default licence, now in server b's cache
    staff = {"sessionid": stack.session}
    page = request(stack.a.base + STAFF_PAGE, cookies=staff)
    assert page.status == 200, (page.status, page.location)
    token = page.cookies.get("csrftoken", "")
    assert token
    changed = request(
        stack.a.base + STAFF_PAGE,
        cookies={**staff, "csrftoken": token},
        form={"action": "licence", "licence": "CC0-1.0", "csrfmiddlewaretoken": _csrf(page)},
    )
    assert changed.status in {200, 302}, changed.body[:2000]
    assert cc0 in request(stack.a.base + DASHBOARD).body
    assert cc0 in request(stack.b.base + DASHBOARD).body


def _attachment_uploaded_through_one_downloaded_through_the_other(stack: Stack) -> str:
    """Upload and submit through server a, read the file as staff through server b; the
    receipt number of the application."""
    uploaded = request(
        stack.a.base + "/api/v1/kobe/uploads?procedure=teigaku-kyufukin&field=id_document",
        upload=("免許証.png", PNG),
    )
    assert uploaded.status == 201, uploaded.body
    file = json.loads(uploaded.body)
    answer = {key: file[key] for key in ("id", "content_type", "size", "name")}
    submitted = request(
        stack.a.base + "/api/v1/kobe/procedures/teigaku-kyufukin/applications",
        body={
            "answers": valid_answers(answer),
            "uploads": [{"id": file["id"], "token": file["token"]}],
        },
    )
    assert submitted.status == 201, submitted.body
    receipt = str(json.loads(submitted.body)["receipt_number"])
    # The file is in the shared folder only, not in either server's own data folder.
    stored = [path for path in stack.media.rglob("*") if path.is_file()]
    assert [path.read_bytes() for path in stored] == [PNG]
    for own in ("data-a", "data-b"):
        assert not (stack.folder / own / "media").exists()

    url = f"/kobe/staff/applications/{receipt}/files/{file['id']}/"
    downloaded = request(stack.b.base + url, cookies={"sessionid": stack.session})
    assert downloaded.status == 200, (downloaded.status, downloaded.location)
    assert downloaded.data == PNG
    return receipt


def test_two_app_servers_behind_haproxy(stack: Stack) -> None:
    _lookups_count_on_both(stack)
    _dashboard_fresh_through_the_other(stack)
    with_file = _attachment_uploaded_through_one_downloaded_through_the_other(stack)

    # The staff session, pinned by haproxy's cookie to server a.
    pinned = {"sessionid": stack.session, "SRV": "a"}
    assert request(stack.proxy + STAFF_PAGE, cookies=pinned).status == 200

    load = Load(stack.proxy + SUBMIT, jido_teate_answers, clients=3, retry_seconds=60)
    load.start()
    try:
        wait_for(
            lambda: sum(1 for a in list(load.attempts) if a.status == 201) >= 6,
            60,
            "submissions through haproxy",
        )
        killed_at = time.monotonic()
        _kill(stack.a)
        staff_after = request(stack.proxy + STAFF_PAGE, cookies=pinned)
        wait_for(
            lambda: (
                sum(1 for a in list(load.attempts) if a.started > killed_at and a.status == 201)
                >= 10
            ),
            90,
            "submissions after the kill",
        )
    finally:
        load.stop()

    # Signed in still: answered by server b from the shared session, not sent to sign in.
    assert staff_after.status == 200, (staff_after.status, staff_after.location)
    assert "SRV=b" in "; ".join(f"{k}={v}" for k, v in staff_after.cookies.items())
    assert stack.a.process.poll() is not None
    stored = set(stack.cluster.psql("SELECT receipt_number FROM procedures_application").split())
    assert with_file in stored
    assert_one_application_per_key(load, stored - {with_file})
    assert [a for a in load.attempts if a.started > killed_at and a.status == 201] != []
