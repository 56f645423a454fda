"""Background tasks of reservations: the day-before reminder (django-tasks, database queue)."""

from __future__ import annotations

import datetime
from functools import partial

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from madoguchi.core.once import effect_once
from madoguchi.reservations import linenotify, notify, selectors
from madoguchi.reservations.line import line_drafts_purge
from madoguchi.reservations.models import Booking


def reminders_due(*, day: datetime.date) -> int:
    """Remind every live booking of ``day`` not reminded yet: on LINE when it was booked there,
    else by e-mail when it has an address.

    Each booking is sent once (``effect_once``; on LINE also one X-Line-Retry-Key per booking),
    even when the task runs again. Returns the number of messages sent.
    """
    sent = 0
    for booking in selectors.bookings_to_remind(day=day):
        effect = (
            partial(linenotify.send_reminder_line, booking=booking)
            if booking.line_user_key
            else partial(notify.send_reminder, booking=booking)
        )
        done = effect_once(f"reservations.reminder:{booking.pk}:{booking.slot_id}", effect)
        if done:
            Booking.objects.filter(pk=booking.pk).update(reminded_at=timezone.now())
            sent += 1
    return sent


@task()
def send_reminders(*, day: str = "", attempt: int = 1) -> int:
    """The day-before reminders for ``day`` (ISO date; default: tomorrow, Japan time).

    When some could not be sent (mail server or LINE down), the task runs again for the same
    day after messaging's backoff (``MESSAGING_RETRY_BASE_SECONDS`` doubling), at most
    ``MESSAGING_MAX_ATTEMPTS`` times.
    """
    target = (
        datetime.date.fromisoformat(day)
        if day
        else timezone.localdate() + datetime.timedelta(days=1)
    )
    line_drafts_purge()  # daily: the answers of bookings on LINE that were never finished
    sent = reminders_due(day=target)
    retry = (
        attempt < settings.MESSAGING_MAX_ATTEMPTS
        and send_reminders.get_backend().supports_defer
        and selectors.bookings_to_remind(day=target).exists()
    )
    if retry:
        wait = min(float(settings.MESSAGING_RETRY_BASE_SECONDS) * 2 ** (attempt - 1), 3600.0)
        send_reminders.using(run_after=timezone.now() + datetime.timedelta(seconds=wait)).enqueue(
            day=target.isoformat(), attempt=attempt + 1
        )
    return sent
