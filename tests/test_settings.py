"""Production settings: required variables, safe defaults, and a clean `check --deploy`."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
_INDEX_KEY = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
PRODUCTION_ENV = {
    "MADOGUCHI_ENV": "production",
    "MADOGUCHI_SECRET_KEY": "x7Qp2-Lr9_aZt4WvY1mNc8Kd3Hs6Fg0JbUe5Oi2RyTq7Xw9Vz4Pl1Mk8Nj3Hc6Gf",
    "MADOGUCHI_ALLOWED_HOSTS": "madoguchi.example.jp",
    "MADOGUCHI_FIELD_KEYS": f"2026a:{_KEY}",
    "MADOGUCHI_BLIND_INDEX_KEY": _INDEX_KEY,
    "MADOGUCHI_AUDIT_KEYS": f"2026a:{base64.urlsafe_b64encode(b'a' * 32).decode()}",
}
# The development keys published in settings.py.
_DEV_SECRET_KEY = "madoguchi-development-only-key-not-secret-0123456789abcdef"
_DEV_FIELD_KEY = "ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMzJiISE"
_DEV_BLIND_INDEX_KEY = "ZGV2ZWxvcG1lbnQtb25seS1ibGluZC1pbmRleC1rISE"
_ZERO_KEY = base64.urlsafe_b64encode(bytes(32)).decode()


def run_madoguchi(
    *args: str, env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    clean.pop("DATABASE_URL", None)
    clean.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    clean.update(env)
    clean["MADOGUCHI_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "madoguchi.cli", *args],
        env=clean,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_check_deploy_reports_nothing_in_production(tmp_path: Path) -> None:
    """With the required variables set, `madoguchi check --deploy` finds no issue."""
    result = run_madoguchi(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_names_every_missing_variable(tmp_path: Path) -> None:
    """Missing secrets stop the process with one message naming each of them."""
    result = run_madoguchi(
        "check",
        env={"MADOGUCHI_ENV": "production", "MADOGUCHI_ALLOWED_HOSTS": "x.jp"},
        tmp_path=tmp_path,
    )
    assert result.returncode != 0
    assert (
        "MADOGUCHI_ENV=production needs these variables set: MADOGUCHI_SECRET_KEY, "
        "MADOGUCHI_FIELD_KEYS, MADOGUCHI_BLIND_INDEX_KEY (see docs/configuration.md)"
    ) in result.stderr


def test_production_refuses_debug(tmp_path: Path) -> None:
    result = run_madoguchi(
        "check", env={**PRODUCTION_ENV, "MADOGUCHI_DEBUG": "1"}, tmp_path=tmp_path
    )
    assert result.returncode != 0
    assert "MADOGUCHI_DEBUG must not be on when MADOGUCHI_ENV=production" in result.stderr


def test_malformed_key_is_named(tmp_path: Path) -> None:
    """A field key of the wrong length is reported with the variable's name, before any use."""
    short = base64.urlsafe_b64encode(b"short").decode()
    result = run_madoguchi(
        "check", env={**PRODUCTION_ENV, "MADOGUCHI_FIELD_KEYS": f"a:{short}"}, tmp_path=tmp_path
    )
    assert result.returncode != 0
    assert "MADOGUCHI_FIELD_KEYS / MADOGUCHI_BLIND_INDEX_KEY: key 'a': must decode to 32 bytes" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"MADOGUCHI_SECRET_KEY": _DEV_SECRET_KEY},
            "MADOGUCHI_SECRET_KEY is the public development key",
        ),
        (
            {"MADOGUCHI_FIELD_KEYS": f"2026a:{_KEY},dev:{_DEV_FIELD_KEY}"},
            "MADOGUCHI_FIELD_KEYS: key 'dev' is a public development key",
        ),
        (
            {"MADOGUCHI_BLIND_INDEX_KEY": _DEV_BLIND_INDEX_KEY},
            "MADOGUCHI_BLIND_INDEX_KEY is a public development key",
        ),
        ({"MADOGUCHI_ALLOWED_HOSTS": "*"}, "MADOGUCHI_ALLOWED_HOSTS must name the site's hosts"),
        (
            {"MADOGUCHI_ALLOWED_HOSTS": "madoguchi.example.jp, *"},
            "MADOGUCHI_ALLOWED_HOSTS must name the site's hosts",
        ),
        (
            {"MADOGUCHI_FIELD_KEYS": f"zero:{_ZERO_KEY}"},
            "MADOGUCHI_FIELD_KEYS: key 'zero' is not random",
        ),
        ({"MADOGUCHI_BLIND_INDEX_KEY": _ZERO_KEY}, "MADOGUCHI_BLIND_INDEX_KEY is not random"),
        (
            {"MADOGUCHI_BLIND_INDEX_KEY": _KEY},
            "MADOGUCHI_BLIND_INDEX_KEY must differ from every key of MADOGUCHI_FIELD_KEYS",
        ),
    ],
)
def test_production_refuses_published_weak_or_shared_keys(
    tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    """Each unsafe value stops the process with a message naming the variable."""
    result = run_madoguchi("check", env={**PRODUCTION_ENV, **changes}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_development_still_runs_on_the_published_keys(tmp_path: Path) -> None:
    result = run_madoguchi("check", env={"MADOGUCHI_ENV": "development"}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    result = run_madoguchi("check", env={"MADOGUCHI_ENV": "staging"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "MADOGUCHI_ENV must be development, production or test, got 'staging'" in result.stderr


def test_production_secure_defaults(tmp_path: Path) -> None:
    """Production turns on secure cookies, HSTS and the SSL redirect without being asked."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.DEBUG, s.EMAIL_BACKEND)"
    )
    result = run_madoguchi("shell", "-c", code, env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True",
        "True",
        "True",
        "31536000",
        "False",
        "django.core.mail.backends.smtp.EmailBackend",
    ]


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions() -> None:
    """SQLite is set up for concurrent writers (WAL, busy timeout, BEGIN IMMEDIATE)."""
    if connection.vendor != "sqlite":
        pytest.skip("this test is about the SQLite settings; the suite is running on PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20000
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.django_db
def test_postgresql_is_reached_through_database_url() -> None:
    """When DATABASE_URL names PostgreSQL, the suite really runs on it (psycopg 3)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("DATABASE_URL does not point at PostgreSQL in this run")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 150000


@pytest.mark.parametrize(("pooling", "expected"), [("1", "True 0"), ("0", "False 60")])
def test_transaction_pooling_disables_server_side_cursors(
    tmp_path: Path, pooling: str, expected: str
) -> None:
    """Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator) could be
    fetched on another server connection than the one that declared it; the setting turns
    them off and closes connections after each request."""
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        " print(d.get('DISABLE_SERVER_SIDE_CURSORS', False), d['CONN_MAX_AGE'])"
    )
    env = {
        "DATABASE_URL": "postgres://madoguchi@127.0.0.1:6432/madoguchi",
        "MADOGUCHI_DB_TRANSACTION_POOLING": pooling,
    }
    result = run_madoguchi("shell", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_media_root_moves_uploads_to_a_shared_folder(tmp_path: Path) -> None:
    """MADOGUCHI_MEDIA_ROOT (a folder every app server mounts) is where the file storage
    writes; without it, uploads stay in MADOGUCHI_DATA_DIR/media."""
    code = (
        "from django.core.files.storage import storages; s = storages['default'];"
        " print(type(s).__name__, s.location)"
    )
    shared = tmp_path / "nfs" / "madoguchi"
    moved = run_madoguchi(
        "shell", "-c", code, env={"MADOGUCHI_MEDIA_ROOT": str(shared)}, tmp_path=tmp_path
    )
    default = run_madoguchi("shell", "-c", code, env={}, tmp_path=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip().splitlines()[-1] == f"PrivateFileSystemStorage {shared}"
    assert default.stdout.strip().splitlines()[-1] == (
        f"PrivateFileSystemStorage {tmp_path.resolve() / 'media'}"
    )


def test_s3_file_storage_is_configured_from_its_variables(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s; d = s.STORAGES['default'];"
        " o = d['OPTIONS']; print(d['BACKEND'], o['bucket_name'], o['location'],"
        " o['endpoint_url'], o['region_name'], o['access_key'], o['file_overwrite'])"
    )
    env = {
        "MADOGUCHI_FILE_STORAGE": "s3",
        "MADOGUCHI_S3_BUCKET": "kobe-uploads",
        "MADOGUCHI_S3_PREFIX": "madoguchi",
        "MADOGUCHI_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "MADOGUCHI_S3_REGION": "ap-northeast-1",
        "MADOGUCHI_S3_ACCESS_KEY_ID": "id",
        "MADOGUCHI_S3_SECRET_ACCESS_KEY": "secret",
    }
    result = run_madoguchi("shell", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "storages.backends.s3.S3Storage kobe-uploads madoguchi http://127.0.0.1:9000"
        " ap-northeast-1 id False"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MADOGUCHI_FILE_STORAGE": "s3"}, "MADOGUCHI_FILE_STORAGE=s3 needs MADOGUCHI_S3_BUCKET"),
        ({"MADOGUCHI_FILE_STORAGE": "nfs"}, "MADOGUCHI_FILE_STORAGE must be filesystem or s3"),
    ],
)
def test_a_file_storage_setting_that_cannot_work_is_refused(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run_madoguchi("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
