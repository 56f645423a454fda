"""Errors a clinic, a patient or a nurse can cause, with stable codes and Japanese messages."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    REQUIRED = "required"
    DATE_ORDER = "date_order"
    DATE_FUTURE = "date_future"
    OUT_OF_RANGE = "out_of_range"
    NOT_COVERED = "not_covered"
    FOUR_GROUPS = "four_groups"
    NOTE_REQUIRED = "note_required"
    SAME_CENTRE = "same_centre"
    LINK_UNKNOWN = "link_unknown"
    LINK_EXPIRED = "link_expired"
    LINE_UNAVAILABLE = "line_unavailable"
    LINE_CODE_WRONG = "line_code_wrong"
    LINE_CODE_USED = "line_code_used"
    LINE_CODE_EXPIRED = "line_code_expired"
    RATE_LIMITED = "rate_limited"
    TOO_LONG = "too_long"
    STILL_OBSERVING = "still_observing"
    NOT_FOR_DISEASE = "not_for_disease"


class SurveillanceError(Exception):
    """A refused input: ``field`` names the form field the message belongs next to."""

    def __init__(self, code: ErrorCode, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
