"""``madoguchi task_worker``: django-tasks-db's ``db_worker`` that also takes back lost tasks.

At start, and then every ``TASK_LEASE_SECONDS / 4`` (at most a minute), tasks left RUNNING
for longer than the lease by a worker that died are put back in the queue (see
``madoguchi.core.taskrecovery``), and every MADOGUCHI_AUDIT_SEAL_INTERVAL seconds audit entries
whose writer died between its commit and the seal are sealed into their chain
(``madoguchi.audit.sealing``). Options are those of ``db_worker``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django_tasks_db.management.commands import db_worker

from madoguchi.core.taskrecovery import tasks_requeue_stale

logger = logging.getLogger(__name__)


def _requeue_stale_once() -> None:
    try:
        tasks_requeue_stale()
    except DatabaseError:
        logger.warning("could not look for lost tasks (database unavailable)", exc_info=True)
    finally:
        connection.close()


def _requeue_stale_forever(stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        _requeue_stale_once()


def audit_seal_sweep() -> int:
    """Seal the audit entries left unsealed (the safety net for a writer lost after commit)."""
    from madoguchi.audit.sealing import audit_seal_all

    try:
        return audit_seal_all()
    except DatabaseError:
        logger.warning("could not seal audit entries (database unavailable)", exc_info=True)
        return 0
    finally:
        connection.close()


def _audit_seal_forever(stop: threading.Event, every: float) -> None:
    audit_seal_sweep()
    while not stop.wait(every):
        audit_seal_sweep()


class Command(db_worker.Command):
    help = "Run background tasks; tasks lost by a dead worker are run again."

    def handle(self, *args: Any, **options: Any) -> None:
        _requeue_stale_once()
        every = max(1.0, min(60.0, settings.TASK_LEASE_SECONDS / 4))
        stop = threading.Event()
        reaper = threading.Thread(
            target=_requeue_stale_forever, args=(stop, every), name="lost-tasks", daemon=True
        )
        reaper.start()
        sealer = threading.Thread(
            target=_audit_seal_forever,
            args=(stop, max(1, settings.AUDIT_SEAL_INTERVAL)),
            name="audit-sealer",
            daemon=True,
        )
        sealer.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
