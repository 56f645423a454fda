"""Validation of a procedure's answers as a whole, and their JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from madoguchi.procedures.fieldtypes.errors import FieldInvalid, GroupInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


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


def _object_schema(specs: Sequence[FieldSpec]) -> JsonSchema:
    return {
        "type": "object",
        "properties": {spec.key: spec.json_schema() for spec in specs},
        "required": [spec.key for spec in specs if spec.required],
    }
