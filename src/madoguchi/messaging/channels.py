"""The two ways out: e-mail through Django's SMTP backend, LINE through the official SDK.

Both sit behind small interfaces with a registry that tests and benchmarks may swap; the
defaults are the real clients. LINE's base URL is ``MADOGUCHI_LINE_API_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from django.conf import settings

__all__ = ["LineSendError", "LineSender", "SdkLineSender", "line_senders"]

LINE_MULTICAST_LIMIT: Final = 500  # user ids per multicast call (Messaging API limit)
_TIMEOUT_SECONDS: Final = 10


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
        from linebot.v3.messaging import Configuration

        self._configuration: Any = Configuration(
            host=settings.LINE_API_BASE_URL, access_token=access_token
        )

    def send(self, *, to: Sequence[str], messages: Sequence[Any], retry_key: str) -> None:
        from linebot.v3.messaging import (
            ApiClient,
            MessagingApi,
            MulticastRequest,
            PushMessageRequest,
        )
        from linebot.v3.messaging.exceptions import ApiException

        try:
            with ApiClient(self._configuration) as client:
                api = MessagingApi(client)
                if len(to) == 1:
                    api.push_message(
                        PushMessageRequest(to=to[0], messages=list(messages)),
                        x_line_retry_key=retry_key,
                        _request_timeout=_TIMEOUT_SECONDS,
                    )
                else:
                    api.multicast(
                        MulticastRequest(to=list(to), messages=list(messages)),
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
    """Makes the sender for a channel's access token; tests may replace the factory."""

    def __init__(self) -> None:
        self.factory: Callable[[str], LineSender] = SdkLineSender

    def for_token(self, access_token: str) -> LineSender:
        return self.factory(access_token)


line_senders = LineSenderRegistry()
