"""Fields with a fixed format: postal code, phone number, e-mail address and integer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_digits, normalize_text
from madoguchi.procedures.fieldtypes.base import FieldType, _invalid_type, _require_str
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid
from madoguchi.procedures.fieldtypes.text import _check_length

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


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
