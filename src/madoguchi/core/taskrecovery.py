"""Tasks whose worker died: put them back in the queue, or give up after a few tries.

django-tasks-db marks a task RUNNING when a worker claims it and never looks at it again; a
worker killed mid-task (OOM, ``kill -9``, a machine lost) leaves it RUNNING for ever. A task
is taken back when the worker that ran it is known to be dead (``madoguchi serve`` knows its
own workers), or when it has been running longer than ``TASK_LEASE_SECONDS`` (``madoguchi
task_worker`` looks every minute or so). After ``TASK_MAX_ATTEMPTS`` claims it is marked
FAILED instead, so that a task that kills its worker cannot do so for ever.

A task can therefore run twice: one whose effect must happen once (an e-mail) guards it
itself, see ``madoguchi.core.once``.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

__all__ = ["tasks_requeue_lost", "tasks_requeue_stale"]

logger = logging.getLogger(__name__)

LOST = "madoguchi.core.taskrecovery.WorkerLost"


def _take_back(results: list[DBTaskResult[..., Any]]) -> int:
    now = timezone.now()
    taken = 0
    for result in results:
        if len(result.worker_ids) >= settings.TASK_MAX_ATTEMPTS:
            result.status = TaskResultStatus.FAILED
            result.finished_at = now
            result.exception_class_path = LOST
            result.traceback = (
                f"The worker running this task stopped {len(result.worker_ids)} times"
                f" (worker ids {', '.join(map(str, result.worker_ids))}); not tried again."
            )
            result.save(
                update_fields=["status", "finished_at", "exception_class_path", "traceback"]
            )
            logger.error("task %s (%s) given up: its worker died", result.id, result.task_path)
        else:
            result.status = TaskResultStatus.READY
            result.save(update_fields=["status"])
            logger.warning(
                "task %s (%s) put back in the queue: its worker died", result.id, result.task_path
            )
        taken += 1
    return taken


def tasks_requeue_lost(*, worker_id: str) -> int:
    """Take back the tasks that the (dead) worker ``worker_id`` was running; how many."""
    with transaction.atomic():
        running = [
            result
            for result in DBTaskResult.objects.running().select_for_update()
            if result.worker_ids and result.worker_ids[-1] == worker_id
        ]
        return _take_back(running)


def tasks_requeue_stale(*, now: datetime.datetime | None = None) -> int:
    """Take back the tasks running for longer than the lease; how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=settings.TASK_LEASE_SECONDS)
    with transaction.atomic():
        stale = list(
            DBTaskResult.objects.running().filter(started_at__lt=cutoff).select_for_update()
        )
        return _take_back(stale)
