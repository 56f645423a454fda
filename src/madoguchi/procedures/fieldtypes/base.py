"""The base class of field types, :class:`FieldType`, and the helpers every type shares."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_text
from madoguchi.core.templatetags.madoguchi import typed_ja
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


JsonSchema = dict[str, object]


def _is_string(schema: JsonSchema) -> bool:
    """A free string (an enum or const names its values, none of them empty)."""
    if "enum" in schema or "const" in schema:
        return False
    types = schema.get("type")
    return types == "string" or (isinstance(types, list) and "string" in types)


def _forbid_empty_required_strings(schema: JsonSchema) -> None:
    """Give every required string property of ``schema`` (and of objects within) a minLength
    of 1: the server refuses "" for them (``required``), so the published schema must too."""
    properties = schema.get("properties")
    required = schema.get("required", [])
    if isinstance(properties, dict) and isinstance(required, list):
        for key in required:
            sub = properties.get(key)
            if isinstance(sub, dict) and _is_string(sub):
                sub.setdefault("minLength", 1)
        for sub in properties.values():
            if isinstance(sub, dict):
                _forbid_empty_required_strings(sub)
    items = schema.get("items")
    if isinstance(items, dict):
        _forbid_empty_required_strings(items)


def is_blank(value: object) -> bool:
    """Tell whether ``value`` counts as not answered: None, "", spaces, or containers of those."""
    if value is None:
        return True
    if isinstance(value, str):
        # A letter or digit is never removed by normalize_text: no need to normalise to know.
        return not (value[:1].isalnum() or value[-1:].isalnum()) and normalize_text(value) == ""
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

    def display_html(self, value: object, spec: FieldSpec) -> str:
        """``display`` for a page: what the resident typed in Japanese is marked ``lang="ja"``
        on a page in another language (fields mixing fixed words and typed text override it)."""
        if value is None:
            return ""
        return typed_ja(self.display_value(value, spec))

    def json_schema(self, spec: FieldSpec) -> JsonSchema:
        """Return the JSON Schema (draft 2020-12) fragment of the field's value."""
        value = copy.deepcopy(self.value_schema(spec))
        _forbid_empty_required_strings(value)
        if spec.required and _is_string(value):
            value.setdefault("minLength", 1)
        schema: JsonSchema = {"title": spec.label_ja, **value}
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
