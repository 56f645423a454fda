"""The LINE Messaging API behind a small interface, with a registry that tests can swap.

The default implementation is the official line-bot-sdk (v3) client pointed at
``MADOGUCHI_LINE_API_BASE_URL``; the suite points that at a local server recording requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

from django.conf import settings

from madoguchi.consultation.replies import Reply

__all__ = ["LineApi", "LineApiError", "SdkLineApi", "line_apis", "line_messages"]

logger = logging.getLogger(__name__)

_TEXT_LIMIT: Final = 5000
_QUICK_REPLY_LIMIT: Final = 13
_LABEL_LIMIT: Final = 20
_TIMEOUT_SECONDS: Final = 10


class LineApiError(Exception):
    """The Messaging API refused a request or could not be reached."""


class LineApi(Protocol):
    def reply(self, *, reply_token: str, messages: Sequence[Any]) -> None: ...

    def push(self, *, to: str, messages: Sequence[Any], retry_key: str) -> None: ...


class SdkLineApi:
    """line-bot-sdk's MessagingApi with the configured base URL and the channel's token."""

    def __init__(self, access_token: str) -> None:
        from linebot.v3.messaging import Configuration

        self._configuration: Any = Configuration(
            host=settings.LINE_API_BASE_URL, access_token=access_token
        )

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        from linebot.v3.messaging import ApiClient, MessagingApi
        from linebot.v3.messaging.exceptions import OpenApiException

        try:
            with ApiClient(self._configuration) as client:
                getattr(MessagingApi(client), method)(
                    *args, _request_timeout=_TIMEOUT_SECONDS, **kwargs
                )
        except (OpenApiException, OSError, ValueError) as exc:
            raise LineApiError(str(exc)[:500]) from exc
        except Exception as exc:  # urllib3's errors are not OSError subclasses in every version
            raise LineApiError(type(exc).__name__) from exc

    def reply(self, *, reply_token: str, messages: Sequence[Any]) -> None:
        from linebot.v3.messaging import ReplyMessageRequest

        self._call(
            "reply_message", ReplyMessageRequest(replyToken=reply_token, messages=list(messages))
        )

    def push(self, *, to: str, messages: Sequence[Any], retry_key: str) -> None:
        from linebot.v3.messaging import PushMessageRequest

        self._call(
            "push_message",
            PushMessageRequest(to=to, messages=list(messages)),
            x_line_retry_key=retry_key,
        )


class LineApiRegistry:
    """Makes the API client for a channel's token; tests may replace the factory."""

    def __init__(self) -> None:
        self.factory: Callable[[str], LineApi] = SdkLineApi

    def for_token(self, access_token: str) -> LineApi:
        return self.factory(access_token)


line_apis = LineApiRegistry()


def _absolute(url: str) -> str:
    if url.startswith("/"):
        return settings.MADOGUCHI_SITE_URL + url
    return url


def line_messages(reply: Reply) -> list[Any]:
    """The reply as one LINE text message with its buttons as quick replies."""
    from linebot.v3.messaging import PostbackAction, QuickReply, QuickReplyItem, TextMessage

    text = reply.text
    for link in reply.links:
        text += f"\n{link.label}：{_absolute(link.url)}"
    items = [
        QuickReplyItem(
            action=PostbackAction(
                label=action.label[:_LABEL_LIMIT],
                data=action.payload[:300],
                displayText=action.label[:300],
            )
        )
        for action in reply.actions[:_QUICK_REPLY_LIMIT]
    ]
    message = TextMessage(
        text=text[:_TEXT_LIMIT], quickReply=QuickReply(items=items) if items else None
    )
    return [message]
