"""The base class of field types, :class:`FieldType`, and the helpers every type shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_text
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


JsonSchema = dict[str, object]


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
