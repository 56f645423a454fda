"""The two ways out: e-mail through Django's SMTP backend, LINE through the official SDK.

Both sit behind small interfaces with a registry that tests and benchmarks may swap; the
defaults are the real clients. LINE's base URL is ``MADOGUCHI_LINE_API_BASE_URL``.

A worker keeps one LINE sender per access token (and process) and reuses it: its HTTP
connection stays open between multicasts instead of a new TCP (and TLS) handshake per 500
recipients.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from django.conf import settings

__all__ = ["LineSendError", "LineSender", "SdkLineSender", "line_senders"]

LINE_MULTICAST_LIMIT: Final = 500  # user ids per multicast call (Messaging API limit)
_TIMEOUT_SECONDS: Final = 10
_SENDERS_KEPT: Final = 64  # municipalities whose sender a worker keeps open


@dataclass
class LineSendError(Exception):
    """The Messaging API did not accept a request.

    ``status`` 0: no answer (network). ``retry_after``: seconds LINE asked to wait, if given.
    """

    status: int
    detail: str
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.status in {0, 429} or self.status >= 500

    @property
    def already_accepted(self) -> bool:
        # 409 with X-Line-Retry-Key: a request with this key was accepted before.
        return self.status == 409


class LineSender(Protocol):
    def send(self, *, to: Sequence[str], messages: Sequence[Any], retry_key: str) -> None: ...


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class SdkLineSender:
    """Push (one user) or multicast (up to 500) with X-Line-Retry-Key, via line-bot-sdk v3."""

    def __init__(self, access_token: str) -> None:
        from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

        configuration = Configuration(host=settings.LINE_API_BASE_URL, access_token=access_token)
        # One client (and urllib3 connection pool) for the sender's life: keep-alive.
        self._api: Any = MessagingApi(ApiClient(configuration))

    def send(self, *, to: Sequence[str], messages: Sequence[Any], retry_key: str) -> None:
        from linebot.v3.messaging import MulticastRequest, PushMessageRequest
        from linebot.v3.messaging.exceptions import ApiException

        try:
            if len(to) == 1:
                self._api.push_message(
                    PushMessageRequest(to=to[0], messages=list(messages)),
                    x_line_retry_key=retry_key,
                    _request_timeout=_TIMEOUT_SECONDS,
                )
            else:
                # construct(): the user ids come from our own rows (LINE gave them to the
                # webhook); validating 500 of them per call cost a third of a worker's CPU.
                self._api.multicast(
                    MulticastRequest.construct(to=list(to), messages=list(messages)),
                    x_line_retry_key=retry_key,
                    _request_timeout=_TIMEOUT_SECONDS,
                )
        except ApiException as exc:
            body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else ""
            raise LineSendError(
                int(exc.status or 0), f"{exc.status} {body}"[:300], _retry_after(exc.headers)
            ) from exc
        except Exception as exc:  # urllib3's errors differ between versions; all mean "no answer"
            raise LineSendError(0, type(exc).__name__) from exc


class LineSenderRegistry:
    """The sender for a channel's access token, kept for reuse; tests may replace the factory.

    Kept per process (a forked worker never shares its parent's sockets), factory, API base URL
    and token (a changed token gets a new sender).
    """

    def __init__(self) -> None:
        self.factory: Callable[[str], LineSender] = SdkLineSender
        self._kept: dict[tuple[int, object, str, str], LineSender] = {}

    def for_token(self, access_token: str) -> LineSender:
        key = (os.getpid(), self.factory, settings.LINE_API_BASE_URL, access_token)
        sender = self._kept.get(key)
        if sender is None:
            if len(self._kept) >= _SENDERS_KEPT:
                self._kept.clear()
            sender = self._kept[key] = self.factory(access_token)
        return sender


line_senders = LineSenderRegistry()
