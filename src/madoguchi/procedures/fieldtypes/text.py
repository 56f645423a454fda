"""Text, kana and address fields."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Final

from django.utils.translation import gettext as _

from madoguchi.core.japanese import is_katakana, normalize_text, to_katakana
from madoguchi.procedures.fieldtypes.base import FieldType, _require_str
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


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
