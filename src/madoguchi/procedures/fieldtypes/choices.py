"""Choice and checkbox fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_text
from madoguchi.procedures.fieldtypes.base import FieldType, _require_str, is_blank
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


class ChoiceType(FieldType):
    """One of ``choices``, given by its value or by its exact Japanese label; stores the value."""

    name = "choice"
    option_names = frozenset({"choices"})
    required_options = frozenset({"choices"})

    def required_error(self, spec: FieldSpec) -> FieldInvalid:
        return FieldInvalid(
            FieldErrorCode.REQUIRED, _("%(label)sを選択してください。") % {"label": spec.label}
        )

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        # A JSON client may send 1 for the value "1"; bool is excluded, True is not "True".
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = normalize_text(_require_str(value, spec))
        for choice in spec.options.choices:
            if text == choice.value:
                return choice.value
        for choice in spec.options.choices:
            if text == normalize_text(choice.label_ja):
                return choice.value
        raise FieldInvalid(
            FieldErrorCode.CHOICE_INVALID,
            _("%(label)sは選択肢の中から選んでください。") % {"label": spec.label},
        )

    def display_value(self, value: object, spec: FieldSpec) -> str:
        for choice in spec.options.choices:
            if choice.value == value:
                return choice.label
        return str(value)

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {
            "oneOf": [
                {"const": choice.value, "title": choice.label_ja} for choice in spec.options.choices
            ],
        }


_CHECKED: Final = frozenset({"on", "true", "1", "yes", "はい"})
_UNCHECKED: Final = frozenset({"off", "false", "0", "no", "いいえ"})


class CheckboxType(FieldType):
    """A tick box. ``required`` means it must be ticked (a consent or a declaration).

    Unlike other types a blank answer is stored as False, not None: an unticked HTML checkbox
    sends nothing, so blank and "false" mean the same thing.
    """

    name = "checkbox"

    def required_error(self, spec: FieldSpec) -> FieldInvalid:
        # The label of a consent box is a sentence; the message does not repeat it.
        return FieldInvalid(FieldErrorCode.REQUIRED, _("確認のうえチェックを入れてください。"))

    def clean(self, value: object, spec: FieldSpec) -> object:
        checked = False if is_blank(value) else self.clean_value(value, spec)
        if spec.required and not checked:
            raise self.required_error(spec)
        return checked

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return value == 1
        if isinstance(value, str):
            text = normalize_text(value).lower()
            if text in _CHECKED:
                return True
            if text in _UNCHECKED:
                return False
        raise FieldInvalid(
            FieldErrorCode.CHECKBOX_FORMAT,
            _("%(label)sは「はい」か「いいえ」で指定してください。") % {"label": spec.label},
        )

    def display_value(self, value: object, spec: FieldSpec) -> str:
        return _("はい") if value is True else _("いいえ")

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        return {"type": "boolean", "const": True} if spec.required else {"type": "boolean"}
