"""Repeating groups: a list of items, each validated with the group's own fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from django.utils.html import format_html_join
from django.utils.translation import gettext as _

from madoguchi.core.templatetags.madoguchi import html_interpolate
from madoguchi.procedures.fieldtypes.base import FieldType
from madoguchi.procedures.fieldtypes.errors import FieldErrorCode, FieldInvalid, GroupInvalid
from madoguchi.procedures.fieldtypes.validation import _object_schema, validate_answers

if TYPE_CHECKING:
    from madoguchi.procedures.fieldtypes.base import JsonSchema
    from madoguchi.procedures.fieldtypes.spec import FieldSpec


# Bounds the work one request can cause when a definition sets no max_items.
_DEFAULT_MAX_ITEMS: Final = 100


class GroupType(FieldType):
    """A repeating list of items (世帯員, ...), each a dict validated with ``fields``.

    Every item is validated and all item errors are raised together as :class:`GroupInvalid`.
    More items than ``max_items`` (100 by default) are refused before any item is looked at.
    """

    name = "group"
    option_names = frozenset({"fields", "min_items", "max_items", "items_are_people"})
    required_options = frozenset({"fields"})

    def clean_value(self, value: object, spec: FieldSpec) -> object:
        entries = list(value) if isinstance(value, list | tuple) else []
        value = [entry for entry in entries if isinstance(entry, Mapping)]
        if not entries or len(value) != len(entries):
            raise FieldInvalid(
                FieldErrorCode.GROUP_FORMAT,
                _("%(label)sの値の形式が正しくありません。") % {"label": spec.label},
            )
        options = spec.options
        limit = options.max_items or _DEFAULT_MAX_ITEMS
        if len(value) > limit:
            raise FieldInvalid(
                FieldErrorCode.TOO_MANY_ITEMS,
                _("%(label)sは%(max)d件までにしてください。") % {"label": spec.label, "max": limit},
            )
        items: list[dict[str, object]] = []
        errors: dict[tuple[int, str], FieldInvalid] = {}
        for index, item in enumerate(value):
            cleaned, item_errors = validate_answers(options.fields, item)
            items.append(cleaned)
            errors.update(((index, key), error) for key, error in item_errors.items())
        count_error = None
        if options.min_items is not None and len(value) < options.min_items:
            count_error = FieldInvalid(
                FieldErrorCode.TOO_FEW_ITEMS,
                _("%(label)sは%(min)d件以上入力してください。")
                % {"label": spec.label, "min": options.min_items},
            )
        if errors:
            failed = sorted({index for index, _key in errors})
            numbers = "、".join(_("%(number)d件目") % {"number": index + 1} for index in failed)
            message = _("%(label)sの%(items)sに誤りがあります。") % {
                "label": spec.label,
                "items": numbers,
            }
            raise GroupInvalid(errors, message, count_error=count_error)
        if count_error is not None:
            raise count_error
        return items

    def display_value(self, value: object, spec: FieldSpec) -> str:
        if not isinstance(value, list | tuple):
            return str(value)
        lines = []
        for number, item in enumerate(value, start=1):
            if not isinstance(item, Mapping):
                continue
            parts = ((sub.label, sub.display(item.get(sub.key))) for sub in spec.options.fields)
            lines.append(
                f"{number}. "
                + _("／").join(
                    _("%(label)s：%(value)s") % {"label": label, "value": text}
                    for label, text in parts
                    if text
                )
            )
        return "\n".join(lines)

    def display_html(self, value: object, spec: FieldSpec) -> str:
        if not isinstance(value, list | tuple):
            return super().display_html(value, spec)
        lines = []
        for number, item in enumerate(value, start=1):
            if not isinstance(item, Mapping):
                continue
            parts = [
                html_interpolate(_("%(label)s：%(value)s"), label=sub.label, value=text)
                for sub in spec.options.fields
                if (text := sub.display_html(item.get(sub.key)))
            ]
            lines.append(
                html_interpolate("%(n)s. ", n=number)
                + format_html_join(_("／"), "{}", ((part,) for part in parts))
            )
        return format_html_join("\n", "{}", ((line,) for line in lines))

    def value_schema(self, spec: FieldSpec) -> JsonSchema:
        schema: JsonSchema = {
            "type": "array",
            "items": _object_schema(spec.options.fields),
            "maxItems": spec.options.max_items or _DEFAULT_MAX_ITEMS,
        }
        if spec.options.min_items is not None:
            schema["minItems"] = spec.options.min_items
        return schema
