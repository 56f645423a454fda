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

from madoguchi.procedures.fieldtypes.bank import (
    BANK_HOLDER_CHARACTERS,
    BankAccountType,
    to_bank_kana,
)
from madoguchi.procedures.fieldtypes.base import FieldType, JsonSchema, is_blank
from madoguchi.procedures.fieldtypes.choices import CheckboxType, ChoiceType
from madoguchi.procedures.fieldtypes.dates import DateType
from madoguchi.procedures.fieldtypes.errors import (
    DefinitionError,
    FieldErrorCode,
    FieldInvalid,
    GroupInvalid,
)
from madoguchi.procedures.fieldtypes.files import FileType
from madoguchi.procedures.fieldtypes.formats import (
    EmailType,
    IntegerType,
    PhoneType,
    PostalCodeType,
)
from madoguchi.procedures.fieldtypes.group import GroupType
from madoguchi.procedures.fieldtypes.mynumber import MyNumberType
from madoguchi.procedures.fieldtypes.registry import FieldTypeRegistry, field_types
from madoguchi.procedures.fieldtypes.spec import (
    Choice,
    DateBound,
    FieldOptions,
    FieldSpec,
    specs_from_dicts,
)
from madoguchi.procedures.fieldtypes.text import AddressType, KanaType, TextType
from madoguchi.procedures.fieldtypes.validation import answers_json_schema, validate_answers

__all__ = [
    "BANK_HOLDER_CHARACTERS",
    "AddressType",
    "BankAccountType",
    "CheckboxType",
    "Choice",
    "ChoiceType",
    "DateBound",
    "DateType",
    "DefinitionError",
    "EmailType",
    "FieldErrorCode",
    "FieldInvalid",
    "FieldOptions",
    "FieldSpec",
    "FieldType",
    "FieldTypeRegistry",
    "FileType",
    "GroupInvalid",
    "GroupType",
    "IntegerType",
    "JsonSchema",
    "KanaType",
    "MyNumberType",
    "PhoneType",
    "PostalCodeType",
    "TextType",
    "answers_json_schema",
    "field_types",
    "is_blank",
    "specs_from_dicts",
    "to_bank_kana",
    "validate_answers",
]
