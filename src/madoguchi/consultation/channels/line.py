"""The LINE webhook of a municipality: signed events in, replies out through the SDK.

A request without a valid X-Line-Signature gets 400 and changes nothing. Each event is handled
in its own transaction, once per webhookEventId: a redelivery finds its id stored and is not
answered again. Replies go out after the transaction commits.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from madoguchi.consultation.assistant import (
    assistant_handle_action,
    assistant_handle_text,
    assistant_menu,
    conversation_open,
)
from madoguchi.consultation.channels.line_api import LineApi, LineApiError, line_apis, line_messages
from madoguchi.consultation.limits import chat_limit_line
from madoguchi.consultation.models import Channel, LineWebhookEvent, Outcome
from madoguchi.consultation.replies import Action, Link, Reply
from madoguchi.consultation.selectors import conversation_for_line_user, line_channel_get
from madoguchi.messaging.line import line_postback_answer
from madoguchi.messaging.services import line_unsubscribe
from madoguchi.reservations import line as reservations_line
from madoguchi.surveillance import services as surveillance
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality

__all__ = ["line_webhook", "line_webhook_handle"]

logger = logging.getLogger(__name__)


def _send_reply(api: LineApi, reply_token: str, reply: Reply) -> None:
    try:
        api.reply(reply_token=reply_token, messages=line_messages(reply))
    except LineApiError:
        logger.warning("LINE reply failed", exc_info=True)


def _user_id(event: Any) -> str:
    source = getattr(event, "source", None)
    return str(getattr(source, "user_id", "") or "")


def _conversation(municipality: Municipality, user_id: str) -> Any:
    conversation = conversation_for_line_user(municipality=municipality, user_id=user_id)
    if conversation is None:
        conversation = conversation_open(
            municipality=municipality, channel=Channel.LINE, line_user_id=user_id
        )
    return conversation


def _health_reply(answer: surveillance.LineAnswer | None) -> Reply | None:
    """A reply from the self-report module (linking code, 体調報告); never stored here."""
    if answer is None:
        return None
    outcome = Outcome.REFUSED if answer.code is not None else Outcome.ANSWERED
    return Reply(
        answer.text,
        outcome,
        tuple(Action(label, data) for label, data in answer.actions),
        tuple(Link(label, url) for label, url in answer.links),
        stored=False,
    )


def _answer_reply(text: str, actions: tuple[tuple[str, str], ...]) -> Reply:
    """A reply from another app's LINE module (messaging, reservations); never stored here."""
    return Reply(
        text, Outcome.ANSWERED, tuple(Action(label, data) for label, data in actions), stored=False
    )


def _event_reply(municipality: Municipality, event: Any) -> Reply | None:
    from linebot.v3.webhooks import (
        FollowEvent,
        MessageEvent,
        PostbackEvent,
        TextMessageContent,
        UnfollowEvent,
    )

    user_id = _user_id(event)
    if isinstance(event, FollowEvent):
        return assistant_menu(municipality=municipality)
    if not user_id:
        return None
    if isinstance(event, UnfollowEvent):  # blocked: no message may be pushed any more
        line_unsubscribe(municipality=municipality, line_user_id=user_id)
        reservations_line.line_draft_leave(municipality=municipality, line_user_id=user_id)
        return None
    limited = chat_limit_line(user_id=user_id)
    if limited is not None:  # too many too fast: nothing stored, at most one polite reply
        return limited.reply
    if isinstance(event, MessageEvent):
        if isinstance(event.message, TextMessageContent):
            # A name or a date of birth for the booking this user is making on LINE (first: a
            # typed 19500401 must not be taken for a linking code).
            booking = reservations_line.line_text_answer(
                municipality=municipality, line_user_id=user_id, text=str(event.message.text)
            )
            if booking is not None:
                return _answer_reply(booking.text, booking.actions)
            # A linking code or 「体調報告」 goes to the self-report module, not the assistant:
            # it is neither stored in a conversation nor shown to the inbox.
            health = _health_reply(
                surveillance.line_message_handle(
                    municipality=municipality, line_user_id=user_id, text=str(event.message.text)
                )
            )
            if health is not None:
                return health
            conversation = _conversation(municipality, user_id)
            client = "line:" + hashlib.sha256(user_id.encode()).hexdigest()[:32]
            return assistant_handle_text(
                conversation=conversation, text=str(event.message.text), client=client
            )
        menu = assistant_menu(municipality=municipality)
        return Reply(_("文章で質問を送ってください。"), Outcome.REFUSED, menu.actions, stored=False)
    if isinstance(event, PostbackEvent):
        data = str(event.postback.data)
        if not data.startswith(reservations_line.PREFIX):
            reservations_line.line_draft_leave(municipality=municipality, line_user_id=user_id)
        # お知らせ設定 (rich menu) and 配信停止 (under each message) belong to messaging.
        answer = line_postback_answer(
            municipality=municipality, line_user_id=user_id, data=str(event.postback.data)
        )
        if answer is not None:
            return _answer_reply(answer.text, answer.actions)
        # 予約 (rich menu) and every step of booking on LINE belong to reservations.
        booking = reservations_line.line_postback_answer(
            municipality=municipality, line_user_id=user_id, data=str(event.postback.data)
        )
        if booking is not None:
            return _answer_reply(booking.text, booking.actions)
        health = _health_reply(
            surveillance.line_postback_handle(
                municipality=municipality, line_user_id=user_id, data=str(event.postback.data)
            )
        )
        if health is not None:
            return health
        conversation = _conversation(municipality, user_id)
        return assistant_handle_action(conversation=conversation, payload=str(event.postback.data))
    return None


def _handle_event(municipality: Municipality, api: LineApi, event: Any) -> None:
    event_id = str(getattr(event, "webhook_event_id", "") or "")
    event_type = str(getattr(event, "type", "") or type(event).__name__)[:40]
    with transaction.atomic():
        if event_id:
            try:
                with transaction.atomic():
                    LineWebhookEvent.objects.create(
                        municipality=municipality,
                        webhook_event_id=event_id[:64],
                        event_type=event_type,
                    )
            except IntegrityError:
                logger.info("LINE event %s already handled", event_id)
                return
        reply = _event_reply(municipality, event)
        token = str(getattr(event, "reply_token", "") or "")
        if reply is not None and token:
            transaction.on_commit(lambda: _send_reply(api, token, reply))


def line_webhook_handle(*, municipality: Municipality, body: bytes, signature: str) -> int:
    """Verify and handle one webhook request; returns the HTTP status to answer."""
    from linebot.v3 import WebhookParser
    from linebot.v3.exceptions import InvalidSignatureError

    channel = line_channel_get(municipality=municipality)
    if channel is None or not channel.is_active:
        return 404
    if not signature:
        return 400
    try:
        text = body.decode("utf-8")
        events = WebhookParser(channel.channel_secret).parse(text, signature)
    except InvalidSignatureError:
        logger.warning("LINE webhook with a wrong signature for %s", municipality.slug)
        return 400
    except (ValueError, KeyError, TypeError, AttributeError):
        return 400
    if not isinstance(events, list):
        return 400
    api = line_apis.for_token(channel.access_token)
    for event in events:
        _handle_event(municipality, api, event)
    return 200


@csrf_exempt
@require_POST
@municipality_view
def line_webhook(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    """POST /<slug>/line/webhook — the URL to set in the LINE Developers console."""
    status = line_webhook_handle(
        municipality=municipality,
        body=request.body,
        signature=request.headers.get("X-Line-Signature", ""),
    )
    return HttpResponse(status=status, content_type="text/plain")
