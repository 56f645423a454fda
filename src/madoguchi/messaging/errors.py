"""Errors a user can cause in messaging, with stable codes."""

from __future__ import annotations

from enum import StrEnum


class MessagingErrorCode(StrEnum):
    TOPIC_INVALID = "topic_invalid"
    AREA_INVALID = "area_invalid"
    CSV_INVALID = "csv_invalid"
    SETTINGS_INVALID = "settings_invalid"
    SUBSCRIPTION_INVALID = "subscription_invalid"
    LINK_INVALID = "link_invalid"
    TEMPLATE_INVALID = "template_invalid"
    SEGMENT_INVALID = "segment_invalid"
    SEND_STATE = "send_state"
    APPROVAL_REFUSED = "approval_refused"
    LINE_NOT_CONFIGURED = "line_not_configured"


class MessagingError(ValueError):
    """A refused action; ``message`` is Japanese and names the fix."""

    def __init__(self, code: MessagingErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
