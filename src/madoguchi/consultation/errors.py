"""Errors a user can cause in the consultation assistant, with stable codes."""

from __future__ import annotations

from enum import StrEnum


class ConsultationErrorCode(StrEnum):
    FAQ_INVALID = "faq_invalid"
    CSV_INVALID = "csv_invalid"
    SYNONYM_INVALID = "synonym_invalid"
    SCENARIO_INVALID = "scenario_invalid"
    MESSAGE_EMPTY = "message_empty"
    MESSAGE_TOO_LONG = "message_too_long"
    CONVERSATION_CLOSED = "conversation_closed"
    LINE_NOT_CONFIGURED = "line_not_configured"
    INDEX_BUILD_RUNNING = "index_build_running"


class ConsultationError(ValueError):
    """A refused action; ``message`` is Japanese and names the fix, ``errors`` the places."""

    def __init__(
        self, code: ConsultationErrorCode, message: str, errors: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []
