"""Nothing but ``madoguchi migrate`` (and the test database setup) creates the SQLite file.

A server or worker started, or respawned, after the file was moved away used to create an
empty database and answer 500s from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from madoguchi.core.dbbackends.sqlite3.base import creation_allowed

ROOT = Path(__file__).resolve().parents[2]


def sqlite_connection(path: Path) -> ConnectionHandler:
    return ConnectionHandler(
        {
            "default": {
                "ENGINE": "madoguchi.core.dbbackends.sqlite3",
                "NAME": str(path),
                "OPTIONS": {"timeout": 1},
            }
        }
    )


@pytest.fixture
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    """These tests open their own connections to files of their own, not the test database."""
    with django_db_blocker.unblock():
        yield


@pytest.mark.usefixtures("unblocked")
def test_connecting_to_a_missing_file_fails_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "madoguchi.sqlite3"
    handler = sqlite_connection(path)

    with pytest.raises(OperationalError, match="unable to open database file"):
        handler["default"].ensure_connection()

    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("unblocked")
def test_an_existing_file_opens_for_reading_and_writing(tmp_path: Path) -> None:
    path = tmp_path / "a b%3F.sqlite3"  # characters a file: URI must escape
    with creation_allowed():
        creator = sqlite_connection(path)["default"]
        with creator.cursor() as cursor:
            cursor.execute("CREATE TABLE t (x int)")
        creator.close()
    connection = sqlite_connection(path)["default"]

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
        cursor.execute("SELECT x FROM t")
        assert cursor.fetchall() == [(1,)]
    connection.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a b%3F.sqlite3"]


def _madoguchi(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MADOGUCHI_ENV": "development",
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_CONSULTATION_EMBEDDER": "none",
    }
    env.pop("DATABASE_URL", None)
    env.pop("PYTEST_VERSION", None)
    return subprocess.run(
        [sys.executable, "-m", "madoguchi.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_only_migrate_creates_the_database_file(tmp_path: Path) -> None:
    """A task worker with the file gone fails loudly; migrate creates the file."""
    database = tmp_path / "madoguchi.sqlite3"

    worker = _madoguchi(tmp_path, "task_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert worker.returncode != 0
    assert "unable to open database file" in worker.stderr
    assert not database.exists()

    migrate = _madoguchi(tmp_path, "migrate", "--noinput", "-v", "0")
    assert migrate.returncode == 0, migrate.stderr
    assert database.is_file()
    worker = _madoguchi(tmp_path, "task_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert worker.returncode == 0, worker.stderr
