"""Staff answering the conversations handed over to them, on the channel the resident used."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.services import audit_access, audit_event
from madoguchi.consultation.channels.line_api import LineApiError, line_apis, line_messages
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.models import (
    Channel,
    Conversation,
    ConversationState,
    Message,
    Outcome,
    Sender,
)
from madoguchi.consultation.notify import ANSWERING_ROLES
from madoguchi.consultation.replies import Reply
from madoguchi.consultation.selectors import line_channel_get

__all__ = ["conversation_close", "conversation_read", "staff_reply"]

logger = logging.getLogger(__name__)

MAX_REPLY_CHARS = 2000


def conversation_read(*, staff: StaffContext, conversation: Conversation) -> list[Message]:
    """The messages of a conversation, recording that this staff member read them.

    Opened by someone who may answer, it also stops reminder mails until the resident makes
    it wait again.
    """
    if staff.has_role(ANSWERING_ROLES, conversation.department):
        now = timezone.now()
        Conversation.objects.filter(pk=conversation.pk).update(staff_seen_at=now)
        conversation.staff_seen_at = now
    audit_access(
        municipality=staff.municipality,
        actor=staff.actor(conversation.department),
        purpose="相談への対応",
        obj=conversation,
    )
    return list(conversation.messages.select_related("author").order_by("created_at", "pk"))


def _push(message_id: int) -> None:
    """Send a staff reply to the resident's LINE; records whether it went out."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    conversation = message.conversation
    channel = line_channel_get(municipality=conversation.municipality)
    to = conversation.line_user_id or ""
    delivery = "failed"
    if channel is not None and channel.is_active and to:
        reply = Reply(_("【担当者より】") + "\n" + message.text, Outcome.HANDOVER)
        retry_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"madoguchi:message:{message.pk}"))
        try:
            line_apis.for_token(channel.access_token).push(
                to=to, messages=line_messages(reply), retry_key=retry_key
            )
            delivery = "sent"
        except LineApiError:
            logger.warning("LINE push of message %s failed", message.pk, exc_info=True)
    Message.objects.filter(pk=message.pk).update(delivery=delivery)


@transaction.atomic
def staff_reply(*, staff: StaffContext, conversation: Conversation, text: str) -> Message:
    """Answer the resident; on LINE the answer is pushed after the transaction commits."""
    body = (text or "").replace("\r\n", "\n").strip()
    if not body:
        raise ConsultationError(ConsultationErrorCode.MESSAGE_EMPTY, _("返信を入力してください。"))
    if len(body) > MAX_REPLY_CHARS:
        raise ConsultationError(
            ConsultationErrorCode.MESSAGE_TOO_LONG,
            _("返信は%(limit)d文字以内で入力してください。") % {"limit": MAX_REPLY_CHARS},
        )
    if conversation.municipality_id != staff.municipality.pk:
        raise ValueError("conversation of another municipality")
    message = Message.objects.create(
        conversation=conversation,
        municipality=staff.municipality,
        sender=Sender.STAFF,
        text=body,
        author=staff.user,
        outcome=Outcome.HANDOVER,
    )
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        state=ConversationState.ANSWERED, last_message_at=now, staff_seen_at=now
    )
    conversation.state = ConversationState.ANSWERED
    audit_event(
        municipality=staff.municipality,
        action="consultation.reply",
        actor=staff.actor(conversation.department),
        obj=conversation,
        data={"channel": conversation.channel},
    )
    if conversation.channel == Channel.LINE:
        message_id = message.pk
        transaction.on_commit(lambda: _push(message_id))
    return message


@transaction.atomic
def conversation_close(*, staff: StaffContext, conversation: Conversation) -> None:
    """End the hand-over; the resident's next question goes to the assistant again."""
    Conversation.objects.filter(pk=conversation.pk, municipality=staff.municipality).update(
        state=ConversationState.CLOSED
    )
    conversation.state = ConversationState.CLOSED
    audit_event(
        municipality=staff.municipality,
        action="consultation.close",
        actor=staff.actor(conversation.department),
        obj=conversation,
    )
