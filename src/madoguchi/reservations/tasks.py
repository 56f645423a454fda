"""Background tasks of reservations: the day-before reminder (django-tasks, database queue)."""

from __future__ import annotations

import datetime
from functools import partial

from django.utils import timezone
from django_tasks import task

from madoguchi.core.once import effect_once
from madoguchi.reservations import notify, selectors
from madoguchi.reservations.models import Booking


def reminders_due(*, day: datetime.date) -> int:
    """E-mail every live booking of ``day`` that has an address and was not reminded yet.

    Each booking is sent once (``effect_once``), even when the task runs again. Returns the
    number of messages sent.
    """
    sent = 0
    for booking in selectors.bookings_to_remind(day=day):
        done = effect_once(
            f"reservations.reminder:{booking.pk}:{booking.slot_id}",
            partial(notify.send_reminder, booking=booking),
        )
        if done:
            Booking.objects.filter(pk=booking.pk).update(reminded_at=timezone.now())
            sent += 1
    return sent


@task()
def send_reminders(*, day: str = "") -> int:
    """The day-before reminders for ``day`` (ISO date; default: tomorrow, Japan time)."""
    target = (
        datetime.date.fromisoformat(day)
        if day
        else timezone.localdate() + datetime.timedelta(days=1)
    )
    return reminders_due(day=target)
