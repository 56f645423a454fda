"""The registry of field types by name, and :data:`field_types`, the one definitions use."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from madoguchi.procedures.fieldtypes.bank import BankAccountType
from madoguchi.procedures.fieldtypes.base import FieldType
from madoguchi.procedures.fieldtypes.choices import CheckboxType, ChoiceType
from madoguchi.procedures.fieldtypes.dates import DateType
from madoguchi.procedures.fieldtypes.files import FileType
from madoguchi.procedures.fieldtypes.formats import (
    EmailType,
    IntegerType,
    PhoneType,
    PostalCodeType,
)
from madoguchi.procedures.fieldtypes.group import GroupType
from madoguchi.procedures.fieldtypes.mynumber import MyNumberType
from madoguchi.procedures.fieldtypes.text import AddressType, KanaType, TextType


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
