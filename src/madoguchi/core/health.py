"""What ``/readyz`` checks: can this server do its work right now?

Each check returns ``""`` when all is well, or a short English reason for the operator. They
are cheap: one rolled-back write, a cached look at the migrations, a stat of the data folder
and of the file storage's folder, and one indexed query on the task queue.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from madoguchi.core.models import RateLimitCounter
from madoguchi.core.readonly import read_only_active
from madoguchi.core.storage import file_storage

__all__ = ["CHECKS", "readiness"]

# How long a failed migrations check is remembered; a passing one holds for the process.
_MIGRATIONS_RECHECK_SECONDS = 10.0
_migrations_ok = False
_migrations_checked_at = -_MIGRATIONS_RECHECK_SECONDS
_migrations_reason = ""


class _Rollback(Exception):  # noqa: N818 - a control-flow signal, not an error
    pass


def check_database() -> str:
    """The database answers and accepts a write (made, then rolled back)."""
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        # An open connection keeps using a file that was moved away; the next one would fail.
        in_memory = name == ":memory:" or "mode=memory" in name
        if not in_memory and not Path(name).is_file():
            return f"the database file {name} is missing"
    if read_only_active():
        # Writes are refused on purpose in read-only mode: a read proves the database answers.
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError as exc:
            return f"database unavailable: {type(exc).__name__}: {exc}".strip()
        return ""
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                # Wait for the write lock a little, not the 20 s a request may wait.
                cursor.execute("PRAGMA busy_timeout = 2000")
        try:
            with transaction.atomic():
                RateLimitCounter.objects.create(key="readyz", window=-1, count=0)
                raise _Rollback
        except _Rollback:
            pass
        finally:
            if connection.vendor == "sqlite" and connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 20000")
    except DatabaseError as exc:
        return f"database unavailable: {type(exc).__name__}: {exc}".strip()
    return ""


def check_migrations() -> str:
    """No migration of the code is missing from the database (cached)."""
    global _migrations_ok, _migrations_checked_at, _migrations_reason
    if _migrations_ok:
        return ""
    now = time.monotonic()
    if now - _migrations_checked_at < _MIGRATIONS_RECHECK_SECONDS:
        return _migrations_reason
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return f"cannot read the migrations: {type(exc).__name__}"
    _migrations_checked_at = now
    _migrations_ok = not plan
    _migrations_reason = (
        "" if not plan else f"{len(plan)} migration(s) not applied (run `madoguchi migrate`)"
    )
    return _migrations_reason


def check_data_folder() -> str:
    """The data folder (uploads, SQLite) exists and can be written."""
    data_dir = Path(settings.DATA_DIR)
    if not data_dir.is_dir():
        return f"the data folder {data_dir} is missing"
    if not os.access(data_dir, os.W_OK | os.X_OK):
        return f"the data folder {data_dir} is not writable"
    return ""


def check_file_storage() -> str:
    """A folder of uploaded files is a writable folder; a folder set in MADOGUCHI_MEDIA_ROOT
    (a shared mount, with several servers) must exist, so that a server whose share is not
    mounted takes no traffic instead of storing files on its own disk. A bucket is not probed.
    """
    storage = file_storage()
    if not isinstance(storage, FileSystemStorage):
        return ""
    folder = Path(storage.location)
    if not folder.exists():
        if settings.MEDIA_ROOT_SET:
            return f"the file storage folder {folder} is missing (is the shared folder mounted?)"
        return ""  # the default folder is created by the first upload
    if not folder.is_dir():
        return f"the file storage folder {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the file storage folder {folder} is not writable"
    return ""


def check_task_queue() -> str:
    """The oldest task waiting to run is younger than READYZ_MAX_TASK_AGE_SECONDS."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return ""
    from django_tasks_db.models import DBTaskResult

    try:
        oldest = (
            DBTaskResult.objects.ready()
            .order_by("enqueued_at")
            .values_list("enqueued_at", flat=True)
            .first()
        )
    except DatabaseError as exc:
        return f"cannot read the task queue: {type(exc).__name__}"
    if oldest is None:
        return ""
    age = timezone.now() - oldest
    if age > datetime.timedelta(seconds=settings.READYZ_MAX_TASK_AGE_SECONDS):
        waited = int(age.total_seconds())
        return f"the oldest queued task has waited {waited} s (is a task worker running?)"
    return ""


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "data_folder": check_data_folder,
    "file_storage": check_file_storage,
    "task_queue": check_task_queue,
}


def readiness() -> dict[str, str]:
    """Every check's result by name: ``"ok"`` or the reason it fails.

    Once the database check fails the checks that need it are not run (they would only
    repeat its reason after waiting for it).
    """
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        if name in {"migrations", "task_queue"} and results.get("database", "ok") != "ok":
            results[name] = "not checked (database unavailable)"
            continue
        results[name] = check() or "ok"
    return results
