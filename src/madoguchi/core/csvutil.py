"""CSV output that spreadsheet programs open safely."""

from __future__ import annotations

import numbers

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """Text for one cell; a leading formula character is neutralised with an apostrophe.

    Spreadsheets would otherwise run ``=HYPERLINK(...)`` typed into a form by anyone.
    Numbers are written as they are.
    """
    if value is None:
        return ""
    if isinstance(value, numbers.Number):
        return str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
