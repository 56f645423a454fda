"""The day-before reminder of a booking made on LINE, pushed to the user who booked.

The push goes through messaging's LINE sender (line-bot-sdk v3 at ``LINE_API_BASE_URL``) with
an ``X-Line-Retry-Key`` derived from the booking and its slot, so every attempt for the same
booking carries the same key and LINE delivers it once; a 409 (a request with this key was
accepted before) therefore counts as sent. Messaging's delivery log is not used: its rows
belong to a send of a template to subscribers of topics, not to one booking (see
docs/reservations.md).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from madoguchi.consultation.selectors import line_channel_get
from madoguchi.messaging.channels import LineSendError, line_senders
from madoguchi.procedures.receipts import receipt_number_display
from madoguchi.reservations.linereply import MY_POSTBACK
from madoguchi.reservations.models import Booking

__all__ = ["reminder_retry_key", "send_reminder_line"]

logger = logging.getLogger(__name__)


def reminder_retry_key(booking: Booking) -> str:
    """The same UUID on every attempt for this booking and slot (a changed booking: a new one)."""
    return str(
        uuid.uuid5(
            uuid.NAMESPACE_URL, f"madoguchi:reservations:reminder:{booking.pk}:{booking.slot_id}"
        )
    )


def _messages(booking: Booking) -> list[Any]:
    from linebot.v3.messaging import PostbackAction, QuickReply, QuickReplyItem, TextMessage

    language = "en" if booking.language == "en" else "ja"
    with translation.override(language):
        start = timezone.localtime(booking.slot.starts_at)
        name = (language == "en" and booking.resource.name_en) or booking.resource.name
        text = _(
            "明日は %(name)s のご予約の日です。\n日時: %(when)s\n場所: %(place)s\n"
            "受付番号: %(number)s\n来られなくなった場合は取り消してください。"
        ) % {
            "name": name,
            "when": f"{start:%Y-%m-%d %H:%M}",
            "place": booking.resource.place,
            "number": receipt_number_display(booking.receipt_number),
        }
        label = _("予約の確認・取消し")
    item = QuickReplyItem(
        action=PostbackAction(label=label[:20], data=MY_POSTBACK, displayText=label)
    )
    return [TextMessage(text=text[:5000], quickReply=QuickReply(items=[item]))]


def send_reminder_line(*, booking: Booking) -> bool:
    """Push the reminder; False (to be tried again by a later run) when LINE did not take it."""
    channel = line_channel_get(municipality=booking.municipality)
    if channel is None or not channel.is_active or not booking.line_user_id:
        return False
    try:
        line_senders.for_token(channel.access_token).send(
            to=[booking.line_user_id],
            messages=_messages(booking),
            retry_key=reminder_retry_key(booking),
        )
    except LineSendError as exc:
        if exc.already_accepted:
            return True
        logger.warning("LINE reminder for booking %s not sent: %s", booking.pk, exc.detail)
        return False
    return True
