"""個人番号 fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from madoguchi.core.checkdigits import CheckDigitError, validate_mynumber
from madoguchi.procedures.fieldtypes.base import FieldType, _require_str
from madoguchi.procedures.fieldtypes.errors import FieldInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


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
