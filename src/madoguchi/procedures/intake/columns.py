"""The columns of a procedure: which field, group item or bank account part a header names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from django.utils.translation import gettext as _

from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.fieldtypes import FieldSpec
from madoguchi.procedures.intake.reading import _name
from madoguchi.procedures.intake.reports import FileError, IntakeErrorCode

_BANK_PARTS: Final = {
    "bank_code": "金融機関コード",
    "branch_code": "支店コード",
    "account_type": "預金種目",
    "account_number": "口座番号",
    "holder_name": "口座名義",
}


@dataclass(frozen=True, slots=True, order=True)
class _Target:
    """Where a column's value goes: a field, a group item's field, a bank account's part."""

    field: str
    item: int = 0  # the group item's number, from 1; 0 outside groups
    sub: str = ""  # the group item's field
    part: str = ""  # the bank account's part

    @property
    def canonical(self) -> str:
        item = f".{self.item}.{self.sub}" if self.item else ""
        part = f".{self.part}" if self.part else ""
        return f"{self.field}{item}{part}"


class _Names:
    """Key and normalised Japanese label of each of some fields; a shared label is ambiguous."""

    def __init__(self, specs: Sequence[FieldSpec]) -> None:
        self.by_name: dict[str, FieldSpec] = {}
        self.ambiguous: set[str] = set()
        for spec in specs:
            label = _name(spec.label_ja)
            if label in self.by_name and self.by_name[label].key != spec.key:
                self.ambiguous.add(label)
            self.by_name.setdefault(label, spec)
        for spec in specs:
            self.by_name[spec.key] = spec
            self.ambiguous.discard(spec.key)

    def get(self, name: str) -> FieldSpec | None:
        if name in self.ambiguous:
            return None
        return self.by_name.get(name) or self.by_name.get(name.lower())


def _bank_part(name: str) -> str | None:
    for part, label in _BANK_PARTS.items():
        if name.lower() == part or name == label:
            return part
    return None


class _Resolved(NamedTuple):
    target: _Target | None
    ambiguous: bool


def _resolve(fields: _Names, name: str) -> _Resolved:
    """The target of a normalised header cell, or None."""
    segments = name.split(".")
    if segments[0] in fields.ambiguous:
        return _Resolved(None, True)
    spec = fields.get(segments[0])
    if spec is None or spec.type == "file":
        return _Resolved(None, False)
    rest = segments[1:]
    if spec.type == "group":
        if len(rest) < 2 or not rest[0].isascii() or not rest[0].isdigit() or int(rest[0]) < 1:
            return _Resolved(None, False)
        item = int(rest[0])
        subs = _Names(spec.options.fields)
        if rest[1] in subs.ambiguous:
            return _Resolved(None, True)
        sub = subs.get(rest[1])
        if sub is None or sub.type == "file":
            return _Resolved(None, False)
        part = _part_of(sub, rest[2:])
        return _Resolved(None if part is None else _Target(spec.key, item, sub.key, part), False)
    part = _part_of(spec, rest)
    return _Resolved(None if part is None else _Target(spec.key, part=part), False)


def _part_of(spec: FieldSpec, rest: list[str]) -> str | None:
    """The bank account part named by ``rest``, "" for a whole simple field, None for neither."""
    if spec.type == "bank_account":
        return _bank_part(rest[0]) if len(rest) == 1 else None
    return "" if not rest else None


def _label_of(spec: FieldSpec, target: _Target) -> str:
    """The Japanese form of a column name, e.g. 世帯員.1.氏名 or 振込先口座.口座番号."""
    text = spec.label_ja
    if target.item:
        sub = next(s for s in spec.options.fields if s.key == target.sub)
        text += f".{target.item}.{sub.label_ja}"
    if target.part:
        text += f".{_BANK_PARTS[target.part]}"
    return text


def _needed(spec: FieldSpec, present: set[_Target]) -> list[_Target]:
    """The columns that ``spec`` needs, given the columns that are present."""
    if spec.type == "file":
        return []
    mine = {t for t in present if t.field == spec.key}
    if spec.type == "bank_account":
        return [_Target(spec.key, part=p) for p in _BANK_PARTS] if spec.required or mine else []
    if spec.type != "group":
        return [_Target(spec.key)] if spec.required else []
    least = max(spec.options.min_items or 0, 1 if spec.required else 0)
    needed: list[_Target] = []
    for item in sorted({t.item for t in mine} | set(range(1, least + 1))):
        for sub in spec.options.fields:
            parts = [p for p in _BANK_PARTS if sub.type == "bank_account"] or [""]
            subparts = {t.part for t in mine if t.item == item and t.sub == sub.key}
            if sub.type != "file" and (sub.required or subparts):
                needed.extend(_Target(spec.key, item, sub.key, p) for p in parts)
    return needed


@dataclass(slots=True)
class _Columns:
    """The columns of a file: where each goes, and what the file lacks or has too much."""

    width: int = 0
    targets: dict[int, _Target] = field(default_factory=dict)
    header: dict[_Target, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    def column(self, target: _Target) -> str:
        """The column as written in the file, or its canonical name when it has none."""
        return self.header.get(target) or target.canonical


def _columns(definition: ProcedureDefinition, header: list[str]) -> _Columns:
    specs = definition.fields
    fields = _Names(specs)
    found = _Columns(width=len(header))
    duplicates: list[str] = []
    ambiguous: list[str] = []
    for index, cell in enumerate(header):
        name = _name(cell)
        if not name:
            found.unknown.append(_("%(number)d列目（見出しなし）") % {"number": index + 1})
            continue
        target, is_ambiguous = _resolve(fields, name)
        if target is None:
            (ambiguous if is_ambiguous else found.unknown).append(cell.strip())
        elif target in found.header:
            duplicates.append(cell.strip())
        else:
            found.targets[index] = target
            found.header[target] = cell.strip()
    if duplicates:
        found.errors.append(
            FileError(
                IntakeErrorCode.DUPLICATE_COLUMN,
                _("同じ項目の列が二つ以上あります：%(columns)s")
                % {"columns": "、".join(duplicates)},
            )
        )
    if ambiguous:
        found.errors.append(
            FileError(
                IntakeErrorCode.AMBIGUOUS_COLUMN,
                _("項目名が複数の項目に当てはまります。項目キーで指定してください：%(columns)s")
                % {"columns": "、".join(ambiguous)},
            )
        )
    present = set(found.header)
    by_key = {spec.key: spec for spec in specs}
    missing = [t for spec in specs for t in _needed(spec, present) if t not in present]
    if missing:
        names = "、".join(f"{_label_of(by_key[t.field], t)}（{t.canonical}）" for t in missing)
        found.errors.append(
            FileError(
                IntakeErrorCode.MISSING_COLUMNS,
                _("必要な列がありません：%(columns)s") % {"columns": names},
            )
        )
    if not present:
        found.errors.append(
            FileError(
                IntakeErrorCode.NO_KNOWN_COLUMNS,
                _(
                    "1行目に項目名が一つも見つかりません。1行目が見出しの行か、"
                    "文字コードが UTF-8 または Shift_JIS かを確認してください。"
                ),
            )
        )
    return found
