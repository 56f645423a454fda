"""The resident wizard's form handling: HTML form data to answers, and answers to widgets.

Input names: a field ``key``; a bank account's parts ``key.bank_code`` …; a group's items
``key.0.name`` with ``key.__count`` rows on the page. Everything typed is kept as ``raw`` and
shown again as typed, valid or not, so that nothing a resident entered is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_digits, normalize_text
from madoguchi.core.templatetags.madoguchi import local_text
from madoguchi.procedures.banks import (
    BankEntry,
    BranchEntry,
    bank_get,
    bank_search,
    branch_get,
    branch_search,
)
from madoguchi.procedures.definitions import ProcedureDefinition, StepSpec
from madoguchi.procedures.fieldtypes import FieldInvalid, FieldSpec, GroupInvalid

BANK_PARTS = ("bank_code", "branch_code", "account_type", "account_number", "holder_name")
MAX_GROUP_ROWS = 100


def parse_scalar(spec: FieldSpec, data: QueryDict, name: str) -> Any:
    if spec.type == "checkbox":
        return data.get(name) in {"on", "true", "1"}
    if spec.type == "bank_account":
        parts = {part: data.get(f"{name}.{part}", "") for part in BANK_PARTS}
        # A bank or branch chosen from search results replaces the code typed beside it.
        bank_pick = data.get(f"{name}.bank_pick", "")
        if bank_pick and bank_pick != parts["bank_code"]:
            parts["bank_code"] = bank_pick
            parts["branch_code"] = ""
        branch_pick = data.get(f"{name}.branch_pick", "")
        if branch_pick:
            parts["branch_code"] = branch_pick
        return parts
    return data.get(name, "")


@dataclass(frozen=True)
class BankSearch:
    """What a resident searched for in a bank account field, and what was found."""

    bank_query: str = ""
    bank_results: list[BankEntry] | None = None  # None: no bank search on this request
    branch_query: str = ""
    branch_results: list[BranchEntry] | None = None
    branch_needs_bank: bool = False


def _code(text: object, length: int) -> str:
    digits = normalize_digits(normalize_text(text)) if isinstance(text, str) else ""
    return digits if len(digits) == length and digits.isascii() and digits.isdigit() else ""


def bank_search_for(
    action: str, values: Mapping[str, Any], data: QueryDict
) -> dict[str, BankSearch]:
    """The results of a "bank_search:<key>" or "branch_search:<key>" button, by field key."""
    kind, _sep, key = action.partition(":")
    account = values.get(key)
    if not isinstance(account, Mapping):
        return {}
    bank_query = data.get(f"{key}.bank_query", "")[:60]
    branch_query = data.get(f"{key}.branch_query", "")[:60]
    if kind == "bank_search":
        found = bank_search(bank_query) if bank_query.strip() else []
        return {key: BankSearch(bank_query, found, branch_query)}
    bank_code = _code(account.get("bank_code"), 4)
    if not bank_code or bank_get(bank_code) is None:
        return {key: BankSearch(bank_query, None, branch_query, None, branch_needs_bank=True)}
    found_branches = branch_search(bank_code, branch_query) if branch_query.strip() else []
    return {key: BankSearch(bank_query, None, branch_query, found_branches)}


def group_row_count(spec: FieldSpec, data: QueryDict, previous: Any) -> int:
    raw = data.get(f"{spec.key}.__count")
    if raw is not None and raw.isdigit():
        return min(int(raw), spec.options.max_items or MAX_GROUP_ROWS, MAX_GROUP_ROWS)
    return len(previous) if isinstance(previous, list) else 0


def parse_step(
    fields: tuple[FieldSpec, ...], data: QueryDict, previous: Mapping[str, Any]
) -> dict[str, Any]:
    """The values of one step's form (files are handled by the view)."""
    values: dict[str, Any] = {}
    for spec in fields:
        if spec.type == "file":
            values[spec.key] = previous.get(spec.key)
        elif spec.type == "group":
            rows = group_row_count(spec, data, previous.get(spec.key))
            values[spec.key] = [
                {
                    sub.key: parse_scalar(sub, data, f"{spec.key}.{index}.{sub.key}")
                    for sub in spec.options.fields
                }
                for index in range(rows)
            ]
        else:
            values[spec.key] = parse_scalar(spec, data, spec.key)
    return values


def group_values_blank(item: Mapping[str, Any]) -> bool:
    return all(value in ("", None, False) for value in item.values())


def drop_blank_rows(values: dict[str, Any], fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """Rows left entirely empty (an "add" pressed once too often) are not answers."""
    cleaned = dict(values)
    for spec in fields:
        if spec.type == "group" and isinstance(cleaned.get(spec.key), list):
            cleaned[spec.key] = [
                row
                for row in cleaned[spec.key]
                if isinstance(row, Mapping) and not group_values_blank(row)
            ]
    return cleaned


# --- widgets for templates ----------------------------------------------------------------------


@dataclass
class Widget:
    """One field as the template draws it."""

    spec: FieldSpec
    name: str
    value: Any
    error: str = ""
    sub_errors: dict[str, str] = field(default_factory=dict)
    rows: list[list[Widget]] = field(default_factory=list)
    row_errors: list[str] = field(default_factory=list)
    search: BankSearch = field(default_factory=BankSearch)

    @property
    def input_id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def help(self) -> str:
        """The definition's help text, or else an example of the format the field expects."""
        return local_text(self.spec, "help") or _format_example(self.spec.type)

    @property
    def titled_rows(self) -> list[tuple[str, str, list[Widget]]]:
        """A group's rows with their titles (世帯員（1人目）) and remove-button labels."""
        return [
            (item_title(self.spec, number), remove_label(self.spec, number), row)
            for number, row in enumerate(self.rows, start=1)
        ]

    @property
    def chosen_bank(self) -> BankEntry | None:
        return bank_get(_code(self.bank["bank_code"], 4))

    @property
    def chosen_branch(self) -> BranchEntry | None:
        bank = _code(self.bank["bank_code"], 4)
        return branch_get(bank, _code(self.bank["branch_code"], 3)) if bank else None

    @property
    def described_by(self) -> str:
        ids = []
        if self.help:
            ids.append(f"{self.input_id}-help")
        if self.error:
            ids.append(f"{self.input_id}-error")
        return " ".join(ids)

    @property
    def choices(self) -> list[dict[str, Any]]:
        return [
            {"value": c.value, "label": c.label, "checked": str(self.value) == c.value}
            for c in self.spec.options.choices
        ]

    @property
    def bank(self) -> dict[str, str]:
        value = self.value if isinstance(self.value, Mapping) else {}
        return {part: str(value.get(part, "") or "") for part in BANK_PARTS}

    @property
    def input_type(self) -> str:
        return {"email": "email", "phone": "tel", "integer": "text"}.get(self.spec.type, "text")

    @property
    def autocomplete(self) -> str:
        return {
            "email": "email",
            "phone": "tel",
            "postal_code": "postal-code",
            "address": "street-address",
        }.get(self.spec.type, "off")

    @property
    def inputmode(self) -> str:
        if self.spec.type in {"postal_code", "phone", "mynumber", "integer"}:
            return "numeric"
        return ""


def _format_example(type_name: str) -> str:
    examples = {
        "kana": _("例：コウベ タロウ"),
        "date": _("例：1980-04-01 または 昭和55年4月1日"),
        "postal_code": _("例：650-8570"),
        "phone": _("例：078-331-8181"),
        "email": _("例：taro@example.jp"),
        "mynumber": _("12桁の数字（例：1234 5678 9012）"),
        "integer": _("半角または全角の数字"),
    }
    return examples.get(type_name, "")


def _message(error: FieldInvalid | None) -> str:
    return error.message if error is not None else ""


def build_widgets(
    fields: tuple[FieldSpec, ...],
    values: Mapping[str, Any],
    errors: Mapping[str, FieldInvalid | GroupInvalid],
    *,
    extra_rows: Mapping[str, int] | None = None,
    searches: Mapping[str, BankSearch] | None = None,
) -> list[Widget]:
    widgets = []
    for spec in fields:
        error = errors.get(spec.key)
        widget = Widget(spec=spec, name=spec.key, value=values.get(spec.key), error=_message(error))
        if searches and spec.key in searches:
            widget.search = searches[spec.key]
        if error is not None and error.subfield:
            widget.sub_errors[error.subfield] = error.message
            widget.error = ""
        if spec.type == "group":
            items = values.get(spec.key)
            rows = [r for r in items if isinstance(r, Mapping)] if isinstance(items, list) else []
            wanted = len(rows) + (extra_rows or {}).get(spec.key, 0)
            if spec.required and wanted == 0:
                wanted = max(1, spec.options.min_items or 1)
            item_errors = error.errors if isinstance(error, GroupInvalid) else {}
            if isinstance(error, GroupInvalid):
                widget.error = _message(error.count_error) if error.count_error else ""
            for index in range(wanted):
                row = rows[index] if index < len(rows) else {}
                widget.rows.append(
                    [
                        Widget(
                            spec=sub,
                            name=f"{spec.key}.{index}.{sub.key}",
                            value=row.get(sub.key),
                            error=_message(item_errors.get((index, sub.key))),
                        )
                        for sub in spec.options.fields
                    ]
                )
        widgets.append(widget)
    return widgets


def item_title(spec: FieldSpec, number: int) -> str:
    """「世帯員（1人目）」 for a group of people, 「品目（1件目）」 for other items."""
    if spec.options.items_are_people:
        return _("%(label)s（%(n)d人目）") % {"label": spec.label, "n": number}
    return _("%(label)s（%(n)d件目）") % {"label": spec.label, "n": number}


def remove_label(spec: FieldSpec, number: int) -> str:
    if spec.options.items_are_people:
        return _("%(n)d人目を削除") % {"n": number}
    return _("%(n)d件目を削除") % {"n": number}


def error_list(
    widgets: list[Widget],
) -> list[tuple[str, str, str]]:
    """(input id, label, message) for the error summary at the top of the page."""
    found: list[tuple[str, str, str]] = []
    for widget in widgets:
        if widget.error:
            found.append((widget.input_id, widget.spec.label, widget.error))
        for part, message in widget.sub_errors.items():
            found.append((f"{widget.input_id}-{part}", widget.spec.label, message))
        for index, row in enumerate(widget.rows, start=1):
            for sub in row:
                if sub.error:
                    label = f"{item_title(widget.spec, index)} {sub.spec.label}"
                    found.append((sub.input_id, label, sub.error))
    return found


def review_sections(
    definition: ProcedureDefinition,
    answers: Mapping[str, Any],
    errors: Mapping[str, Any],
    missing_steps: list[StepSpec],
    step_url: Callable[[StepSpec], str],
) -> list[dict[str, Any]]:
    """The review page's rows per step (the resident's wizard and the admin's preview alike)."""
    return [
        {
            "step": s,
            "url": step_url(s),
            "incomplete": s in missing_steps,
            "rows": [
                (f.label, f.display_html(answers[f.key]) if f.key in answers else "")
                for f in s.fields
                if f.key not in errors
            ],
        }
        for s in definition.steps
    ]
