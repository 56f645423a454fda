"""Model fields for personal data: encrypted values and their blind indexes."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression
from django.utils.module_loading import import_string

from madoguchi.core.crypto import blind_index, keyring

if TYPE_CHECKING:
    # The Python value of an encrypted field is whatever its subclass stores, not str.
    _TextBase = models.TextField[Any, Any]
    _CharBase = models.CharField[Any, Any]
else:
    _TextBase = models.TextField
    _CharBase = models.CharField


class EncryptedField(_TextBase):
    """A value stored as AES-GCM ciphertext; read back transparently.

    Encrypted columns cannot be filtered on (only ``isnull``): search through a
    :class:`BlindIndexField` instead.
    """

    description = "Encrypted value"
    if TYPE_CHECKING:
        # django-stubs reads these to type model attributes and create() arguments.
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    def associated_data(self) -> bytes:
        return f"{self.model._meta.label_lower}.{self.name}".encode()

    # Subclasses convert between the Python value and the text that gets encrypted. (Not
    # named serialize/deserialize: Field.serialize is Django's dumpdata flag.)
    def to_plaintext(self, value: Any) -> str:
        return str(value)

    def from_plaintext(self, text: str) -> Any:
        return text

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        if value is None:
            return None
        return self.from_plaintext(keyring().decrypt(value, associated_data=self.associated_data()))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(self.to_plaintext(value), associated_data=self.associated_data())

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.name} is encrypted and cannot be searched with '{lookup_name}';"
                " use its blind index"
            )
        return super().get_lookup(lookup_name)


class EncryptedTextField(EncryptedField):
    description = "Encrypted text"


class EncryptedDateField(EncryptedField):
    description = "Encrypted date"

    def to_plaintext(self, value: Any) -> str:
        # A datetime is a date subclass whose isoformat() would not read back as a date.
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise TypeError(f"{self.name} needs a date, got {type(value).__name__}")
        return value.isoformat()

    def from_plaintext(self, text: str) -> datetime.date:
        return datetime.date.fromisoformat(text)


class EncryptedJSONField(EncryptedField):
    description = "Encrypted JSON"

    def to_plaintext(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def from_plaintext(self, text: str) -> Any:
        return json.loads(text)


class BlindIndexField(_CharBase):
    """HMAC of another field's normalised value, kept up to date on every save.

    ``source`` names the field it indexes, ``normalizer`` is the dotted path of a
    ``str -> str`` function applied first (so that 全角 and 半角 input index alike).
    """

    def __init__(
        self,
        *args: Any,
        source: str = "",
        normalizer: str = "",
        purpose: str = "",
        **kwargs: Any,
    ) -> None:
        self.source = source
        self.normalizer = normalizer
        self.purpose = purpose
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("null", True)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, normalizer=self.normalizer, purpose=self.purpose)
        return name, path, args, kwargs

    def index_purpose(self) -> str:
        return self.purpose or f"{self.model._meta.label_lower}.{self.source}"

    def normalize(self, value: Any) -> str:
        text = value.isoformat() if isinstance(value, datetime.date) else str(value)
        if self.normalizer:
            func: Callable[[str], str] = import_string(self.normalizer)
            text = func(text)
        return text

    def compute(self, value: Any) -> str | None:
        """The index for a plain value (use it to build lookups)."""
        if value is None or value == "":
            return None
        return blind_index(self.normalize(value), purpose=self.index_purpose())

    def pre_save(self, model_instance: models.Model, add: bool) -> str | None:
        digest = self.compute(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, digest)
        return digest
