"""Stable codes of what an import can find wrong, for tests, the API and the report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

__all__ = ["CellError", "Problem", "ProblemCode"]


class ProblemCode(StrEnum):
    # The whole file: nothing is imported, whatever the mode.
    ENCODING = "encoding"
    UTF16 = "utf16"
    EUC_JP = "euc_jp"
    SPREADSHEET = "spreadsheet"
    BINARY = "binary"
    EMPTY = "empty"
    CSV_SYNTAX = "csv_syntax"
    MISSING_COLUMNS = "missing_columns"
    DUPLICATE_COLUMN = "duplicate_column"
    # One row: the file is refused, or the row skipped in good-rows mode.
    CELL_COUNT = "cell_count"
    REQUIRED = "required"
    DATE_FORMAT = "date_format"
    DATE_IMPOSSIBLE = "date_impossible"
    COUNT = "count"
    NOT_ALLOWED = "not_allowed"
    CODE_FORMAT = "code_format"
    OTHER_MUNICIPALITY = "other_municipality"
    NAME_MISMATCH = "name_mismatch"
    DUPLICATE_KEY = "duplicate_key"
    TOO_LONG = "too_long"
    FORMULA = "formula"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: ``line`` 0 for the whole file, else the CSV line the row starts on."""

    code: ProblemCode
    message: str  # Japanese (or the active language), ready to show
    line: int = 0
    column: str = ""

    def __str__(self) -> str:
        if not self.line:
            return self.message
        return _("%(line)d行目: %(message)s") % {"line": self.line, "message": self.message}


class CellError(Exception):
    """A cell that cannot be read; the reader turns it into a row Problem."""

    def __init__(self, code: ProblemCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
