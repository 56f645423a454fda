"""Errors an operator or a municipality's admin can cause, with stable codes."""

from __future__ import annotations

from enum import StrEnum


class TenantErrorCode(StrEnum):
    UNKNOWN_CODE = "unknown_code"
    ALREADY_ADDED = "already_added"
    SLUG_INVALID = "slug_invalid"
    SLUG_RESERVED = "slug_reserved"
    SLUG_TAKEN = "slug_taken"
    NAME_REQUIRED = "name_required"
    DEPARTMENT_CODE_TAKEN = "department_code_taken"
    DEPARTMENT_RETIRED = "department_retired"
    DEPARTMENT_HAS_OPEN_WORK = "department_has_open_work"
    LAST_ADMIN = "last_admin"
    OTHER_MUNICIPALITY = "other_municipality"


class TenantError(Exception):
    """A refused change; ``field`` names the form field the message belongs next to."""

    def __init__(self, code: TenantErrorCode, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
