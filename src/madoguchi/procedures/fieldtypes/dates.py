"""Date fields, in 西暦 or 和暦."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.procedures.fieldtypes.base import FieldType, _invalid_type
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid
from madoguchi.procedures.jdates import DateParseError, format_japanese_date, parse_japanese_date

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import DateBound, FieldSpec


class DateType(FieldType):
    """A date in 西暦 or 和暦 (see :mod:`madoguchi.procedures.jdates`), stored as ISO text.

    ``today`` is injectable so that tests can fix the day that "today" and ``past_only`` mean.
    """

    name = "date"
    option_names = frozenset({"min_date", "max_date", "past_only"})

    def __init__(self, today: Callable[[], datetime.date] = timezone.localdate) -> None:
        self.today = today

    def _resolve(self, bound: DateBound | None) -> datetime.date | None:
        if bound is None or isinstance(bound, datetime.date):
            return bound
        return self.today()

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        # A datetime is a date subclass, but its day depends on a time zone the field lacks.
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            day = value
        elif isinstance(value, str):
            try:
                day = parse_japanese_date(value)
            except DateParseError as error:
                raise FieldInvalid(error.code.value, error.message) from error
        else:
            raise _invalid_type(spec)
        options = spec.options
        if options.past_only and day > self.today():
            raise FieldInvalid(
                FieldErrorCode.DATE_IN_FUTURE,
                _("%(label)sに未来の日付は入力できません。") % {"label": spec.label},
            )
        earliest = self._resolve(options.min_date)
        if earliest is not None and day < earliest:
            raise FieldInvalid(
                FieldErrorCode.DATE_TOO_EARLY,
                _("%(label)sは%(date)s以降の日付を入力してください。")
                % {"label": spec.label, "date": format_japanese_date(earliest)},
            )
        latest = self._resolve(options.max_date)
        if latest is not None and day > latest:
            raise FieldInvalid(
                FieldErrorCode.DATE_TOO_LATE,
                _("%(label)sは%(date)s以前の日付を入力してください。")
                % {"label": spec.label, "date": format_japanese_date(latest)},
            )
        return day.isoformat()

    def display_value(self, value: object, spec: FieldSpec) -> str:
        if isinstance(value, datetime.date):
            return format_japanese_date(value)
        if isinstance(value, str):
            try:
                return format_japanese_date(datetime.date.fromisoformat(value))
            except ValueError:
                return value
        return str(value)

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {"type": "string", "format": "date", "examples": ["2024-04-01"]}
