"""Errors a reporter or a clerk can cause in reports, with stable codes."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    CATEGORY_UNKNOWN = "category_unknown"
    LOCATION_REQUIRED = "location_required"
    AREA_UNKNOWN = "area_unknown"
    PHOTO_UNREADABLE = "photo_unreadable"
    TOO_MANY_PHOTOS = "too_many_photos"
    DESCRIPTION_REQUIRED = "description_required"
    LOOKUP_FAILED = "lookup_failed"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    MERGE_INVALID = "merge_invalid"


class ReportError(Exception):
    def __init__(self, code: ErrorCode, *, field: str = "") -> None:
        super().__init__(str(code))
        self.code = code
        self.field = field
