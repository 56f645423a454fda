"""Limits on how fast residents may write to the assistant, on the web and on LINE.

Counted per minute in the database (``madoguchi.core.ratelimit``), so every app server sees
the same counts: per client address and per conversation on the web, per user on LINE. A
message over the limit is refused before anything of it is stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from django.conf import settings
from django.utils.translation import gettext as _

from madoguchi.consultation.models import Conversation, Outcome
from madoguchi.consultation.replies import Reply
from madoguchi.core.ratelimit import RateLimitResult, ratelimit_hit

__all__ = ["ChatLimited", "chat_limit_line", "chat_limit_web"]

WINDOW_SECONDS: Final = 60


@dataclass(frozen=True, slots=True)
class ChatLimited:
    """A message refused for coming too fast; ``reply`` is None when nothing should answer."""

    retry_after: int
    reply: Reply | None

    @property
    def message(self) -> str:
        return self.reply.text if self.reply is not None else ""


def _hit(key: str, limit: int) -> RateLimitResult:
    return ratelimit_hit(f"consultation:{key}", limit=limit, window_seconds=WINDOW_SECONDS)


def chat_limit_web(*, client: str, conversation: Conversation | None) -> ChatLimited | None:
    """Count a web chat post; a ChatLimited when the address or the conversation is over.

    ``client`` is the address key of ``madoguchi.core.ratelimit.client_key``.
    """
    result = _hit(client, settings.CONSULTATION_CHAT_RATE_PER_CLIENT)
    if result.allowed and conversation is not None:
        result = _hit(
            f"conversation:{conversation.pk}", settings.CONSULTATION_CHAT_RATE_PER_CONVERSATION
        )
    if result.allowed:
        return None
    text = _(
        "短時間に多くのメッセージが送られました。%(seconds)d秒ほどたってから、"
        "もう一度送信してください。入力した内容はそのまま残っています。"
    ) % {"seconds": result.retry_after}
    return ChatLimited(result.retry_after, Reply(text, Outcome.REFUSED, stored=False))


def chat_limit_line(*, user_id: str) -> ChatLimited | None:
    """Count a LINE message or button; a ChatLimited when this user sends too many.

    Only the first message over the limit gets a (polite) reply, so a flood is not answered
    with a flood.
    """
    digest = hashlib.sha256(user_id.encode()).hexdigest()[:32]
    result = _hit(f"line:{digest}", settings.CONSULTATION_LINE_RATE_PER_USER)
    if result.allowed:
        return None
    if result.count > result.limit + 1:
        return ChatLimited(result.retry_after, None)
    text = _(
        "短い間にたくさんのメッセージをいただいたため、少しの間お返事を控えます。"
        "%(minutes)d分ほどたってから、もう一度お送りください。"
    ) % {"minutes": max(1, (result.retry_after + 59) // 60)}
    return ChatLimited(result.retry_after, Reply(text, Outcome.REFUSED, stored=False))
