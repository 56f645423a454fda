"""Signing a webhook delivery, and the check a receiver makes (documented in docs/api.md).

Headers: ``Webhook-Id`` (the CloudEvent id), ``Webhook-Timestamp`` (Unix seconds) and
``Webhook-Signature: v1=<hex HMAC-SHA256 of "<id>.<timestamp>.<body>" with the secret>``.
A receiver refuses a timestamp outside its window (a replay of an old delivery) and an id it
has already processed (a replay inside the window).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, MutableSet

__all__ = ["REPLAY_WINDOW_SECONDS", "sign", "verify"]

REPLAY_WINDOW_SECONDS = 300


def sign(*, secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    message = f"{event_id}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    seen_ids: MutableSet[str],
    now: float | None = None,
    window: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """The receiver's check: signature right, timestamp fresh, id not seen before."""
    event_id = headers.get("Webhook-Id", "")
    stamp = headers.get("Webhook-Timestamp", "")
    if not event_id or not stamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > window:
        return False
    expected = sign(secret=secret, event_id=event_id, timestamp=int(stamp), body=body)
    if not hmac.compare_digest(expected, headers.get("Webhook-Signature", "")):
        return False
    if event_id in seen_ids:
        return False
    seen_ids.add(event_id)
    return True
