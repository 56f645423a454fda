"""A field as declared in a procedure definition (:class:`FieldSpec`), and reading definitions."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from django.utils.translation import get_language

from madoguchi.procedures.fieldtypes.errors import DefinitionError
from madoguchi.procedures.fieldtypes.registry import FieldTypeRegistry, field_types

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import FieldType, JsonSchema


DateBound = datetime.date | Literal["today"]


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
    items_are_people: bool = False  # a group's items are people: 「1人目」, not 「1件目」
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

    def display_html(self, value: object) -> str:
        """Return a cleaned value for a page, typed Japanese marked ``lang="ja"``."""
        return self.kind.display_html(value, self)

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
            raise DefinitionError(
                f"{where}[{index}] must be a mapping, not {type(item).__name__}", path=(index,)
            )
        try:
            spec = _spec_from_dict(item, registry, where=f"{where}[{index}]", nested=nested)
        except DefinitionError as exc:
            raise exc.within(index) from None
        if spec.key in seen:
            raise DefinitionError(
                f"{where}[{index}]: duplicate key {spec.key!r}", path=(index, "key")
            )
        seen.add(spec.key)
        specs.append(spec)
    return tuple(specs)


def _text_entry(d: Mapping[str, object], name: str, where: str, *, required: bool) -> str:
    value = d.get(name, "")
    if not isinstance(value, str):
        raise DefinitionError(
            f"{where}: {name!r} must be a string, not {type(value).__name__}", path=(name,)
        )
    if required and not value.strip():
        raise DefinitionError(f"{where}: {name!r} is required", path=(name,))
    return value


def _spec_from_dict(
    d: Mapping[str, object], registry: FieldTypeRegistry, *, where: str, nested: bool
) -> FieldSpec:
    key = _text_entry(d, "key", where, required=True)
    if not _KEY.fullmatch(key):
        raise DefinitionError(
            f"{where}: key {key!r} must be 1-63 lower-case ASCII letters, digits or "
            "underscores, starting with a letter",
            path=("key",),
        )
    where = f"{where} ({key!r})"
    unknown = sorted(set(d) - _SPEC_KEYS)
    if unknown:
        raise DefinitionError(
            f"{where}: unknown keys {unknown}; type-specific settings go under 'options'",
            path=(unknown[0],),
        )
    type_name = _text_entry(d, "type", where, required=True)
    if type_name not in registry:
        raise DefinitionError(
            f"{where}: unknown type {type_name!r}; known types: {', '.join(registry.names())}",
            path=("type",),
        )
    if nested and type_name == "group":
        raise DefinitionError(f"{where}: a group cannot contain another group", path=("type",))
    kind = registry.get(type_name)
    required = d.get("required", True)
    if not isinstance(required, bool):
        raise DefinitionError(f"{where}: 'required' must be true or false", path=("required",))
    raw_options = d.get("options", {})
    if raw_options is None:
        raw_options = {}
    if not isinstance(raw_options, Mapping):
        raise DefinitionError(f"{where}: 'options' must be a mapping", path=("options",))
    spec = FieldSpec(
        key=key,
        type=type_name,
        label_ja=_text_entry(d, "label_ja", where, required=True),
        label_en=_text_entry(d, "label_en", where, required=False),
        required=required,
        help_ja=_text_entry(d, "help_ja", where, required=False),
        help_en=_text_entry(d, "help_en", where, required=False),
        options=_read_options_at(raw_options, kind, registry, where),
        field_type=kind,
    )
    try:
        kind.check_definition(spec, where)
    except DefinitionError as exc:
        raise exc.within("options") from None
    return spec


class _OptionReader:
    """Typed access to the raw options of one field, with errors that name the option."""

    def __init__(self, raw: Mapping[str, object], where: str) -> None:
        self.raw = raw
        self.where = where

    def error(self, name: str, expected: str) -> DefinitionError:
        return DefinitionError(f"{self.where}: option {name!r} must be {expected}", path=(name,))

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
                raise DefinitionError(
                    f"{where} must be a mapping of value, label_ja, label_en", path=(name, index)
                )
            unknown = sorted(set(item) - {"value", "label_ja", "label_en"})
            if unknown:
                raise DefinitionError(
                    f"{where}: unknown keys {unknown}", path=(name, index, unknown[0])
                )
            try:
                choice = Choice(
                    value=_text_entry(item, "value", where, required=True),
                    label_ja=_text_entry(item, "label_ja", where, required=True),
                    label_en=_text_entry(item, "label_en", where, required=False),
                )
            except DefinitionError as exc:
                raise exc.within(name, index) from None
            if any(other.value == choice.value for other in choices):
                raise DefinitionError(
                    f"{where}: duplicate value {choice.value!r}", path=(name, index, "value")
                )
            choices.append(choice)
        return tuple(choices)


def _read_options_at(
    raw: Mapping[str, object], kind: FieldType, registry: FieldTypeRegistry, where: str
) -> FieldOptions:
    """The options of one field; errors carry their path from the field (``options`` first)."""
    try:
        return _read_options(raw, kind, registry, where)
    except DefinitionError as exc:
        raise exc.within("options") from None


def _read_options(
    raw: Mapping[str, object], kind: FieldType, registry: FieldTypeRegistry, where: str
) -> FieldOptions:
    unknown = sorted(set(raw) - kind.option_names)
    if unknown:
        takes = ", ".join(sorted(kind.option_names)) or "no options"
        raise DefinitionError(
            f"{where}: options {unknown} do not apply to type {kind.name!r} (it takes: {takes})",
            path=(unknown[0],),
        )
    for name in sorted(kind.required_options):
        if raw.get(name) is None:
            raise DefinitionError(
                f"{where}: type {kind.name!r} needs the option {name!r}", path=(name,)
            )
    read = _OptionReader(raw, where)
    fields: tuple[FieldSpec, ...] = ()
    if raw.get("fields") is not None:
        try:
            fields = _specs_from_dicts(
                raw["fields"], registry, where=f"{where} fields", nested=True
            )
        except DefinitionError as exc:
            raise exc.within("fields") from None
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
        items_are_people=read.boolean("items_are_people"),
        min_date=read.date_bound("min_date"),
        max_date=read.date_bound("max_date"),
        past_only=read.boolean("past_only"),
    )
    if options.min is not None and options.max is not None and options.min > options.max:
        raise DefinitionError(f"{where}: option 'min' is greater than 'max'", path=("min",))
    if (
        options.min_items is not None
        and options.max_items is not None
        and options.min_items > options.max_items
    ):
        raise DefinitionError(
            f"{where}: option 'min_items' is greater than 'max_items'", path=("min_items",)
        )
    min_date, max_date = options.min_date, options.max_date
    if (
        isinstance(min_date, datetime.date)
        and isinstance(max_date, datetime.date)
        and min_date > max_date
    ):
        raise DefinitionError(
            f"{where}: option 'min_date' is later than 'max_date'", path=("min_date",)
        )
    return options
