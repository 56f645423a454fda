"""Tasks left RUNNING by a dead worker are run again, at most TASK_MAX_ATTEMPTS times; an
effect guarded by ``effect_once`` happens once however often its task runs."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from madoguchi.core.models import EffectOnce
from madoguchi.core.once import effect_once
from madoguchi.core.taskrecovery import tasks_requeue_lost, tasks_requeue_stale
from madoguchi.procedures.tasks import notify_state_change


def running(worker_ids: list[str], started_seconds_ago: float) -> DBTaskResult:
    result = notify_state_change.enqueue(application_id=1, state_change_id=1)
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING,
        worker_ids=worker_ids,
        started_at=timezone.now() - datetime.timedelta(seconds=started_seconds_ago),
    )
    return DBTaskResult.objects.get(pk=result.id)


def status_of(task: DBTaskResult) -> str:
    task.refresh_from_db()
    return str(task.status)


@pytest.mark.django_db
def test_tasks_running_past_the_lease_go_back_to_the_queue(settings: Any) -> None:
    settings.TASK_LEASE_SECONDS = 900
    stale = running(["w1"], 901)
    fresh = running(["w2"], 10)

    assert tasks_requeue_stale() == 1

    assert status_of(stale) == TaskResultStatus.READY
    assert status_of(fresh) == TaskResultStatus.RUNNING
    assert DBTaskResult.objects.ready().get().pk == stale.pk


@pytest.mark.django_db
def test_the_tasks_of_a_dead_worker_go_back_at_once() -> None:
    mine = running(["w1", "dead"], 1)
    earlier = running(["dead", "w3"], 1)  # the dead worker ran it before; w3 runs it now
    other = running(["w2"], 1)

    assert tasks_requeue_lost(worker_id="dead") == 1

    assert status_of(mine) == TaskResultStatus.READY
    assert status_of(earlier) == TaskResultStatus.RUNNING
    assert status_of(other) == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_task_that_lost_its_worker_too_often_is_failed_not_retried(settings: Any) -> None:
    settings.TASK_MAX_ATTEMPTS = 3
    poison = running(["w1", "w2", "w3"], 1)

    assert tasks_requeue_lost(worker_id="w3") == 1

    poison.refresh_from_db()
    assert poison.status == TaskResultStatus.FAILED
    assert poison.exception_class_path == "madoguchi.core.taskrecovery.WorkerLost"
    assert poison.traceback == (
        "The worker running this task stopped 3 times (worker ids w1, w2, w3); not tried again."
    )
    assert poison.finished_at is not None
    assert not DBTaskResult.objects.ready().exists()


@pytest.mark.django_db
def test_an_effect_runs_once_under_its_key() -> None:
    calls: list[str] = []

    def send() -> bool:
        calls.append("sent")
        return True

    assert effect_once("mail:1", send) is True
    assert effect_once("mail:1", send) is None
    assert effect_once("mail:2", send) is True

    assert calls == ["sent", "sent"]
    assert sorted(EffectOnce.objects.values_list("key", flat=True)) == ["mail:1", "mail:2"]


@pytest.mark.django_db
def test_a_failed_effect_may_be_tried_again() -> None:
    outcomes = iter([False, True])
    calls: list[bool] = []

    def send() -> bool:
        calls.append(True)
        return next(outcomes)

    assert effect_once("mail:1", send) is False
    assert effect_once("mail:1", send) is True
    assert effect_once("mail:1", send) is None
    assert len(calls) == 2
