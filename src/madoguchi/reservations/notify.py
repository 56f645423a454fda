"""E-mails to residents about their bookings (sent after the transaction commits)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.reservations.models import Booking

logger = logging.getLogger(__name__)


def _send(subject: str, body: str, email: str) -> bool:
    """Send one message; a mail server that is down must not undo the booking."""
    try:
        send_mail(subject, body, None, [email], fail_silently=False)
    except OSError:
        logger.exception("could not send e-mail (%s)", subject)
        return False
    return True


def _when(booking: Booking) -> str:
    start = timezone.localtime(booking.slot.starts_at)
    return f"{date_format(start, 'DATE_FORMAT')} {start:%H:%M}"


def _lookup_url(booking: Booking) -> str:
    return f"{settings.MADOGUCHI_SITE_URL}/{booking.municipality.slug}/reservations/booking/"


def _resource_name(booking: Booking) -> str:
    english = booking.language == "en"
    return (english and booking.resource.name_en) or booking.resource.name


def send_booked(*, booking: Booking, secret: str) -> bool:
    """The receipt number, code and time of a new booking."""
    language = "en" if booking.language == "en" else "ja"
    with translation.override(language):
        subject = _("予約を受け付けました（受付番号 %(number)s）") % {
            "number": receipt_number_display(booking.receipt_number)
        }
        body = _(
            "%(name)s の予約を受け付けました。\n日時: %(when)s\n受付番号: %(number)s\n"
            "確認コード: %(secret)s\n変更・取消しはこちらから: %(url)s\n"
        ) % {
            "name": _resource_name(booking),
            "when": _when(booking),
            "number": receipt_number_display(booking.receipt_number),
            "secret": lookup_secret_display(secret),
            "url": _lookup_url(booking),
        }
    return _send(subject, body, booking.email)


def send_reminder(*, booking: Booking) -> bool:
    """The day-before reminder: time and place, no personal data beyond the receipt number."""
    language = "en" if booking.language == "en" else "ja"
    with translation.override(language):
        subject = _("明日のご予約のお知らせ（受付番号 %(number)s）") % {
            "number": receipt_number_display(booking.receipt_number)
        }
        body = _(
            "明日は %(name)s のご予約の日です。\n日時: %(when)s\n場所: %(place)s\n"
            "受付番号: %(number)s\n来られなくなった場合は取り消してください: %(url)s\n"
        ) % {
            "name": _resource_name(booking),
            "when": _when(booking),
            "place": booking.resource.place,
            "number": receipt_number_display(booking.receipt_number),
            "url": _lookup_url(booking),
        }
    return _send(subject, body, booking.email)
