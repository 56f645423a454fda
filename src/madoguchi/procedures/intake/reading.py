"""Reading an intake file: decoding UTF-8 or cp932 and splitting it into CSV rows."""

from __future__ import annotations

import csv
import io
from typing import Final, NamedTuple

from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_text
from madoguchi.procedures.intake.reports import FileError, IntakeErrorCode

# What cp932 makes of bytes that are not Shift_JIS text (0x80, 0xA0, 0xFD-0xFF).
_CP932_STRAYS: Final = frozenset("\x80\uf8f0\uf8f1\uf8f2\uf8f3")


def _decode(data: bytes) -> str | None:
    """The text of a UTF-8 (with or without BOM) or cp932 file; None when it is neither."""
    # UTF-16 and binary data hold NUL bytes and can decode as UTF-8 or cp932 without an error.
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        return None
    return None if any(char in _CP932_STRAYS for char in text) else text


class _Row(NamedTuple):
    line: int
    cells: list[str]


def _read_rows(data: bytes) -> tuple[list[_Row], FileError | None]:
    """Every non-blank row with the line it starts on; or the reason the file is unreadable."""
    text = _decode(data)
    if text is None:
        return [], FileError(
            IntakeErrorCode.ENCODING,
            _("文字コードを読み取れません。UTF-8 または Shift_JIS の CSV ファイルにしてください。"),
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            message = _('CSV の形式が正しくありません（引用符 " の対応を確認してください）。')
            return [], FileError(IntakeErrorCode.CSV_FORMAT, message, line)
        if any(cell.strip() for cell in cells):
            rows.append(_Row(line, cells))
    if not rows:
        return [], FileError(IntakeErrorCode.EMPTY, _("ファイルが空です。"))
    return rows, None


def _name(text: str) -> str:
    """A header cell as matched against keys and labels."""
    return normalize_text(text)
