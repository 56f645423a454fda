"""Background tasks of messaging (django-tasks, database queue)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_dispatch(*, send_id: int) -> str:
    """Make a due send's deliveries (or hold it over quiet hours); returns what happened."""
    from madoguchi.messaging.delivery import send_dispatch as dispatch

    return dispatch(send_id=send_id)


@task()
def send_deliver(*, send_id: int) -> int:
    """Deliver a send's due batches; returns how many batches this run handled."""
    from madoguchi.messaging.delivery import send_drain

    return send_drain(send_id=send_id)


@task()
def subscription_mail(*, subscriber_id: int, kind: str) -> bool:
    """Mail the confirmation link (double opt-in) or the link to the page of choices."""
    from madoguchi.messaging.mails import subscription_mail_send

    return subscription_mail_send(subscriber_id=subscriber_id, kind=kind)


@task()
def notice_deliver(*, notice_id: int) -> bool:
    """Retry a notice (receipt, alert, reminder …) whose earlier attempt failed."""
    from madoguchi.messaging.notices import notice_deliver as deliver

    return deliver(notice_id=notice_id).sent


@task()
def notices_sweep() -> int:
    """Send every notice whose retry is due; returns how many went out."""
    from madoguchi.messaging.notices import notices_deliver_due

    return notices_deliver_due()
