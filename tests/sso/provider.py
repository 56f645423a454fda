"""A real OpenID provider (django-oauth-toolkit) on loopback, one per test process.

The provider is a separate Django project (``tests/oidc_provider``) with its own SQLite file
and a fresh RSA signing key, started with ``runserver`` on a free port and stopped at the end
of the session. Tests provision users and client applications through its ``/provision/``
endpoint, each with names of their own, so tests never see each other's accounts.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sso.flow import Provider

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the OpenID provider exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the OpenID provider did not answer in time:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    folder = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = folder / "signing-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    token = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "PYTHONPATH": str(ROOT),
        "OIDC_PROVIDER_DB": str(folder / "provider.sqlite3"),
        "OIDC_PROVIDER_KEY_FILE": str(key_file),
        "OIDC_PROVIDER_ISSUER": "http://127.0.0.1/o",  # the port is chosen below
        "OIDC_PROVIDER_TOKEN": token,
    }
    env.pop("MADOGUCHI_ENV", None)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    log = folder / "provider.log"
    for attempt in range(3):  # another process may take the free port before the server does
        base = f"http://127.0.0.1:{free_port()}"
        env["OIDC_PROVIDER_ISSUER"] = f"{base}/o"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "django", "runserver", "--noreload", base[7:]],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_serving(f"{base}/o/.well-known/openid-configuration", process, log)
        except RuntimeError:
            _stop(process)
            if attempt == 2:
                raise
            continue
        break
    try:
        yield Provider(base_url=base, issuer=f"{base}/o", token=token)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
