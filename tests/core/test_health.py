"""``/healthz`` says the process answers (no database); ``/readyz`` checks what serving needs."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from madoguchi.core import health
from madoguchi.procedures.tasks import notify_state_change
from madoguchi.tenants.models import RESERVED_SLUGS
from tests.core.test_dbfailure import database_unreachable

ALL_OK = {
    "database": "ok",
    "migrations": "ok",
    "data_folder": "ok",
    "file_storage": "ok",
    "task_queue": "ok",
}


@pytest.fixture(autouse=True)
def _forget_the_migrations_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "_migrations_ok", False)
    monkeypatch.setattr(health, "_migrations_checked_at", -100.0)


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(
    client: Client, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db(transaction=True)
def test_healthz_stays_ok_while_the_database_is_unreachable(tmp_path: Path) -> None:
    client = Client()
    with database_unreachable(tmp_path):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503


@pytest.mark.django_db
def test_readyz_is_ok_when_everything_is(client: Client, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failing": [], "checks": ALL_OK}


@pytest.mark.django_db
def test_readyz_stays_ready_in_read_only_mode(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    """Read-only mode refuses writes on purpose; the servers must stay in the load balancer."""
    settings.DATA_DIR = tmp_path
    call_command("readonly", "on")
    try:
        response = client.get("/readyz")
    finally:
        call_command("readonly", "off")

    assert response.status_code == 200
    assert response.json()["checks"] == ALL_OK


@pytest.mark.django_db
def test_readyz_leaves_nothing_behind(client: Client) -> None:
    from madoguchi.core.models import RateLimitCounter

    client.get("/readyz")

    assert not RateLimitCounter.objects.filter(key="readyz").exists()


@pytest.mark.django_db
def test_readyz_fails_on_a_missing_data_folder(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path / "gone"
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["data_folder"]
    assert response.json()["checks"]["data_folder"] == f"the data folder {tmp_path}/gone is missing"


@pytest.mark.django_db
def test_readyz_fails_while_a_configured_shared_folder_is_missing(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    """MADOGUCHI_MEDIA_ROOT set and not there (the share not mounted): no traffic, rather than
    uploads stored on this server's own disk where the other servers cannot read them."""
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "share" / "media"
    settings.MEDIA_ROOT_SET = True
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["file_storage"]
    assert response.json()["checks"]["file_storage"] == (
        f"the file storage folder {tmp_path}/share/media is missing (is the shared folder mounted?)"
    )
    assert not (tmp_path / "share").exists()


@pytest.mark.django_db
def test_readyz_is_ok_before_the_default_media_folder_exists(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT_SET = False
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["file_storage"] == "ok"


@pytest.mark.django_db
def test_readyz_fails_when_the_media_folder_is_a_file(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    (tmp_path / "media").write_bytes(b"")
    settings.MEDIA_ROOT = tmp_path / "media"
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["file_storage"]


@pytest.mark.django_db
def test_readyz_fails_on_unapplied_migrations(client: Client, tmp_path: Path) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = %s AND name = %s",
            ["core", "0002_effect_once"],
        )
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["migrations"]
    assert response.json()["checks"]["migrations"] == (
        "1 migration(s) not applied (run `madoguchi migrate`)"
    )


@pytest.mark.django_db
def test_readyz_fails_when_the_oldest_queued_task_waited_too_long(
    client: Client, settings: Any
) -> None:
    settings.READYZ_MAX_TASK_AGE_SECONDS = 600
    result = notify_state_change.enqueue(application_id=1, state_change_id=1)
    assert client.get("/readyz").status_code == 200  # just queued

    DBTaskResult.objects.filter(pk=result.id).update(
        enqueued_at=timezone.now() - datetime.timedelta(seconds=700)
    )
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["task_queue"]
    assert response.json()["checks"]["task_queue"].startswith(
        "the oldest queued task has waited 70"
    )


@pytest.mark.django_db
def test_a_passing_migrations_check_is_not_repeated(client: Client) -> None:
    assert health.check_migrations() == ""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE name = %s", ["0002_effect_once"])

    assert health.check_migrations() == ""  # remembered for the process


def test_readyz_is_a_reserved_slug() -> None:
    assert {"healthz", "readyz"} <= RESERVED_SLUGS
