"""PostgreSQL stopped for 10 s under load: every answer meanwhile is a quick 503 (pages and
API), none a 500 or a hang, and the same server processes recover once it is back.

The test runs its own PostgreSQL cluster on a free loopback port (initdb as the ``postgres``
user, as .ci/run does), filled with a copy of the suite's test database, so that stopping it
disturbs no other test. It runs when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tests.core.serving import (
    Load,
    assert_one_application_per_key,
    free_port,
    get,
    serve,
    server_env,
    wait_for,
)
from tests.core.test_serve_faults import SUBMIT, jido_teate_answers
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import publish_catalogue

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 10


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@dataclass
class Cluster:
    bin: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *argv], check=True, capture_output=True, text=True, timeout=60, **kwargs
        )

    def start(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off",
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"
        )

    def psql(self, sql: str) -> str:
        return self._as_postgres(
            str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-d", "postgres", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql,
        ).stdout  # fmt: skip


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if connection.vendor != "postgresql":
        pytest.skip("runs when the suite runs on PostgreSQL (DATABASE_URL=postgres://...)")
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries are not installed (.ci/run installs them)")
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-pg-outage-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    made = Cluster(pg_bin, folder, free_port())
    made._as_postgres(
        str(pg_bin / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "--auth=trust",
        "-E", "UTF8", "--locale=C.UTF-8",
    )  # fmt: skip
    made.start()
    try:
        yield made
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            made.stop()
        shutil.rmtree(folder, ignore_errors=True)


def copy_suite_database(target: Cluster) -> None:
    """The suite's test database (schema and the rows this test made) into ``target``."""
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(db["PASSWORD"] or "")}
    dump = subprocess.run(
        [
            str(target.bin / "pg_dump"), "-h", str(db["HOST"] or "127.0.0.1"),
            "-p", str(db["PORT"] or 5432), "-U", str(db["USER"] or "postgres"),
            "-d", str(db["NAME"]), "--no-owner", "--no-privileges",
        ],
        check=True, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    subprocess.run(
        [
            str(target.bin / "psql"), "-h", "127.0.0.1", "-p", str(target.port), "-U", "postgres",
            "-d", "postgres", "-q", "-v", "ON_ERROR_STOP=1",
        ],
        input=dump.stdout, check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@dataclass
class Probe:
    at: float
    status: int
    elapsed: float


def poll(url: str, stop: threading.Event, probes: list[Probe]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        status, _body = get(url, timeout=10)
        probes.append(Probe(started, status, time.monotonic() - started))
        time.sleep(0.1)


def test_postgresql_stopped_for_ten_seconds_under_load(
    tenant_a: Tenant, cluster: Cluster, tmp_path: Path
) -> None:
    publish_catalogue(tenant_a.municipality, "jido-teate", "welfare")
    copy_suite_database(cluster)
    env = server_env(cluster.url, tmp_path)
    with serve(env, tmp_path / "serve.log") as server:
        load = Load(server.base + SUBMIT, jido_teate_answers, clients=3, retry_seconds=60)
        probes: list[Probe] = []
        stop_probes = threading.Event()
        prober = threading.Thread(
            target=poll, args=(server.base + "/kobe/", stop_probes, probes), daemon=True
        )
        load.start()
        prober.start()
        time.sleep(2)
        cluster.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        # Taken before the start: a request answered while pg_ctl waits for the server to come
        # up may already be served, and belongs after the outage.
        up_at = time.monotonic()
        cluster.start()
        wait_for(
            lambda: any(p.at > up_at and p.status == 200 for p in probes),
            20,
            "the pages to answer again",
        )
        recovered_at = min(p.at for p in probes if p.at > up_at and p.status == 200)
        # On a loaded machine the first submissions after recovery may take a while: wait for
        # one to be stored rather than for a fixed time.
        wait_for(
            lambda: any(a.started > recovered_at and a.status == 201 for a in load.attempts),
            30,
            "a submission stored after recovery",
        )
        load.stop()
        stop_probes.set()
        prober.join(15)
        log = server.log_text()

    # Answered while PostgreSQL was down (a request queued meanwhile may be served after).
    during = [p for p in probes if down_at + 0.5 < p.at and p.at + p.elapsed < up_at]
    assert len(during) >= 20
    assert {p.status for p in during} == {503}
    assert max(p.elapsed for p in during) < 5.0, "a 503 must come fast, not after a timeout"
    outage_submissions = [
        a for a in load.attempts if down_at + 0.5 < a.started and a.started + a.elapsed < up_at
    ]
    assert outage_submissions != []
    assert {a.status for a in outage_submissions} == {503}
    assert {a.status for a in load.attempts} <= {200, 201, 503}  # no 500, no dropped request
    assert recovered_at - up_at < 15
    assert [a for a in load.attempts if a.started > recovered_at and a.status == 201] != []
    assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:4000]
    assert "database unavailable" in log
    stored = set(cluster.psql("SELECT receipt_number FROM procedures_application").split())
    assert_one_application_per_key(load, stored)
