"""The reports of an intake: error codes, refused rows and cells, and the text and CSV forms."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from django.utils.translation import gettext as _

from madoguchi.core.csvutil import csv_cell


class IntakeErrorCode(StrEnum):
    """Stable codes of file and row errors in intake reports (field errors keep their own)."""

    ENCODING = "encoding"
    EMPTY = "empty"
    CSV_FORMAT = "csv_format"
    MISSING_COLUMNS = "missing_columns"
    NO_KNOWN_COLUMNS = "no_known_columns"
    DUPLICATE_COLUMN = "duplicate_column"
    AMBIGUOUS_COLUMN = "ambiguous_column"
    ATTACHMENTS_REQUIRED = "attachments_required"
    UNKNOWN_COLUMN = "unknown_column"
    EXTRA_CELLS = "extra_cells"
    REQUIRED = "required"
    RECEIPT_FORMAT = "receipt_format"
    RECEIPT_CHECK_DIGIT = "receipt_check_digit"
    DUPLICATE_RECEIPT = "duplicate_receipt"
    NOT_FOUND = "not_found"
    UNKNOWN_STATE = "unknown_state"
    REASON_REQUIRED = "reason_required"
    MISSING_ITEMS_REQUIRED = "missing_items_required"
    BATCH_FAILED = "batch_failed"


class CellError(NamedTuple):
    """One refused value: the column as written in the file (or the field key), code, message."""

    column: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row; ``line`` is the physical line where it starts (the header is line 1)."""

    line: int
    errors: list[CellError]


@dataclass(frozen=True, slots=True)
class FileError:
    """The file as a whole cannot be used; nothing of it was applied."""

    code: str
    message: str
    line: int | None = None


def _text_lines(
    summary: list[str],
    unknown_columns: Sequence[str],
    file_errors: Sequence[FileError],
    rejected: Sequence[RowError],
) -> str:
    lines = list(summary)
    if unknown_columns:
        lines.append(_("取り込まなかった列：%(columns)s") % {"columns": "、".join(unknown_columns)})
    for error in file_errors:
        where = _("%(line)d行目：") % {"line": error.line} if error.line else ""
        label = _("ファイルの誤り")
        lines.append(f"{label} [{error.code}] {where}{error.message}")
    for row in rejected:
        lines.append(_("%(line)d行目") % {"line": row.line})
        lines.extend(f"  - {e.column} [{e.code}] {e.message}" for e in row.errors)
    return "\n".join(lines) + "\n"


def _csv_bytes(
    unknown_columns: Sequence[str],
    file_errors: Sequence[FileError],
    rejected: Sequence[RowError],
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("行"), _("列"), _("コード"), _("内容")])
    for error in file_errors:
        writer.writerow([csv_cell(error.line), "", error.code, csv_cell(error.message)])
    for column in unknown_columns:
        message = _("この列は取り込んでいません。")
        writer.writerow(["", csv_cell(column), IntakeErrorCode.UNKNOWN_COLUMN, message])
    for row in rejected:
        for e in row.errors:
            writer.writerow([row.line, csv_cell(e.column), e.code, csv_cell(e.message)])
    # The BOM makes Excel read the file as UTF-8.
    return out.getvalue().encode("utf-8-sig")


@dataclass(slots=True)
class ImportReport:
    """What :func:`applications_import_csv` did with a file."""

    rows: int = 0
    imported: int = 0
    duplicates_skipped: int = 0
    rejected: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    file_errors: list[FileError] = field(default_factory=list)
    # The receipt number of each imported or already present row, by line, for the paper form.
    receipts: dict[int, str] = field(default_factory=dict)

    def as_text(self) -> str:
        """The report in Japanese, one finding per line, for a screen or a terminal."""
        # A batch that failed after others were stored is a file error too: give the counts.
        if self.file_errors and not (self.imported or self.duplicates_skipped):
            summary = [_("ファイルに誤りがあるため、1件も登録していません。")]
        else:
            summary = [
                _(
                    "%(rows)d行のうち、%(imported)d件を登録しました。"
                    "登録済みのため省いた行：%(skipped)d件。誤りのため登録しなかった行：%(rejected)d件。"
                )
                % {
                    "rows": self.rows,
                    "imported": self.imported,
                    "skipped": self.duplicates_skipped,
                    "rejected": len(self.rejected),
                }
            ]
        return _text_lines(summary, self.unknown_columns, self.file_errors, self.rejected)

    def as_csv(self) -> bytes:
        """The findings as CSV (行, 列, コード, 内容), UTF-8 with BOM, ready for download."""
        return _csv_bytes(self.unknown_columns, self.file_errors, self.rejected)


@dataclass(slots=True)
class StatusUpdateReport:
    """What :func:`applications_bulk_status_csv` did: all rows applied, or none."""

    rows: int = 0
    applied: int = 0
    unchanged: int = 0  # already in the requested state
    rejected: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    file_errors: list[FileError] = field(default_factory=list)

    def as_text(self) -> str:
        """The report in Japanese, one finding per line."""
        if self.file_errors or self.rejected:
            summary = [_("誤りがあるため、どの申請の状態も変更していません。")]
        else:
            summary = [
                _(
                    "%(rows)d行のうち、%(applied)d件の状態を変更しました。"
                    "すでにその状態だった申請：%(unchanged)d件。"
                )
                % {"rows": self.rows, "applied": self.applied, "unchanged": self.unchanged}
            ]
        return _text_lines(summary, self.unknown_columns, self.file_errors, self.rejected)

    def as_csv(self) -> bytes:
        """The findings as CSV (行, 列, コード, 内容), UTF-8 with BOM, ready for download."""
        return _csv_bytes(self.unknown_columns, self.file_errors, self.rejected)
