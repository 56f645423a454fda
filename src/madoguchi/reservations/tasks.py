"""Background tasks of reservations: the day-before reminder (django-tasks, database queue)."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_tasks import task

from madoguchi.reservations import notify, selectors
from madoguchi.reservations.line import line_drafts_purge
from madoguchi.reservations.models import Booking


def reminders_due(*, day: datetime.date) -> int:
    """Remind every live booking of ``day`` not reminded yet: on LINE when it was booked there,
    else by e-mail when it has an address.

    Each reminder is a messaging notice, made once per booking and slot (running again makes
    none), tried at once and retried by messaging with backoff until the mail server or LINE
    takes it. Returns the number of reminders handed over.
    """
    handed = 0
    for booking in selectors.bookings_to_remind(day=day):
        if booking.line_user_key:
            logged = notify.send_reminder_line(booking=booking)
        else:
            logged = notify.send_reminder(booking=booking)
        if logged:
            Booking.objects.filter(pk=booking.pk).update(reminded_at=timezone.now())
            handed += 1
    return handed


@task()
def send_reminders(*, day: str = "") -> int:
    """The day-before reminders for ``day`` (ISO date; default: tomorrow, Japan time)."""
    target = (
        datetime.date.fromisoformat(day)
        if day
        else timezone.localdate() + datetime.timedelta(days=1)
    )
    line_drafts_purge()  # daily: the answers of bookings on LINE that were never finished
    return reminders_due(day=target)
