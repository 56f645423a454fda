"""Messages to residents about their bookings, through messaging's notices (log, retries).

The receipt of a new booking and the day-before reminder (by e-mail, or on LINE for a booking
made there) are notices: each is logged, tried at once and retried with backoff by messaging
when the mail server or LINE does not take it, and sent once per booking and slot.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from madoguchi.messaging.notices import NoticeKind, notice_send
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.reservations.linereply import MY_POSTBACK
from madoguchi.reservations.models import Booking

__all__ = ["reminder_retry_key", "send_booked", "send_reminder", "send_reminder_line"]


def _language(booking: Booking) -> str:
    return "en" if booking.language == "en" else "ja"


def _values(booking: Booking) -> dict[str, str]:
    english = _language(booking) == "en"
    start = timezone.localtime(booking.slot.starts_at)
    with translation.override(_language(booking)):
        when = f"{date_format(start, 'DATE_FORMAT')} {start:%H:%M}"
    return {
        "municipality": booking.municipality.name,
        "resource": (english and booking.resource.name_en) or booking.resource.name,
        "when": when,
        "place": booking.resource.place,
        "receipt_number": receipt_number_display(booking.receipt_number),
        "url": f"{settings.MADOGUCHI_SITE_URL}/{booking.municipality.slug}/reservations/booking/",
    }


def send_booked(*, booking: Booking, secret: str) -> bool:
    """The receipt number, code and time of a new booking; True once sent."""
    return notice_send(
        municipality=booking.municipality,
        kind=NoticeKind.BOOKING_RECEIPT,
        to=booking.email,
        values={**_values(booking), "code": lookup_secret_display(secret)},
        language=_language(booking),
    ).sent


def reminder_retry_key(booking: Booking) -> str:
    """The same UUID on every attempt for this booking and slot (a changed booking: a new one)."""
    import uuid

    return str(
        uuid.uuid5(
            uuid.NAMESPACE_URL, f"madoguchi:reservations:reminder:{booking.pk}:{booking.slot_id}"
        )
    )


def send_reminder(*, booking: Booking) -> bool:
    """The day-before reminder by e-mail: time and place, no personal data beyond the receipt
    number. True once logged (messaging retries it until sent)."""
    notice = notice_send(
        municipality=booking.municipality,
        kind=NoticeKind.BOOKING_REMINDER,
        to=booking.email,
        values=_values(booking),
        language=_language(booking),
        dedupe_key=f"reservations.reminder:{booking.pk}:{booking.slot_id}",
    ).notice
    return notice is not None


def send_reminder_line(*, booking: Booking) -> bool:
    """The day-before reminder pushed to the LINE user who booked, with a button to see or
    cancel the booking; the retry key is the same on every attempt, so LINE delivers it once.
    True once logged (messaging retries it until sent)."""
    if not booking.line_user_id:
        return False
    with translation.override(_language(booking)):
        label = _("予約の確認・取消し")
    notice = notice_send(
        municipality=booking.municipality,
        kind=NoticeKind.BOOKING_REMINDER_LINE,
        to=booking.line_user_id,
        values=_values(booking),
        language=_language(booking),
        dedupe_key=f"reservations.reminder:{booking.pk}:{booking.slot_id}",
        retry_key=reminder_retry_key(booking),
        actions=[(label, MY_POSTBACK)],
    ).notice
    return notice is not None
