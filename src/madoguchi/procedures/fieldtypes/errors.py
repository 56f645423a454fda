"""Errors of answers (:class:`FieldInvalid`) and of definitions (:class:`DefinitionError`)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from django.utils.translation import gettext as _


class FieldErrorCode(StrEnum):
    """Stable codes of :class:`FieldInvalid`, for forms, API responses and CSV reports."""

    REQUIRED = "required"
    INVALID_TYPE = "invalid_type"  # a JSON value of the wrong kind (a number for a text, ...)
    TOO_LONG = "too_long"
    CONTROL_CHARACTER = "control_character"
    LINE_BREAK = "line_break"
    NOT_KATAKANA = "not_katakana"
    DATE_FORMAT = "date_format"
    DATE_INVALID = "date_invalid"
    DATE_ERA_RANGE = "date_era_range"
    DATE_TOO_EARLY = "date_too_early"
    DATE_TOO_LATE = "date_too_late"
    DATE_IN_FUTURE = "date_in_future"
    POSTAL_CODE_FORMAT = "postal_code_format"
    PHONE_FORMAT = "phone_format"
    EMAIL_FORMAT = "email_format"
    INTEGER_FORMAT = "integer_format"
    INTEGER_RANGE = "integer_range"
    CHOICE_INVALID = "choice_invalid"
    CHECKBOX_FORMAT = "checkbox_format"
    FILE_REFERENCE = "file_reference"
    FILE_TYPE = "file_type"
    FILE_TOO_LARGE = "file_too_large"
    FILE_UNKNOWN = "file_unknown"
    MYNUMBER_FORMAT = "mynumber_format"
    MYNUMBER_CHECK_DIGIT = "mynumber_check_digit"
    BANK_CODE_FORMAT = "bank_code_format"
    BRANCH_CODE_FORMAT = "branch_code_format"
    BANK_UNKNOWN = "bank_unknown"  # four digits, but no bank of the 全銀協 master
    BRANCH_UNKNOWN = "branch_unknown"
    ACCOUNT_TYPE_INVALID = "account_type_invalid"
    ACCOUNT_NUMBER_FORMAT = "account_number_format"
    HOLDER_NAME_NOT_KANA = "holder_name_not_kana"
    HOLDER_NAME_SYMBOL = "holder_name_symbol"
    GROUP_FORMAT = "group_format"
    TOO_FEW_ITEMS = "too_few_items"
    TOO_MANY_ITEMS = "too_many_items"
    GROUP_ITEMS_INVALID = "group_items_invalid"


# The name without "Error" is the one the wizard, API and import code were specified against.
class FieldInvalid(Exception):  # noqa: N818
    """An answer is refused. ``subfield`` names the failing part of a compound value."""

    code: str
    message: str
    subfield: str | None

    def __init__(self, code: str, message: str, subfield: str | None = None) -> None:
        super().__init__(message)
        self.code = str(code)  # a FieldErrorCode member becomes its plain value
        self.message = message
        self.subfield = subfield

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.subfield!r})"

    def as_dict(self) -> dict[str, object]:
        """Return the error as JSON for API responses and import reports."""
        return {"code": self.code, "message": self.message, "subfield": self.subfield}


class GroupInvalid(FieldInvalid):
    """Items of a repeating group are refused: ``errors[(index, key)]``, index from 0.

    It is a :class:`FieldInvalid` whose message summarises which items failed, so that callers
    listing errors at the top of a page need no special case. ``count_error`` is set when the
    group also has fewer items than ``min_items``.
    """

    errors: dict[tuple[int, str], FieldInvalid]
    count_error: FieldInvalid | None

    def __init__(
        self,
        errors: Mapping[tuple[int, str], FieldInvalid],
        message: str | None = None,
        *,
        count_error: FieldInvalid | None = None,
    ) -> None:
        super().__init__(
            FieldErrorCode.GROUP_ITEMS_INVALID,
            message if message is not None else _("入力内容に誤りがあります。"),
        )
        self.errors = dict(errors)
        self.count_error = count_error

    def as_dict(self) -> dict[str, object]:
        return {
            **super().as_dict(),
            "items": [
                {"index": index, "key": key, **error.as_dict()}
                for (index, key), error in sorted(self.errors.items())
            ],
            "count_error": None if self.count_error is None else self.count_error.as_dict(),
        }


PathPart = str | int


class DefinitionError(ValueError):
    """A procedure definition is malformed; the message, in English, is for its author.

    ``path`` names the offending place as keys and list indexes from the top of the definition
    (``("steps", 1, "fields", 0, "type")``) so that an editor can show the line it came from;
    readers of nested parts give the part of the path they know and containers prepend theirs.
    """

    def __init__(self, message: str, *, path: tuple[PathPart, ...] = ()) -> None:
        super().__init__(message)
        self.path = path

    def within(self, *prefix: PathPart, message: str | None = None) -> DefinitionError:
        """The same error seen from a containing mapping or list (optionally reworded)."""
        return DefinitionError(
            str(self) if message is None else message, path=(*prefix, *self.path)
        )
