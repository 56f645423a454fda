"""Reading one cell of an open-data CSV: dates, counts, flags, allowed values, codes.

Machine values (dates, numbers, codes, flags, allowed values) are compared after NFKC, so that
全角 digits and ／ read as what they are. Free text is kept as written, trimmed at both ends.
An empty cell means 不明 (unknown); so do the markers real files use for it in coded columns
(不明, 非公表, 調査中, -, －).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Final

from django.utils.translation import gettext as _

from madoguchi.core.checkdigits import is_valid_lgcode, lgcode_with_check_digit
from madoguchi.opendata.errors import CellError, ProblemCode
from madoguchi.opendata.formats import ColumnSpec, ColumnType

__all__ = ["CellValue", "folded_to", "read_cell"]

CellValue = str | int | bool | datetime.date | None

_UNKNOWN: Final = frozenset({"不明", "非公表", "調査中", "-", "'-", "―", "‐", "ー", "−"})
_DATE: Final = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_DATE_JA: Final = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_COUNT: Final = re.compile(r"^(?:\d+|\d{1,3}(?:,\d{3})+)$")
_COUNT_MAX: Final = 2_147_483_647  # PositiveIntegerField on every database
# Characters that make a spreadsheet treat a cell as a formula (CWE-1236).
_FORMULA_START: Final = ("=", "+", "@", "\t", "\r")
_NEGATIVE_NUMBER: Final = re.compile(r"^-\d+(?:\.\d+)?$")

_FLAGS: Final = {"1": True, "0": False, "有": True, "無": False, "あり": True, "なし": False}
# Variants of allowed values seen in published files, mapped to the national value. Each maps
# into a wider national class (90代 is within 90歳以上), never across classes.
_CHOICE_VARIANTS: Final = {
    "男": "男性",
    "女": "女性",
    "90代": "90歳以上",
    "100歳以上": "90歳以上",
    "未就学児": "10歳未満",
    "就学児": "10歳未満",
}
_AGE_YEARS: Final = re.compile(r"^(\d0)歳代$")
_SINGLE_AGE: Final = re.compile(r"^\d歳$")


def _machine(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _is_unknown(value: str) -> bool:
    return value == "" or value in _UNKNOWN


def read_date(spec: ColumnSpec, raw: str) -> datetime.date | None:
    value = _machine(raw)
    if _is_unknown(value):
        return None
    match = _DATE.match(value) or _DATE_JA.match(value)
    if match is None:
        raise CellError(
            ProblemCode.DATE_FORMAT,
            _("「%(column)s」の「%(value)s」は日付として読めません（例: 2020-01-24、2020/1/24）。")
            % {"column": spec.name, "value": raw},
        )
    year, month, day = (int(part) for part in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise CellError(
            ProblemCode.DATE_IMPOSSIBLE,
            _("「%(column)s」の「%(value)s」は存在しない日付です。")
            % {"column": spec.name, "value": raw},
        ) from None


def read_count(spec: ColumnSpec, raw: str) -> int | None:
    value = _machine(raw)
    if value == "":
        return None
    if not _COUNT.match(value) or int(value.replace(",", "")) > _COUNT_MAX:
        raise CellError(
            ProblemCode.COUNT,
            _("「%(column)s」の「%(value)s」は0以上の整数ではありません。")
            % {"column": spec.name, "value": raw},
        )
    return int(value.replace(",", ""))


def _not_allowed(spec: ColumnSpec, raw: str, allowed: str) -> CellError:
    return CellError(
        ProblemCode.NOT_ALLOWED,
        _("「%(column)s」の「%(value)s」は使えない値です。使える値: %(allowed)s（不明なら空欄）。")
        % {"column": spec.name, "value": raw, "allowed": allowed},
    )


def read_flag(spec: ColumnSpec, raw: str) -> bool | None:
    value = _machine(raw)
    if _is_unknown(value):
        return None
    if value not in _FLAGS:
        raise _not_allowed(spec, raw, "1、0")
    return _FLAGS[value]


def read_choice(spec: ColumnSpec, raw: str) -> str:
    value = _machine(raw)
    if _is_unknown(value):
        return ""
    value = _CHOICE_VARIANTS.get(value, value)
    if (match := _AGE_YEARS.match(value)) and match.group(1) != "00":
        value = f"{match.group(1)}代" if match.group(1) != "90" else "90歳以上"
    elif _SINGLE_AGE.match(value):
        value = "10歳未満"
    if value not in spec.choices:
        raise _not_allowed(spec, raw, "、".join(spec.choices))
    return value


def read_code(raw: str, *, expected: str, expected_name: str) -> str:
    """Check a 全国地方公共団体コード cell against the importing municipality's code.

    Five digits are accepted as the code without its check digit, or as a six-digit code whose
    leading zero a spreadsheet dropped (北海道 010006 saved as 10006).
    """
    value = _machine(raw)
    if value == "":
        return ""
    candidates: set[str] = set()
    if value.isascii() and value.isdigit():
        if len(value) == 6:
            candidates = {value} if is_valid_lgcode(value) else set()
        elif len(value) == 5:
            candidates = {lgcode_with_check_digit(value)}
            if is_valid_lgcode("0" + value):
                candidates.add("0" + value)
    if not candidates:
        raise CellError(
            ProblemCode.CODE_FORMAT,
            _("全国地方公共団体コード「%(value)s」は正しい6桁のコードではありません。")
            % {"value": raw},
        )
    if expected not in candidates:
        raise CellError(
            ProblemCode.OTHER_MUNICIPALITY,
            _(
                "全国地方公共団体コード「%(value)s」は別の自治体のものです"
                "（取り込み先は %(name)s %(code)s）。"
            )
            % {"value": raw, "name": expected_name, "code": expected},
        )
    return expected


def read_text(spec: ColumnSpec, raw: str) -> str:
    value = raw.strip()
    if spec.max_length and len(value) > spec.max_length:
        raise CellError(
            ProblemCode.TOO_LONG,
            _("「%(column)s」が長すぎます（%(max)d文字まで、この値は%(length)d文字）。")
            % {"column": spec.name, "max": spec.max_length, "length": len(value)},
        )
    if value.startswith(_FORMULA_START) or (
        value.startswith("-") and len(value) > 1 and not _NEGATIVE_NUMBER.match(value)
    ):
        raise CellError(
            ProblemCode.FORMULA,
            _(
                "「%(column)s」の「%(value)s」は「=」「+」「-」「@」で始まるため、表計算ソフトで"
                "数式として実行されるおそれがあります。先頭の記号を取るか全角にしてください。"
            )
            % {"column": spec.name, "value": value},
        )
    return value


def read_cell(spec: ColumnSpec, raw: str) -> CellValue:
    """The value of one cell for ``spec`` (None or "" when unknown), or CellError."""
    value: CellValue
    if spec.type is ColumnType.DATE:
        value = read_date(spec, raw)
    elif spec.type is ColumnType.COUNT:
        value = read_count(spec, raw)
    elif spec.type is ColumnType.FLAG:
        value = read_flag(spec, raw)
    elif spec.type is ColumnType.CHOICE:
        value = read_choice(spec, raw)
    elif spec.type is ColumnType.NUMBER:
        value = read_text(spec, _machine(raw))
    else:
        value = read_text(spec, raw)
    if spec.required and value in (None, ""):
        raise CellError(ProblemCode.REQUIRED, _("「%(column)s」が空です。") % {"column": spec.name})
    return value


def folded_to(spec: ColumnSpec, raw: str, value: CellValue) -> str | None:
    """What ``raw`` was stored as when reading folded it, else None.

    A folding maps a value written in the file onto another national value (90代 → 90歳以上,
    男 → 男性) or a marker of unknown onto an empty cell (不明, 調査中, -); the import report
    lists each with its count, so a publisher sees what changed. "" is the empty cell.
    """
    written = _machine(raw)
    if written == "":
        return None
    if value is None or value == "":
        return ""
    if spec.type is ColumnType.CHOICE and value != written:
        assert isinstance(value, str)
        return value
    return None
