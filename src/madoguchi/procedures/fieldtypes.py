"""Field types of a procedure definition: cleaning, display and JSON Schema of each answer.

A procedure (特別定額給付金の申請, ...) declares its fields as data; :meth:`FieldSpec.from_dict`
reads one field of that definition and refuses a malformed one with :class:`DefinitionError`.
Residents in the web wizard, API clients and clerks importing CSV all go through
:func:`validate_answers`, so the three channels accept and refuse exactly the same input.

Cleaned values are JSON-ready (str, int, bool, dict, list or None) so that they can be stored in
a JSON column, returned by the API and cleaned again unchanged: a date is stored as
``"2024-04-01"``, a postal code as ``"6500001"``, a bank account as a dict of strings.

Errors a resident can cause are :class:`FieldInvalid` with a stable ``code`` and a Japanese
``message`` naming the fix; messages never contain the value itself, because it may be a
個人番号 and error texts reach logs.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Final, Literal

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from madoguchi.core.checkdigits import CheckDigitError, validate_mynumber
from madoguchi.core.japanese import (
    is_katakana,
    normalize_digits,
    normalize_text,
    to_halfwidth_katakana,
    to_katakana,
)
from madoguchi.procedures.jdates import DateParseError, format_japanese_date, parse_japanese_date

__all__ = [
    "BANK_HOLDER_CHARACTERS",
    "Choice",
    "DefinitionError",
    "FieldErrorCode",
    "FieldInvalid",
    "FieldOptions",
    "FieldSpec",
    "FieldType",
    "FieldTypeRegistry",
    "GroupInvalid",
    "answers_json_schema",
    "field_types",
    "is_blank",
    "specs_from_dicts",
    "to_bank_kana",
    "validate_answers",
]

JsonSchema = dict[str, object]
DateBound = datetime.date | Literal["today"]


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


class DefinitionError(ValueError):
    """A procedure definition is malformed; the message, in English, is for its author."""


def _in_english() -> bool:
    return (get_language() or "").startswith("en")


@dataclass(frozen=True)
class Choice:
    """One option of a ``choice`` field: the stored ``value`` and its labels."""

    value: str
    label_ja: str
    label_en: str = ""

    @property
    def label(self) -> str:
        """The label in the active language, Japanese when no English one is given."""
        return self.label_en if self.label_en and _in_english() else self.label_ja


@dataclass(frozen=True)
class FieldOptions:
    """The type-specific options of a field, read and checked by :meth:`FieldSpec.from_dict`.

    ``min``/``max`` bound an integer; ``min_date``/``max_date`` are a date or ``"today"``,
    resolved when an answer is cleaned. Which options a type takes is in its ``option_names``.
    """

    max_length: int | None = None
    multiline: bool = False
    min: int | None = None
    max: int | None = None
    choices: tuple[Choice, ...] = ()
    accept: tuple[str, ...] = ()
    max_bytes: int | None = None
    fields: tuple[FieldSpec, ...] = ()
    min_items: int | None = None
    max_items: int | None = None
    min_date: DateBound | None = None
    max_date: DateBound | None = None
    past_only: bool = False


_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,62}")
_SPEC_KEYS: Final = frozenset(
    {"key", "type", "label_ja", "label_en", "required", "help_ja", "help_en", "options"}
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a procedure, as declared in its definition.

    Build it with :meth:`from_dict`, which resolves ``type`` against a registry once; a spec
    constructed directly uses the module's :data:`field_types`.
    """

    key: str
    type: str
    label_ja: str
    label_en: str = ""
    required: bool = True
    help_ja: str = ""
    help_en: str = ""
    options: FieldOptions = field(default_factory=FieldOptions)
    field_type: FieldType | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The label in the active language, Japanese when no English one is given."""
        return self.label_en if self.label_en and _in_english() else self.label_ja

    @property
    def kind(self) -> FieldType:
        """The :class:`FieldType` that cleans, displays and describes this field."""
        if self.field_type is not None:
            return self.field_type
        return field_types.get(self.type)

    def clean(self, value: object) -> object:
        """Return the stored form of ``value``, or raise :class:`FieldInvalid`."""
        return self.kind.clean(value, self)

    def display(self, value: object) -> str:
        """Return a cleaned value as text for review pages and staff screens."""
        return self.kind.display(value, self)

    def json_schema(self) -> JsonSchema:
        """Return the JSON Schema (draft 2020-12) of this field's value in the API."""
        return self.kind.json_schema(self)

    @classmethod
    def from_dict(
        cls, d: Mapping[str, object], *, registry: FieldTypeRegistry | None = None
    ) -> FieldSpec:
        """Read one field of a definition (YAML loaded as a dict), or raise DefinitionError.

        ``key``, ``type`` and ``label_ja`` are required; ``label_en``, ``help_ja``, ``help_en``
        (default ``""``), ``required`` (default true) and ``options`` (a mapping) are optional.
        """
        return _spec_from_dict(
            d, registry if registry is not None else field_types, where="field", nested=False
        )


def specs_from_dicts(
    definitions: Iterable[Mapping[str, object]], *, registry: FieldTypeRegistry | None = None
) -> tuple[FieldSpec, ...]:
    """Read the fields of a procedure in order, refusing duplicate keys with DefinitionError."""
    return _specs_from_dicts(
        definitions, registry if registry is not None else field_types, where="fields", nested=False
    )


# Reading definitions ---------------------------------------------------------------------------


def _specs_from_dicts(
    definitions: object, registry: FieldTypeRegistry, *, where: str, nested: bool
) -> tuple[FieldSpec, ...]:
    if isinstance(definitions, str | bytes | Mapping) or not isinstance(definitions, Iterable):
        raise DefinitionError(f"{where} must be a list of field definitions")
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(definitions):
        if not isinstance(item, Mapping):
            raise DefinitionError(f"{where}[{index}] must be a mapping, not {type(item).__name__}")
        spec = _spec_from_dict(item, registry, where=f"{where}[{index}]", nested=nested)
        if spec.key in seen:
            raise DefinitionError(f"{where}[{index}]: duplicate key {spec.key!r}")
        seen.add(spec.key)
        specs.append(spec)
    return tuple(specs)


def _text_entry(d: Mapping[str, object], name: str, where: str, *, required: bool) -> str:
    value = d.get(name, "")
    if not isinstance(value, str):
        raise DefinitionError(f"{where}: {name!r} must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise DefinitionError(f"{where}: {name!r} is required")
    return value


def _spec_from_dict(
    d: Mapping[str, object], registry: FieldTypeRegistry, *, where: str, nested: bool
) -> FieldSpec:
    key = _text_entry(d, "key", where, required=True)
    if not _KEY.fullmatch(key):
        raise DefinitionError(
            f"{where}: key {key!r} must be 1-63 lower-case ASCII letters, digits or "
            "underscores, starting with a letter"
        )
    where = f"{where} ({key!r})"
    unknown = sorted(set(d) - _SPEC_KEYS)
    if unknown:
        raise DefinitionError(
            f"{where}: unknown keys {unknown}; type-specific settings go under 'options'"
        )
    type_name = _text_entry(d, "type", where, required=True)
    if type_name not in registry:
        raise DefinitionError(
            f"{where}: unknown type {type_name!r}; known types: {', '.join(registry.names())}"
        )
    if nested and type_name == "group":
        raise DefinitionError(f"{where}: a group cannot contain another group")
    kind = registry.get(type_name)
    required = d.get("required", True)
    if not isinstance(required, bool):
        raise DefinitionError(f"{where}: 'required' must be true or false")
    raw_options = d.get("options", {})
    if raw_options is None:
        raw_options = {}
    if not isinstance(raw_options, Mapping):
        raise DefinitionError(f"{where}: 'options' must be a mapping")
    spec = FieldSpec(
        key=key,
        type=type_name,
        label_ja=_text_entry(d, "label_ja", where, required=True),
        label_en=_text_entry(d, "label_en", where, required=False),
        required=required,
        help_ja=_text_entry(d, "help_ja", where, required=False),
        help_en=_text_entry(d, "help_en", where, required=False),
        options=_read_options(raw_options, kind, registry, where),
        field_type=kind,
    )
    kind.check_definition(spec, where)
    return spec


class _OptionReader:
    """Typed access to the raw options of one field, with errors that name the option."""

    def __init__(self, raw: Mapping[str, object], where: str) -> None:
        self.raw = raw
        self.where = where

    def error(self, name: str, expected: str) -> DefinitionError:
        return DefinitionError(f"{self.where}: option {name!r} must be {expected}")

    def integer(self, name: str, *, minimum: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None:
            return None
        # bool is an int subclass; "max: true" is a typo, not the number 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, "an integer")
        if minimum is not None and value < minimum:
            raise self.error(name, f"an integer >= {minimum}")
        return value

    def boolean(self, name: str) -> bool:
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            raise self.error(name, "true or false")
        return value

    def date_bound(self, name: str) -> DateBound | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if value == "today":
            return "today"
        # PyYAML reads an unquoted 2024-04-01 as a date already.
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(name, "'today' or an ISO date such as 2024-04-01")

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.raw.get(name)
        if value is None:
            return ()
        if not isinstance(value, list | tuple) or not value:
            raise self.error(name, "a non-empty list of strings")
        if not all(isinstance(item, str) and item for item in value):
            raise self.error(name, "a non-empty list of strings")
        return tuple(str(item) for item in value)

    def choices(self, name: str) -> tuple[Choice, ...]:
        value = self.raw.get(name)
        if value is None:
            return ()
        expected = "a non-empty list of {value, label_ja, label_en}"
        if not isinstance(value, list | tuple) or not value:
            raise self.error(name, expected)
        choices: list[Choice] = []
        for index, item in enumerate(value):
            where = f"{self.where}: {name}[{index}]"
            if not isinstance(item, Mapping):
                raise DefinitionError(f"{where} must be a mapping of value, label_ja, label_en")
            unknown = sorted(set(item) - {"value", "label_ja", "label_en"})
            if unknown:
                raise DefinitionError(f"{where}: unknown keys {unknown}")
            choice = Choice(
                value=_text_entry(item, "value", where, required=True),
                label_ja=_text_entry(item, "label_ja", where, required=True),
                label_en=_text_entry(item, "label_en", where, required=False),
            )
            if any(other.value == choice.value for other in choices):
                raise DefinitionError(f"{where}: duplicate value {choice.value!r}")
            choices.append(choice)
        return tuple(choices)


def _read_options(
    raw: Mapping[str, object], kind: FieldType, registry: FieldTypeRegistry, where: str
) -> FieldOptions:
    unknown = sorted(set(raw) - kind.option_names)
    if unknown:
        takes = ", ".join(sorted(kind.option_names)) or "no options"
        raise DefinitionError(
            f"{where}: options {unknown} do not apply to type {kind.name!r} (it takes: {takes})"
        )
    for name in sorted(kind.required_options):
        if raw.get(name) is None:
            raise DefinitionError(f"{where}: type {kind.name!r} needs the option {name!r}")
    read = _OptionReader(raw, where)
    fields: tuple[FieldSpec, ...] = ()
    if raw.get("fields") is not None:
        fields = _specs_from_dicts(raw["fields"], registry, where=f"{where} fields", nested=True)
        if not fields:
            raise read.error("fields", "a non-empty list of field definitions")
    options = FieldOptions(
        max_length=read.integer("max_length", minimum=1),
        multiline=read.boolean("multiline"),
        min=read.integer("min"),
        max=read.integer("max"),
        choices=read.choices("choices"),
        accept=tuple(mime.lower() for mime in read.strings("accept")),
        max_bytes=read.integer("max_bytes", minimum=1),
        fields=fields,
        min_items=read.integer("min_items", minimum=0),
        max_items=read.integer("max_items", minimum=1),
        min_date=read.date_bound("min_date"),
        max_date=read.date_bound("max_date"),
        past_only=read.boolean("past_only"),
    )
    if options.min is not None and options.max is not None and options.min > options.max:
        raise DefinitionError(f"{where}: option 'min' is greater than 'max'")
    if (
        options.min_items is not None
        and options.max_items is not None
        and options.min_items > options.max_items
    ):
        raise DefinitionError(f"{where}: option 'min_items' is greater than 'max_items'")
    min_date, max_date = options.min_date, options.max_date
    if (
        isinstance(min_date, datetime.date)
        and isinstance(max_date, datetime.date)
        and min_date > max_date
    ):
        raise DefinitionError(f"{where}: option 'min_date' is later than 'max_date'")
    return options


# Field types -----------------------------------------------------------------------------------


def is_blank(value: object) -> bool:
    """Tell whether ``value`` counts as not answered: None, "", spaces, or containers of those."""
    if value is None:
        return True
    if isinstance(value, str):
        return normalize_text(value) == ""
    if isinstance(value, Mapping):
        return all(is_blank(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(is_blank(item) for item in value)
    return False


def _invalid_type(spec: FieldSpec) -> FieldInvalid:
    return FieldInvalid(
        FieldErrorCode.INVALID_TYPE,
        _("%(label)sの値の形式が正しくありません。") % {"label": spec.label},
    )


def _require_str(value: object, spec: FieldSpec) -> str:
    if not isinstance(value, str):
        raise _invalid_type(spec)
    return value


def _allow_null(schema: JsonSchema) -> None:
    """Let an optional field's schema accept null, however its type is expressed."""
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    one_of = schema.get("oneOf")
    if isinstance(one_of, list):
        schema["oneOf"] = [*one_of, {"type": "null"}]


class FieldType(ABC):
    """How one kind of field is cleaned, displayed and described.

    Subclasses implement :meth:`clean_value`, :meth:`value_schema` and, where the stored form
    is not already readable, :meth:`display_value`; the public methods handle blank answers,
    titles and nullability the same way for every type.
    """

    name: ClassVar[str]
    option_names: ClassVar[frozenset[str]] = frozenset()
    required_options: ClassVar[frozenset[str]] = frozenset()

    def clean(self, value: object, spec: FieldSpec) -> object:
        """Return the stored form of ``value``; None for a blank optional answer."""
        if is_blank(value):
            if spec.required:
                raise self.required_error(spec)
            return None
        return self.clean_value(value, spec)

    @abstractmethod
    def clean_value(self, value: object, spec: FieldSpec) -> object:
        """Return the stored form of a non-blank ``value``, or raise FieldInvalid."""

    def required_error(self, spec: FieldSpec) -> FieldInvalid:
        return FieldInvalid(
            FieldErrorCode.REQUIRED, _("%(label)sを入力してください。") % {"label": spec.label}
        )

    def display(self, value: object, spec: FieldSpec) -> str:
        """Return a cleaned value as text; "" when there is none."""
        if value is None:
            return ""
        return self.display_value(value, spec)

    def display_value(self, value: object, spec: FieldSpec) -> str:
        return str(value)

    def json_schema(self, spec: FieldSpec) -> JsonSchema:
        """Return the JSON Schema (draft 2020-12) fragment of the field's value."""
        schema: JsonSchema = {"title": spec.label_ja, **self.value_schema(spec)}
        if spec.help_ja:
            schema["description"] = spec.help_ja
        if not spec.required:
            _allow_null(schema)
        return schema

    @abstractmethod
    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        """Return the schema of a present value, without title or nullability."""

    def check_definition(self, spec: FieldSpec, where: str) -> None:  # noqa: B027
        """Raise DefinitionError for option values this type cannot work with (none by default)."""


# Text, kana, address ---------------------------------------------------------------------------

_DEFAULT_MAX_LENGTH: Final = 200
_LINE_BREAKS: Final = re.compile(r"\r\n|\r|\n")
# Bidirectional overrides and isolates can make a staff screen show text in another order than it
# is stored (a classic spoofing trick); nothing a resident types needs them.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _check_characters(text: str, spec: FieldSpec, *, multiline: bool) -> None:
    for char in text:
        if char in "\r\n":
            if multiline:
                continue
            raise FieldInvalid(
                FieldErrorCode.LINE_BREAK,
                _("%(label)sは改行せずに1行で入力してください。") % {"label": spec.label},
            )
        # A tab pasted from a spreadsheet is whitespace to a person; normalize_text makes it a
        # space. Every other control character is refused rather than silently dropped.
        # Lone surrogates (category Cs) cannot be encoded, stored or encrypted.
        if char != "\t" and (unicodedata.category(char) in {"Cc", "Cs"} or char in _BIDI_CONTROLS):
            raise FieldInvalid(
                FieldErrorCode.CONTROL_CHARACTER,
                _("%(label)sに入力できない制御文字が含まれています。入力し直してください。")
                % {"label": spec.label},
            )


def _check_length(text: str, spec: FieldSpec, limit: int) -> None:
    if len(text) > limit:
        raise FieldInvalid(
            FieldErrorCode.TOO_LONG,
            _("%(label)sは%(max)d文字以内で入力してください（現在%(length)d文字）。")
            % {"label": spec.label, "max": limit, "length": len(text)},
        )


class TextType(FieldType):
    """Free text, :func:`normalize_text` applied; with ``multiline``, line by line."""

    name = "text"
    option_names = frozenset({"max_length", "multiline"})

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        text = _require_str(value, spec)
        multiline = spec.options.multiline
        _check_characters(text, spec, multiline=multiline)
        if multiline:
            lines = (normalize_text(line) for line in _LINE_BREAKS.split(text))
            text = "\n".join(lines).strip("\n")
        else:
            text = normalize_text(text)
        _check_length(text, spec, spec.options.max_length or _DEFAULT_MAX_LENGTH)
        return text

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {"type": "string", "maxLength": spec.options.max_length or _DEFAULT_MAX_LENGTH}


class AddressType(TextType):
    """An address on one line (normalize_text, 200 characters unless ``max_length``)."""

    name = "address"
    option_names = frozenset({"max_length"})


class KanaType(FieldType):
    """フリガナ: katakana after normalisation; 半角 and ひらがな are converted, spaces kept."""

    name = "kana"
    option_names = frozenset({"max_length"})

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        text = to_katakana(normalize_text(_require_str(value, spec)))
        if not is_katakana(text):
            raise FieldInvalid(
                FieldErrorCode.NOT_KATAKANA,
                _("%(label)sはカタカナで入力してください（例：ヤマダ タロウ）。")
                % {"label": spec.label},
            )
        _check_length(text, spec, spec.options.max_length or _DEFAULT_MAX_LENGTH)
        return text

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {
            "type": "string",
            "maxLength": spec.options.max_length or _DEFAULT_MAX_LENGTH,
            "examples": ["ヤマダ タロウ"],
        }


# Dates -----------------------------------------------------------------------------------------


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


# Postal code, phone, e-mail, integer -----------------------------------------------------------

_POSTAL_CODE: Final = re.compile(r"[0-9]{7}")
_PHONE: Final = re.compile(r"0[0-9]{9,10}")
_PHONE_PUNCTUATION: Final = {ord(char): None for char in "()"}
_EMAIL_LOCAL: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_EMAIL_DOMAIN: Final = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_EMAIL_MAX_LENGTH: Final = 254
_INTEGER: Final = re.compile(r"[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,18})")


class PostalCodeType(FieldType):
    """郵便番号: 7 digits, with or without hyphen or 〒; stored "6500001", shown "650-0001"."""

    name = "postal_code"

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        text = normalize_digits(normalize_text(_require_str(value, spec))).removeprefix("〒")
        if not _POSTAL_CODE.fullmatch(text):
            raise FieldInvalid(
                FieldErrorCode.POSTAL_CODE_FORMAT,
                _("%(label)sは7桁の数字で入力してください（例：650-0001）。")
                % {"label": spec.label},
            )
        return text

    def display_value(self, value: object, spec: FieldSpec) -> str:
        text = str(value)
        return f"{text[:3]}-{text[3:]}" if _POSTAL_CODE.fullmatch(text) else text

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {"type": "string", "examples": ["650-0001"]}


class PhoneType(FieldType):
    """A Japanese phone number: 10 or 11 digits from 0, stored without hyphens.

    Hyphens, spaces and parentheses are removed; +81 is read as the leading 0.
    """

    name = "phone"

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        text = normalize_digits(normalize_text(_require_str(value, spec)))
        text = text.translate(_PHONE_PUNCTUATION)
        if text.startswith("+81"):
            text = "0" + text[3:].removeprefix("0")
        if not _PHONE.fullmatch(text):
            raise FieldInvalid(
                FieldErrorCode.PHONE_FORMAT,
                _(
                    "%(label)sは0から始まる10桁または11桁の数字で入力してください"
                    "（例：078-331-8181）。"
                )
                % {"label": spec.label},
            )
        return text

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {"type": "string", "examples": ["078-331-8181"]}


class EmailType(FieldType):
    """An e-mail address; the domain is lower-cased, the local part kept as typed.

    The local part allows consecutive dots and a dot before @: older docomo and au addresses
    have them, and residents still use those addresses.
    """

    name = "email"

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        text = normalize_text(_require_str(value, spec))
        local, _at, domain = text.rpartition("@")
        domain = domain.lower()
        if not (_EMAIL_LOCAL.fullmatch(local) and _EMAIL_DOMAIN.fullmatch(domain)):
            raise FieldInvalid(
                FieldErrorCode.EMAIL_FORMAT,
                _("%(label)sの形式が正しくありません（例：taro@example.jp）。")
                % {"label": spec.label},
            )
        address = f"{local}@{domain}"
        _check_length(address, spec, _EMAIL_MAX_LENGTH)
        return address

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {"type": "string", "format": "email", "maxLength": _EMAIL_MAX_LENGTH}


class IntegerType(FieldType):
    """An integer: a JSON number or text with 全角 digits and thousands commas ("1,000")."""

    name = "integer"
    option_names = frozenset({"min", "max"})

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        if isinstance(value, bool):
            raise _invalid_type(spec)
        if isinstance(value, int):
            number = value
        else:
            text = normalize_text(_require_str(value, spec)).replace(" ", "")
            if not _INTEGER.fullmatch(text):
                raise FieldInvalid(
                    FieldErrorCode.INTEGER_FORMAT,
                    _("%(label)sは整数で入力してください（例：1000）。") % {"label": spec.label},
                )
            number = int(text.replace(",", ""))
        low, high = spec.options.min, spec.options.max
        if (low is not None and number < low) or (high is not None and number > high):
            raise FieldInvalid(FieldErrorCode.INTEGER_RANGE, _range_message(spec, low, high))
        return number

    def display_value(self, value: object, spec: FieldSpec) -> str:
        return f"{value:,}" if isinstance(value, int) else str(value)

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        schema: JsonSchema = {"type": "integer"}
        if spec.options.min is not None:
            schema["minimum"] = spec.options.min
        if spec.options.max is not None:
            schema["maximum"] = spec.options.max
        return schema


def _range_message(spec: FieldSpec, low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return _("%(label)sは%(min)sから%(max)sまでの整数で入力してください。") % {
            "label": spec.label,
            "min": f"{low:,}",
            "max": f"{high:,}",
        }
    if low is not None:
        return _("%(label)sは%(min)s以上の整数で入力してください。") % {
            "label": spec.label,
            "min": f"{low:,}",
        }
    return _("%(label)sは%(max)s以下の整数で入力してください。") % {
        "label": spec.label,
        "max": f"{high:,}",
    }


# Choice, checkbox ------------------------------------------------------------------------------


class ChoiceType(FieldType):
    """One of ``choices``, given by its value or by its exact Japanese label; stores the value."""

    name = "choice"
    option_names = frozenset({"choices"})
    required_options = frozenset({"choices"})

    def required_error(self, spec: FieldSpec) -> FieldInvalid:
        return FieldInvalid(
            FieldErrorCode.REQUIRED, _("%(label)sを選択してください。") % {"label": spec.label}
        )

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        # A JSON client may send 1 for the value "1"; bool is excluded, True is not "True".
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = normalize_text(_require_str(value, spec))
        for choice in spec.options.choices:
            if text == choice.value:
                return choice.value
        for choice in spec.options.choices:
            if text == normalize_text(choice.label_ja):
                return choice.value
        raise FieldInvalid(
            FieldErrorCode.CHOICE_INVALID,
            _("%(label)sは選択肢の中から選んでください。") % {"label": spec.label},
        )

    def display_value(self, value: object, spec: FieldSpec) -> str:
        for choice in spec.options.choices:
            if choice.value == value:
                return choice.label
        return str(value)

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {
            "oneOf": [
                {"const": choice.value, "title": choice.label_ja} for choice in spec.options.choices
            ],
        }


_CHECKED: Final = frozenset({"on", "true", "1", "yes", "はい"})
_UNCHECKED: Final = frozenset({"off", "false", "0", "no", "いいえ"})


class CheckboxType(FieldType):
    """A tick box. ``required`` means it must be ticked (a consent or a declaration).

    Unlike other types a blank answer is stored as False, not None: an unticked HTML checkbox
    sends nothing, so blank and "false" mean the same thing.
    """

    name = "checkbox"

    def required_error(self, spec: FieldSpec) -> FieldInvalid:
        # The label of a consent box is a sentence; the message does not repeat it.
        return FieldInvalid(FieldErrorCode.REQUIRED, _("確認のうえチェックを入れてください。"))

    def clean(self, value: object, spec: FieldSpec) -> object:
        checked = False if is_blank(value) else self.clean_value(value, spec)
        if spec.required and not checked:
            raise self.required_error(spec)
        return checked

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return value == 1
        if isinstance(value, str):
            text = normalize_text(value).lower()
            if text in _CHECKED:
                return True
            if text in _UNCHECKED:
                return False
        raise FieldInvalid(
            FieldErrorCode.CHECKBOX_FORMAT,
            _("%(label)sは「はい」か「いいえ」で指定してください。") % {"label": spec.label},
        )

    def display_value(self, value: object, spec: FieldSpec) -> str:
        return _("はい") if value is True else _("いいえ")

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {"type": "boolean", "const": True} if spec.required else {"type": "boolean"}


# Files -----------------------------------------------------------------------------------------

_DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
_MEGABYTE: Final = 1024 * 1024
_KILOBYTE: Final = 1024
_MIME_NAMES: Final = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/tiff": "TIFF",
    "text/csv": "CSV",
}


def _format_bytes(size: int, *, round_up: bool) -> str:
    """Return ``size`` as "1.5 MB" or "200 KB"; the rounding direction avoids a size over the
    limit being shown as equal to it."""
    rounding = math.ceil if round_up else math.floor
    if size >= _MEGABYTE:
        tenths = rounding(size * 10 / _MEGABYTE)
        return f"{tenths // 10} MB" if tenths % 10 == 0 else f"{tenths / 10:.1f} MB"
    if size >= _KILOBYTE:
        return f"{rounding(size / _KILOBYTE)} KB"
    return f"{size} B"


_MIME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*)")


def _mime_matches(content_type: str, pattern: str) -> bool:
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return content_type == pattern


def _mime_name(pattern: str) -> str:
    if pattern == "image/*":
        return _("画像")
    return _MIME_NAMES.get(pattern, pattern)


class FileType(FieldType):
    """A reference to an uploaded file, ``{id, content_type, size, name}``.

    The upload and its content sniffing happen elsewhere; this checks the declared type against
    ``accept`` (``image/*`` allowed) and the size against ``max_bytes`` (10 MiB by default).
    """

    name = "file"
    option_names = frozenset({"accept", "max_bytes"})
    required_options = frozenset({"accept"})

    def required_error(self, spec: FieldSpec) -> FieldInvalid:
        return FieldInvalid(
            FieldErrorCode.REQUIRED,
            _("%(label)sのファイルを選択してください。") % {"label": spec.label},
        )

    def check_definition(self, spec: FieldSpec, where: str) -> None:
        for pattern in spec.options.accept:
            if not _MIME_PATTERN.fullmatch(pattern):
                raise DefinitionError(
                    f"{where}: accept entry {pattern!r} is not a MIME type such as "
                    "'application/pdf' or 'image/*'"
                )

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        reference = value if isinstance(value, Mapping) else {}
        file_id, content_type = reference.get("id"), reference.get("content_type")
        size, name = reference.get("size"), reference.get("name")
        if not (
            isinstance(file_id, str)
            and file_id
            and isinstance(content_type, str)
            and isinstance(size, int)
            and not isinstance(size, bool)
            and size >= 0
            and isinstance(name, str)
        ):
            raise FieldInvalid(
                FieldErrorCode.FILE_REFERENCE,
                _("%(label)sのファイルをもう一度選択してください。") % {"label": spec.label},
            )
        content_type = content_type.split(";", 1)[0].strip().lower()
        accept = spec.options.accept
        if not any(_mime_matches(content_type, pattern) for pattern in accept):
            raise FieldInvalid(
                FieldErrorCode.FILE_TYPE,
                _("%(label)sには%(types)sのファイルを選択してください。")
                % {"label": spec.label, "types": "、".join(_mime_name(p) for p in accept)},
            )
        limit = spec.options.max_bytes or _DEFAULT_MAX_BYTES
        if size > limit:
            raise FieldInvalid(
                FieldErrorCode.FILE_TOO_LARGE,
                _("%(label)sのファイルは%(max)s以下にしてください（選択したファイルは%(size)s）。")
                % {
                    "label": spec.label,
                    "max": _format_bytes(limit, round_up=False),
                    "size": _format_bytes(size, round_up=True),
                },
            )
        return {"id": file_id, "content_type": content_type, "size": size, "name": name}

    def display_value(self, value: object, spec: FieldSpec) -> str:
        if not isinstance(value, Mapping):
            return str(value)
        size = value.get("size")
        size_text = _format_bytes(size, round_up=True) if isinstance(size, int) else ""
        kind = _MIME_NAMES.get(str(value.get("content_type")), str(value.get("content_type")))
        return f"{value.get('name')}（{kind}、{size_text}）"

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        accept = spec.options.accept
        content_type: JsonSchema = {"type": "string"}
        if not any(pattern.endswith("/*") for pattern in accept):
            content_type["enum"] = list(accept)
        return {
            "type": "object",
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "content_type": content_type,
                "size": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": spec.options.max_bytes or _DEFAULT_MAX_BYTES,
                },
                "name": {"type": "string"},
            },
            "required": ["id", "content_type", "size", "name"],
        }


# 個人番号 --------------------------------------------------------------------------------------


class MyNumberType(FieldType):
    """個人番号: 12 digits with a valid check digit; shown masked except the last 4 digits."""

    name = "mynumber"

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        # A number would lose leading zeros; only text is accepted.
        try:
            return validate_mynumber(_require_str(value, spec))
        except CheckDigitError as error:
            raise FieldInvalid(error.code.value, error.message) from error

    def display_value(self, value: object, spec: FieldSpec) -> str:
        text = str(value)
        return "*" * 8 + text[-4:] if len(text) == 12 else "*" * 12

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        # Never echoed back by the API: responses show the masked form only.
        return {"type": "string", "writeOnly": True}


# Bank account ----------------------------------------------------------------------------------

_HALFWIDTH_KANA_LETTERS: Final = "".join(chr(code) for code in range(0xFF71, 0xFF9E))  # ｱ..ﾝ
# What 全銀協 transfer files accept in a 受取人名 (JAPAN_SPECS.md): 半角カナ with ﾞ and ﾟ as
# separate characters, upper-case letters, digits, space and ( ) . - /. Not ｦ, ｰ, ･ or small kana.
BANK_HOLDER_CHARACTERS: Final = frozenset(
    _HALFWIDTH_KANA_LETTERS + "ﾞﾟ" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + " ().-/"
)
_BANK_HOLDER_MAX_LENGTH: Final = 30
# Kana without a half-width form, written the way banks register them.
_BANK_FULLWIDTH_FOLD: Final = str.maketrans(
    {"ヰ": "イ", "ヱ": "エ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ", "ヸ": "イ゛", "ヹ": "エ゛"}
)
# Small kana become large (ｷｬ -> ｷﾔ), as banks require; ｦ has the sound of ｵ; the 長音 is written
# as a hyphen and ・ between the parts of a foreign name as a space.
_BANK_HALFWIDTH_FOLD: Final = str.maketrans(
    {
        "ｧ": "ｱ",
        "ｨ": "ｲ",
        "ｩ": "ｳ",
        "ｪ": "ｴ",
        "ｫ": "ｵ",
        "ｯ": "ﾂ",
        "ｬ": "ﾔ",
        "ｭ": "ﾕ",
        "ｮ": "ﾖ",
        "ｦ": "ｵ",
        "ｰ": "-",
        "･": " ",
    }
)
_SPACES: Final = re.compile(r" {2,}")


def to_bank_kana(text: str) -> str:
    """Return ``text`` in the characters of a bank transfer name, as far as they convert.

    全角 and 半角 katakana and ひらがな become 半角カナ with small kana made large
    ("きゃっしゅ" -> "ｷﾔﾂｼﾕ"), ASCII letters become upper case, ー becomes "-" and ・ a space.
    Characters with no such form (kanji, 「」, …) are kept: check the result against
    :data:`BANK_HOLDER_CHARACTERS`. The function is idempotent.
    """
    converted = to_katakana(normalize_text(text)).translate(_BANK_FULLWIDTH_FOLD)
    converted = to_halfwidth_katakana(converted.upper()).translate(_BANK_HALFWIDTH_FOLD)
    return _SPACES.sub(" ", converted).strip()


_ACCOUNT_TYPES: Final = {
    "普通": "普通",
    "普通預金": "普通",
    "1": "普通",
    "futsu": "普通",
    "futsuu": "普通",
    "当座": "当座",
    "当座預金": "当座",
    "2": "当座",
    "toza": "当座",
    "touza": "当座",
}
_BANK_PARTS: Final = ("bank_code", "branch_code", "account_type", "account_number", "holder_name")
_JAPAN_POST_BANK: Final = "9900"  # ゆうちょ銀行


def _part_label(part: str) -> str:
    labels = {
        "bank_code": _("金融機関コード"),
        "branch_code": _("支店コード"),
        "account_type": _("預金種目"),
        "account_number": _("口座番号"),
        "holder_name": _("口座名義"),
    }
    return labels[part]


def _digits_part(value: object, length: int) -> str | None:
    """Return ``value`` as exactly ``length`` ASCII digits, or None."""
    if not isinstance(value, str):
        return None
    text = normalize_digits(normalize_text(value))
    return text if len(text) == length and text.isascii() and text.isdigit() else None


class BankAccountType(FieldType):
    """A Japanese bank account for a transfer: bank, branch, type, number and holder name.

    Stored as a dict of strings; the account number is left-padded to 7 digits and the holder
    name converted with :func:`to_bank_kana`. The first failing part is named in ``subfield``.
    """

    name = "bank_account"

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        if not isinstance(value, Mapping):
            raise _invalid_type(spec)
        for part in _BANK_PARTS:
            if is_blank(value.get(part)):
                if part == "account_type":
                    message = _("預金種目を選択してください。")
                else:
                    message = _("%(part)sを入力してください。") % {"part": _part_label(part)}
                raise FieldInvalid(FieldErrorCode.REQUIRED, message, part)
        bank_code = _digits_part(value["bank_code"], 4)
        if bank_code is None:
            raise FieldInvalid(
                FieldErrorCode.BANK_CODE_FORMAT,
                _("金融機関コードは4桁の数字で入力してください（例：0001）。"),
                "bank_code",
            )
        branch_code = _digits_part(value["branch_code"], 3)
        if branch_code is None:
            raise FieldInvalid(
                FieldErrorCode.BRANCH_CODE_FORMAT,
                _("支店コードは3桁の数字で入力してください（例：001）。"),
                "branch_code",
            )
        return {
            "bank_code": bank_code,
            "branch_code": branch_code,
            "account_type": self._account_type(value["account_type"]),
            "account_number": self._account_number(value["account_number"], bank_code),
            "holder_name": self._holder_name(value["holder_name"]),
        }

    def _account_type(self, value: object) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        account_type = None
        if isinstance(value, str):
            account_type = _ACCOUNT_TYPES.get(normalize_text(value).lower())
        if account_type is None:
            raise FieldInvalid(
                FieldErrorCode.ACCOUNT_TYPE_INVALID,
                _("預金種目は「普通」か「当座」を選択してください。"),
                "account_type",
            )
        return account_type

    def _account_number(self, value: object, bank_code: str) -> str:
        text = normalize_digits(normalize_text(value)) if isinstance(value, str) else ""
        if 1 <= len(text) <= 7 and text.isascii() and text.isdigit():
            # Passbooks print 7 digits but residents often drop the leading zeros.
            return text.zfill(7)
        if bank_code == _JAPAN_POST_BANK:
            # A ゆうちょ passbook shows a 記号 and an 8-digit 番号, which are not a transfer
            # account; residents type them here more than any other mistake.
            message = _(
                "ゆうちょ銀行の口座は、記号・番号ではなく振込用の店番と口座番号（7桁）を"
                "入力してください。"
            )
        else:
            message = _("口座番号は7桁以内の数字で入力してください。")
        raise FieldInvalid(FieldErrorCode.ACCOUNT_NUMBER_FORMAT, message, "account_number")

    def _holder_name(self, value: object) -> str:
        if not isinstance(value, str):
            raise FieldInvalid(
                FieldErrorCode.HOLDER_NAME_NOT_KANA,
                _("口座名義はカナで入力してください。"),
                "holder_name",
            )
        name = to_bank_kana(value)
        refused = [char for char in name if char not in BANK_HOLDER_CHARACTERS]
        if any(unicodedata.category(char).startswith("L") for char in refused):
            raise FieldInvalid(
                FieldErrorCode.HOLDER_NAME_NOT_KANA,
                _("口座名義はカナで入力してください。"),
                "holder_name",
            )
        if refused:
            raise FieldInvalid(
                FieldErrorCode.HOLDER_NAME_SYMBOL,
                _("口座名義に使える記号は ( ) . - / だけです。"),
                "holder_name",
            )
        if len(name) > _BANK_HOLDER_MAX_LENGTH:
            raise FieldInvalid(
                FieldErrorCode.TOO_LONG,
                _("口座名義は半角%(max)d文字以内で入力してください（濁点も1文字です）。")
                % {"max": _BANK_HOLDER_MAX_LENGTH},
                "holder_name",
            )
        return name

    def display_value(self, value: object, spec: FieldSpec) -> str:
        if not isinstance(value, Mapping):
            return str(value)
        return "／".join(
            f"{_part_label(part)} {value.get(part, '')}"
            if part != "account_type"
            else str(value.get(part, ""))
            for part in _BANK_PARTS
        )

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {
            "type": "object",
            "properties": {
                "bank_code": {"type": "string", "examples": ["0001"]},
                "branch_code": {"type": "string", "examples": ["001"]},
                "account_type": {"type": "string", "enum": ["普通", "当座"]},
                "account_number": {"type": "string", "examples": ["1234567"]},
                "holder_name": {"type": "string", "examples": ["ﾔﾏﾀﾞ ﾀﾛｳ"]},
            },
            "required": list(_BANK_PARTS),
        }


# Repeating groups ------------------------------------------------------------------------------

# Bounds the work one request can cause when a definition sets no max_items.
_DEFAULT_MAX_ITEMS: Final = 100


class GroupType(FieldType):
    """A repeating list of items (世帯員, ...), each a dict validated with ``fields``.

    Every item is validated and all item errors are raised together as :class:`GroupInvalid`.
    More items than ``max_items`` (100 by default) are refused before any item is looked at.
    """

    name = "group"
    option_names = frozenset({"fields", "min_items", "max_items"})
    required_options = frozenset({"fields"})

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        entries = list(value) if isinstance(value, list | tuple) else []
        value = [entry for entry in entries if isinstance(entry, Mapping)]
        if not entries or len(value) != len(entries):
            raise FieldInvalid(
                FieldErrorCode.GROUP_FORMAT,
                _("%(label)sの値の形式が正しくありません。") % {"label": spec.label},
            )
        options = spec.options
        limit = options.max_items or _DEFAULT_MAX_ITEMS
        if len(value) > limit:
            raise FieldInvalid(
                FieldErrorCode.TOO_MANY_ITEMS,
                _("%(label)sは%(max)d件までにしてください。") % {"label": spec.label, "max": limit},
            )
        items: list[dict[str, object]] = []
        errors: dict[tuple[int, str], FieldInvalid] = {}
        for index, item in enumerate(value):
            cleaned, item_errors = validate_answers(options.fields, item)
            items.append(cleaned)
            errors.update(((index, key), error) for key, error in item_errors.items())
        count_error = None
        if options.min_items is not None and len(value) < options.min_items:
            count_error = FieldInvalid(
                FieldErrorCode.TOO_FEW_ITEMS,
                _("%(label)sは%(min)d件以上入力してください。")
                % {"label": spec.label, "min": options.min_items},
            )
        if errors:
            failed = sorted({index for index, _key in errors})
            numbers = "、".join(_("%(number)d件目") % {"number": index + 1} for index in failed)
            message = _("%(label)sの%(items)sに誤りがあります。") % {
                "label": spec.label,
                "items": numbers,
            }
            raise GroupInvalid(errors, message, count_error=count_error)
        if count_error is not None:
            raise count_error
        return items

    def display_value(self, value: object, spec: FieldSpec) -> str:
        if not isinstance(value, list | tuple):
            return str(value)
        lines = []
        for number, item in enumerate(value, start=1):
            if not isinstance(item, Mapping):
                continue
            parts = ((sub.label, sub.display(item.get(sub.key))) for sub in spec.options.fields)
            lines.append(
                f"{number}. " + "／".join(f"{label}：{text}" for label, text in parts if text)
            )
        return "\n".join(lines)

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        schema: JsonSchema = {
            "type": "array",
            "items": _object_schema(spec.options.fields),
            "maxItems": spec.options.max_items or _DEFAULT_MAX_ITEMS,
        }
        if spec.options.min_items is not None:
            schema["minItems"] = spec.options.min_items
        return schema


def _object_schema(specs: Sequence[FieldSpec]) -> JsonSchema:
    return {
        "type": "object",
        "properties": {spec.key: spec.json_schema() for spec in specs},
        "required": [spec.key for spec in specs if spec.required],
    }


# Registry and validation -----------------------------------------------------------------------


class FieldTypeRegistry:
    """The field types a definition may use, by name; tests derive theirs with ``with_types``."""

    def __init__(self, types: Iterable[FieldType] = ()) -> None:
        self._types: dict[str, FieldType] = {}
        for kind in types:
            self.register(kind)

    def register(self, kind: FieldType) -> FieldType:
        """Add ``kind``; a name can be registered once."""
        if kind.name in self._types:
            raise ValueError(f"field type {kind.name!r} is already registered")
        self._types[kind.name] = kind
        return kind

    def get(self, name: str) -> FieldType:
        """Return the type called ``name``; KeyError when there is none."""
        return self._types[name]

    def with_types(self, *types: FieldType) -> FieldTypeRegistry:
        """Return a copy in which ``types`` replace the registered types of the same name."""
        replaced = dict(self._types)
        replaced.update((kind.name, kind) for kind in types)
        return FieldTypeRegistry(replaced.values())

    def names(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[FieldType]:
        return iter(self._types.values())


field_types: Final = FieldTypeRegistry(
    [
        TextType(),
        KanaType(),
        DateType(),
        PostalCodeType(),
        AddressType(),
        PhoneType(),
        EmailType(),
        IntegerType(),
        ChoiceType(),
        CheckboxType(),
        FileType(),
        MyNumberType(),
        BankAccountType(),
        GroupType(),
    ]
)


def validate_answers(
    specs: Sequence[FieldSpec], data: Mapping[str, object]
) -> tuple[dict[str, object], dict[str, FieldInvalid | GroupInvalid]]:
    """Clean every field of ``data``; return (cleaned values, errors by key).

    Every field is validated, so one error does not hide the next, and the valid fields' values
    are returned even when others fail, for the form to keep them. A blank optional field is
    cleaned to None (False for a checkbox). Keys of ``data`` without a spec are ignored.
    """
    cleaned: dict[str, object] = {}
    errors: dict[str, FieldInvalid | GroupInvalid] = {}
    for spec in specs:
        try:
            cleaned[spec.key] = spec.clean(data.get(spec.key))
        except FieldInvalid as error:
            errors[spec.key] = error
    return cleaned, errors


def answers_json_schema(specs: Sequence[FieldSpec]) -> JsonSchema:
    """Return the JSON Schema (draft 2020-12) of a procedure's answers as one object."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **_object_schema(specs)}
