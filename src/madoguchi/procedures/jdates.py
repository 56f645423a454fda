"""Dates as residents type them: 西暦 or 和暦, 全角 or 半角, with or without 年月日.

Accepted after :func:`~madoguchi.core.japanese.normalize_text` (全角 digits and symbols made
半角) and removal of spaces:

- 西暦: ``2024-04-01``, ``2024/4/1``, ``2024.4.1`` (one separator used twice), ``2024年4月1日``,
  ``20240401``;
- 和暦: an era as a name (令和 平成 昭和 大正 明治), its initial (R H S T M, either case) or its
  one-character ligature (㋿ ㍻ ㍼ ㍽ ㍾), a year of one or two digits or 元, then ``年月日`` or
  a separator: ``令和6年4月1日``, ``令和元年5月1日``, ``R6.4.1``, ``R06/04/01``, ``h31-4-30``.

An era date is checked against the era's first and last day from
:data:`madoguchi.core.wareki.ERAS`: 平成31年4月30日 is the last day of 平成 and 平成31年5月1日
does not exist. Dates before 明治 can be written in 西暦 only.
"""

from __future__ import annotations

import datetime
import re
from enum import StrEnum
from typing import Final

from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_text
from madoguchi.core.wareki import ERAS, format_wareki

__all__ = [
    "DateParseError",
    "DateParseErrorCode",
    "format_japanese_date",
    "parse_japanese_date",
]


class DateParseErrorCode(StrEnum):
    """Stable codes of :class:`DateParseError`."""

    FORMAT = "date_format"  # not a date in any accepted form
    INVALID = "date_invalid"  # a well-formed date that does not exist (2023-02-29)
    ERA_RANGE = "date_era_range"  # an era year, month and day outside the era (平成32年)


class DateParseError(ValueError):
    """A date could not be read; ``message`` is Japanese text naming the fix."""

    code: DateParseErrorCode
    message: str

    def __init__(self, code: DateParseErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Longer than any accepted form even with spaces; refusing early keeps the work bounded.
_MAX_INPUT_LENGTH: Final = 40

# [0-9], not \d: \d also matches other scripts' digits, which int() would read silently.
_WESTERN_SEPARATED: Final = re.compile(
    r"(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
)
_WESTERN_KANJI: Final = re.compile(
    r"(?P<year>[0-9]{4})年(?P<month>[0-9]{1,2})月(?P<day>[0-9]{1,2})日"
)
_WESTERN_COMPACT: Final = re.compile(r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})")

# Era name -> (name, first day, last day or None for the current era).
_ERA_RANGES: Final = {
    name: (name, start, None if index == 0 else ERAS[index - 1][2] - datetime.timedelta(days=1))
    for index, (name, _initial, start) in enumerate(ERAS)
}
_ERA_LIGATURES: Final = {"令和": "㋿", "平成": "㍻", "昭和": "㍼", "大正": "㍽", "明治": "㍾"}
_ERA_ALIASES: Final = {
    **{name: name for name, _initial, _start in ERAS},
    **{initial.upper(): name for name, initial, _start in ERAS},
    **{initial.lower(): name for name, initial, _start in ERAS},
    **{ligature: name for name, ligature in _ERA_LIGATURES.items()},
}
_ERA_TOKEN: Final = "|".join(re.escape(alias) for alias in sorted(_ERA_ALIASES, key=len)[::-1])
# Two digits at most: 令和2024年 is a 西暦 year typed after an era, not the year 4042.
_ERA_DATE: Final = re.compile(
    rf"(?P<era>{_ERA_TOKEN})(?P<year>[0-9]{{1,2}}|元)"
    r"(?:年(?P<kmonth>[0-9]{1,2})月(?P<kday>[0-9]{1,2})日"
    r"|(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2}))"
)


def _format_error() -> DateParseError:
    return DateParseError(
        DateParseErrorCode.FORMAT,
        _("日付は 2024-04-01 または 令和6年4月1日 の形で入力してください。"),
    )


def _make_date(year: int, month: int, day: int) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise DateParseError(
            DateParseErrorCode.INVALID,
            _("存在しない日付です。年・月・日を確認してください。"),
        ) from None


def _kanji_date(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _era_range_error(era: str) -> DateParseError:
    _name, start, end = _ERA_RANGES[era]
    if end is None:
        message = _("%(era)sは%(start)sからです。元号と年を確認してください。") % {
            "era": era,
            "start": _kanji_date(start),
        }
    else:
        message = _("%(era)sは%(start)sから%(end)sまでです。元号と年を確認してください。") % {
            "era": era,
            "start": _kanji_date(start),
            "end": _kanji_date(end),
        }
    return DateParseError(DateParseErrorCode.ERA_RANGE, message)


def _era_date(era: str, era_year: int, month: int, day: int) -> datetime.date:
    _name, start, end = _ERA_RANGES[era]
    if era_year < 1:
        raise _era_range_error(era)
    result = _make_date(start.year + era_year - 1, month, day)
    if result < start or (end is not None and result > end):
        raise _era_range_error(era)
    return result


def parse_japanese_date(text: str) -> datetime.date:
    """Return the date written in ``text`` in 西暦 or 和暦, or raise :class:`DateParseError`.

    ``"２０２４年４月１日"``, ``"2024/4/1"``, ``"R6.4.1"`` and ``"令和6年4月1日"`` all give
    ``date(2024, 4, 1)``. The code is ``date_format`` when the text is not a date,
    ``date_invalid`` when the day does not exist (2023-02-29, 令和6年13月1日) and
    ``date_era_range`` when an era date falls outside its era (平成32年1月1日, 令和元年4月30日).
    """
    if len(text) > _MAX_INPUT_LENGTH:
        raise _format_error()
    compact = normalize_text(text).replace(" ", "")
    for pattern in (_WESTERN_SEPARATED, _WESTERN_KANJI, _WESTERN_COMPACT):
        if match := pattern.fullmatch(compact):
            return _make_date(int(match["year"]), int(match["month"]), int(match["day"]))
    if match := _ERA_DATE.fullmatch(compact):
        era = _ERA_ALIASES[match["era"]]
        era_year = 1 if match["year"] == "元" else int(match["year"])
        month = match["kmonth"] or match["month"]
        day = match["kday"] or match["day"]
        return _era_date(era, era_year, int(month), int(day))
    raise _format_error()


def format_japanese_date(day: datetime.date) -> str:
    """Return ``day`` as shown on review pages: ``2024-04-01（令和6年4月1日）``.

    Dates before 明治 have no era in :data:`~madoguchi.core.wareki.ERAS` and are shown in
    西暦 only. On an English page the date is written out in English (1 April 2024): the
    和暦 means nothing to a reader of English.
    """
    if not (get_language() or "ja").startswith("ja"):
        return date_format(day, "j F Y")
    try:
        wareki = format_wareki(day)
    except ValueError:
        return day.isoformat()
    return f"{day.isoformat()}（{wareki}）"
