"""Background tasks of the consultation assistant (django-tasks, database queue)."""

from __future__ import annotations

from django_tasks import task

from madoguchi.consultation.notify import staff_mail_send


@task()
def notify_staff(*, conversation_id: str, kind: str) -> int:
    """E-mail the department's staff that a conversation waits for them (no message text).

    Returns how many mails went out (0 when there was nobody to tell or the server refused);
    the worker records it.
    """
    return staff_mail_send(conversation_id=conversation_id, kind=kind)


@task()
def rebuild_index(*, build_id: int) -> str:
    """Rebuild a municipality's FAQ index, recording progress (see index_builds.py).

    Returns the build's final state; the worker records it.
    """
    from madoguchi.consultation.index_builds import index_build_run

    build = index_build_run(build_id=build_id)
    return build.state if build is not None else "skipped"
