"""Paper and bulk intake from CSV: applications keyed from paper forms, and bulk status updates.

:func:`applications_import_csv` imports one application per row. Every row is checked with the
same rules as the web form (:func:`~madoguchi.procedures.fieldtypes.validate_answers`) and
stored with channel ``paper``; a refused row is reported with its physical line number and never
stops the others. The idempotency key of a row is the SHA-256 of the procedure code and the
row's cleaned answers, so importing a file twice, or the same row in a later file, stores
nothing twice.

:func:`applications_bulk_status_csv` moves applications to new states (振込済み after a bank's
transfer results, ...): every row is checked first and the whole file is applied in one
transaction through the workflow, or nothing is.

Column names, encodings and the handling of attachments are described in docs/paper-intake.md.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, NamedTuple, Protocol

from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.csvutil import csv_cell
from madoguchi.core.japanese import normalize_text
from madoguchi.procedures import workflow
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.fieldtypes import FieldInvalid, FieldSpec, GroupInvalid, validate_answers
from madoguchi.procedures.models import Application, Channel, Procedure, ProcedureVersion
from madoguchi.procedures.receipts import ReceiptFormatError, receipt_number_parse
from madoguchi.procedures.selectors import definition_of
from madoguchi.procedures.services import (
    SubmissionInvalid,
    SubmitResult,
    _ReceiptTakenError,
    _submit_once,
    application_submit,
)
from madoguchi.procedures.workflow import TransitionRefused
from madoguchi.tenants.models import Municipality

__all__ = [
    "PAPER_DOCUMENTS_KEY",
    "CellError",
    "FileError",
    "ImportReport",
    "IntakeErrorCode",
    "RowError",
    "StatusUpdateReport",
    "TransitionService",
    "applications_bulk_status_csv",
    "applications_import_csv",
]

# Answers key listing the file fields whose documents stay on paper. Field keys start with a
# letter, so it cannot clash with one.
PAPER_DOCUMENTS_KEY: Final = "_paper_documents"
_BANK_PARTS: Final = {
    "bank_code": "金融機関コード",
    "branch_code": "支店コード",
    "account_type": "預金種目",
    "account_number": "口座番号",
    "holder_name": "口座名義",
}
_RECEIPT_ATTEMPTS: Final = 8


class IntakeErrorCode(StrEnum):
    """Stable codes of file and row errors in intake reports (field errors keep their own)."""

    ENCODING = "encoding"
    EMPTY = "empty"
    CSV_FORMAT = "csv_format"
    MISSING_COLUMNS = "missing_columns"
    NO_KNOWN_COLUMNS = "no_known_columns"
    DUPLICATE_COLUMN = "duplicate_column"
    AMBIGUOUS_COLUMN = "ambiguous_column"
    ATTACHMENTS_REQUIRED = "attachments_required"
    UNKNOWN_COLUMN = "unknown_column"
    EXTRA_CELLS = "extra_cells"
    REQUIRED = "required"
    RECEIPT_FORMAT = "receipt_format"
    RECEIPT_CHECK_DIGIT = "receipt_check_digit"
    DUPLICATE_RECEIPT = "duplicate_receipt"
    NOT_FOUND = "not_found"
    UNKNOWN_STATE = "unknown_state"
    REASON_REQUIRED = "reason_required"
    MISSING_ITEMS_REQUIRED = "missing_items_required"


# --- reports -----------------------------------------------------------------------------------


class CellError(NamedTuple):
    """One refused value: the column as written in the file (or the field key), code, message."""

    column: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row; ``line`` is the physical line where it starts (the header is line 1)."""

    line: int
    errors: list[CellError]


@dataclass(frozen=True, slots=True)
class FileError:
    """The file as a whole cannot be used; nothing of it was applied."""

    code: str
    message: str
    line: int | None = None


def _text_lines(
    summary: list[str],
    unknown_columns: Sequence[str],
    file_errors: Sequence[FileError],
    rejected: Sequence[RowError],
) -> str:
    lines = list(summary)
    if unknown_columns:
        lines.append(_("取り込まなかった列：%(columns)s") % {"columns": "、".join(unknown_columns)})
    for error in file_errors:
        where = _("%(line)d行目：") % {"line": error.line} if error.line else ""
        label = _("ファイルの誤り")
        lines.append(f"{label} [{error.code}] {where}{error.message}")
    for row in rejected:
        lines.append(_("%(line)d行目") % {"line": row.line})
        lines.extend(f"  - {e.column} [{e.code}] {e.message}" for e in row.errors)
    return "\n".join(lines) + "\n"


def _csv_bytes(
    unknown_columns: Sequence[str],
    file_errors: Sequence[FileError],
    rejected: Sequence[RowError],
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("行"), _("列"), _("コード"), _("内容")])
    for error in file_errors:
        writer.writerow([csv_cell(error.line), "", error.code, csv_cell(error.message)])
    for column in unknown_columns:
        message = _("この列は取り込んでいません。")
        writer.writerow(["", csv_cell(column), IntakeErrorCode.UNKNOWN_COLUMN, message])
    for row in rejected:
        for e in row.errors:
            writer.writerow([row.line, csv_cell(e.column), e.code, csv_cell(e.message)])
    # The BOM makes Excel read the file as UTF-8.
    return out.getvalue().encode("utf-8-sig")


@dataclass(slots=True)
class ImportReport:
    """What :func:`applications_import_csv` did with a file."""

    rows: int = 0
    imported: int = 0
    duplicates_skipped: int = 0
    rejected: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    file_errors: list[FileError] = field(default_factory=list)
    # The receipt number of each imported or already present row, by line, for the paper form.
    receipts: dict[int, str] = field(default_factory=dict)

    def as_text(self) -> str:
        """The report in Japanese, one finding per line, for a screen or a terminal."""
        if self.file_errors:
            summary = [_("ファイルに誤りがあるため、1件も登録していません。")]
        else:
            summary = [
                _(
                    "%(rows)d行のうち、%(imported)d件を登録しました。"
                    "登録済みのため省いた行：%(skipped)d件。誤りのため登録しなかった行：%(rejected)d件。"
                )
                % {
                    "rows": self.rows,
                    "imported": self.imported,
                    "skipped": self.duplicates_skipped,
                    "rejected": len(self.rejected),
                }
            ]
        return _text_lines(summary, self.unknown_columns, self.file_errors, self.rejected)

    def as_csv(self) -> bytes:
        """The findings as CSV (行, 列, コード, 内容), UTF-8 with BOM, ready for download."""
        return _csv_bytes(self.unknown_columns, self.file_errors, self.rejected)


@dataclass(slots=True)
class StatusUpdateReport:
    """What :func:`applications_bulk_status_csv` did: all rows applied, or none."""

    rows: int = 0
    applied: int = 0
    unchanged: int = 0  # already in the requested state
    rejected: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    file_errors: list[FileError] = field(default_factory=list)

    def as_text(self) -> str:
        """The report in Japanese, one finding per line."""
        if self.file_errors or self.rejected:
            summary = [_("誤りがあるため、どの申請の状態も変更していません。")]
        else:
            summary = [
                _(
                    "%(rows)d行のうち、%(applied)d件の状態を変更しました。"
                    "すでにその状態だった申請：%(unchanged)d件。"
                )
                % {"rows": self.rows, "applied": self.applied, "unchanged": self.unchanged}
            ]
        return _text_lines(summary, self.unknown_columns, self.file_errors, self.rejected)

    def as_csv(self) -> bytes:
        """The findings as CSV (行, 列, コード, 内容), UTF-8 with BOM, ready for download."""
        return _csv_bytes(self.unknown_columns, self.file_errors, self.rejected)


# --- reading the file --------------------------------------------------------------------------

# What cp932 makes of bytes that are not Shift_JIS text (0x80, 0xA0, 0xFD-0xFF).
_CP932_STRAYS: Final = frozenset("\x80\uf8f0\uf8f1\uf8f2\uf8f3")


def _decode(data: bytes) -> str | None:
    """The text of a UTF-8 (with or without BOM) or cp932 file; None when it is neither."""
    # UTF-16 and binary data hold NUL bytes and can decode as UTF-8 or cp932 without an error.
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        return None
    return None if any(char in _CP932_STRAYS for char in text) else text


class _Row(NamedTuple):
    line: int
    cells: list[str]


def _read_rows(data: bytes) -> tuple[list[_Row], FileError | None]:
    """Every non-blank row with the line it starts on; or the reason the file is unreadable."""
    text = _decode(data)
    if text is None:
        return [], FileError(
            IntakeErrorCode.ENCODING,
            _("文字コードを読み取れません。UTF-8 または Shift_JIS の CSV ファイルにしてください。"),
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            message = _('CSV の形式が正しくありません（引用符 " の対応を確認してください）。')
            return [], FileError(IntakeErrorCode.CSV_FORMAT, message, line)
        if any(cell.strip() for cell in cells):
            rows.append(_Row(line, cells))
    if not rows:
        return [], FileError(IntakeErrorCode.EMPTY, _("ファイルが空です。"))
    return rows, None


def _name(text: str) -> str:
    """A header cell as matched against keys and labels."""
    return normalize_text(text)


# --- columns of a procedure --------------------------------------------------------------------


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


# --- applications ------------------------------------------------------------------------------


def _file_fields(specs: Sequence[FieldSpec]) -> list[tuple[str, FieldSpec]]:
    """Every file field, with its path (``key`` or ``group.key``)."""
    found: list[tuple[str, FieldSpec]] = []
    for spec in specs:
        if spec.type == "file":
            found.append((spec.key, spec))
        elif spec.type == "group":
            found.extend(
                (f"{spec.key}.{sub.key}", sub) for sub in spec.options.fields if sub.type == "file"
            )
    return found


def _without_files(spec: FieldSpec) -> FieldSpec | None:
    """``spec`` as importable from CSV: None for a file field, a group without its file fields."""
    if spec.type == "file":
        return None
    if spec.type != "group":
        return spec
    fields = tuple(sub for sub in spec.options.fields if sub.type != "file")
    return dataclasses.replace(spec, options=dataclasses.replace(spec.options, fields=fields))


class _Answers(NamedTuple):
    answers: dict[str, object]
    item_numbers: dict[str, list[int]]  # per group: the column number of each item in order
    extra_cells: bool


def _answers(columns: _Columns, cells: list[str]) -> _Answers:
    simple: dict[str, object] = {}
    banks: dict[str, dict[str, str]] = {}
    items: dict[str, dict[int, dict[str, object]]] = {}
    for index, target in columns.targets.items():
        value = cells[index] if index < len(cells) else ""
        if target.item:
            item = items.setdefault(target.field, {}).setdefault(target.item, {})
            if target.part:
                bank = item.setdefault(target.sub, {})
                assert isinstance(bank, dict)
                bank[target.part] = value
            else:
                item[target.sub] = value
        elif target.part:
            banks.setdefault(target.field, {})[target.part] = value
        else:
            simple[target.field] = value
    answers: dict[str, object] = {**simple, **banks}
    numbers: dict[str, list[int]] = {}
    for key, by_number in items.items():
        # A paper form has room for several items; the empty ones are not items.
        filled = sorted(
            n for n, item in by_number.items() if any(_filled(v) for v in item.values())
        )
        answers[key] = [by_number[n] for n in filled] or None
        numbers[key] = filled
    extra = any(cell.strip() for cell in cells[columns.width :])
    return _Answers(answers, numbers, extra)


def _filled(value: object) -> bool:
    if isinstance(value, Mapping):
        return any(_filled(v) for v in value.values())
    return isinstance(value, str) and bool(value.strip())


def _cell_errors(
    columns: _Columns,
    errors: Mapping[str, FieldInvalid | GroupInvalid],
    item_numbers: Mapping[str, list[int]],
) -> list[CellError]:
    found: list[CellError] = []
    for key, error in errors.items():
        if isinstance(error, GroupInvalid):
            numbers = item_numbers.get(key, [])
            for (index, sub), item_error in sorted(error.errors.items()):
                target = _Target(key, numbers[index], sub, item_error.subfield or "")
                found.append(CellError(columns.column(target), item_error.code, item_error.message))
            if error.count_error is not None:
                found.append(CellError(key, error.count_error.code, error.count_error.message))
            continue
        target = _Target(key, part=error.subfield or "")
        if target not in columns.header and not error.subfield:
            # A whole bank account left blank: name its first column.
            target = next((t for t in columns.header if t.field == key), target)
        found.append(CellError(columns.column(target), error.code, error.message))
    return found


def _with_files_on_paper(
    specs: Sequence[FieldSpec], cleaned: Mapping[str, Any], on_paper: list[str]
) -> dict[str, Any]:
    """``cleaned`` shaped like a web submission's answers (file fields None) plus the list of
    documents on paper under PAPER_DOCUMENTS_KEY."""
    answers: dict[str, Any] = {}
    for spec in specs:
        value = cleaned.get(spec.key)
        if spec.type == "group" and isinstance(value, list):
            files = [sub.key for sub in spec.options.fields if sub.type == "file"]
            value = [{**item, **dict.fromkeys(files)} for item in value]
        answers[spec.key] = value
    answers[PAPER_DOCUMENTS_KEY] = on_paper
    return answers


def _idempotency_key(code: str, cleaned: Mapping[str, object]) -> str:
    canonical = json.dumps(cleaned, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"paper-intake\0{code}\0{canonical}".encode()).hexdigest()


def _submit_with_paper_documents(
    *,
    municipality: Municipality,
    version: ProcedureVersion,
    definition: ProcedureDefinition,
    cleaned: dict[str, Any],
    actor: AuditActor,
    idempotency_key: str,
) -> SubmitResult:
    """Store an application whose documents stay on paper.

    application_submit validates every field of the definition, so a required file field
    refuses any submission without an upload. Until it can be told which fields are on paper,
    this repeats its receipt-number retry around the same storing step; the answers were
    validated with every other field's rules by the caller.
    """
    for _attempt in range(_RECEIPT_ATTEMPTS):
        try:
            return _submit_once(
                municipality=municipality,
                version=version,
                definition=definition,
                cleaned=cleaned,
                channel=Channel.PAPER,
                actor=actor,
                idempotency_key=idempotency_key,
                draft=None,
                owned_attachments=set(),
            )
        except _ReceiptTakenError:
            continue
    raise RuntimeError("could not find a free receipt number")


def applications_import_csv(
    *,
    municipality: Municipality,
    procedure: Procedure,
    data: bytes,
    actor: AuditActor,
    paper_attachments: bool = False,
) -> ImportReport:
    """Import applications keyed from paper forms, one CSV row each, into ``procedure``.

    The header row names the fields by key or Japanese label (``account.bank_code``,
    ``members.1.name``, ...). Rows are validated like the web form and submitted with channel
    ``paper``, each in its own transaction; rows already imported (same procedure, same cleaned
    answers) are skipped. A file that cannot be read, lacks required columns, or belongs to a
    procedure with required attachments (unless ``paper_attachments``, which records that the
    documents are on paper) imports nothing. One audit event records the counts.
    """
    assert procedure.municipality_id == municipality.pk
    version = procedure.current_version
    assert version is not None
    definition = definition_of(version)
    report = ImportReport()
    rows, file_error = _read_rows(data)
    if file_error is not None:
        report.file_errors.append(file_error)
    else:
        columns = _columns(definition, rows[0].cells)
        report.unknown_columns = columns.unknown
        report.file_errors.extend(columns.errors)
        files = _file_fields(definition.fields)
        required_files = [path for path, spec in files if spec.required]
        if required_files and not paper_attachments:
            labels = "、".join(spec.label_ja for path, spec in files if spec.required)
            report.file_errors.append(
                FileError(
                    IntakeErrorCode.ATTACHMENTS_REQUIRED,
                    _(
                        "この手続きには添付書類（%(fields)s）が必要なため、CSV から登録できません。"
                        "書類を紙で受け取っている場合は、紙の添付書類ありとして取り込んでください。"
                    )
                    % {"fields": labels},
                )
            )
        report.rows = len(rows) - 1
        if not report.file_errors:
            on_paper = [path for path, _spec in files] if paper_attachments else []
            _import_rows(
                report, municipality, rows[1:], columns, version, definition, actor, on_paper
            )
    audit_event(
        municipality=municipality,
        action="application.import",
        actor=actor,
        obj=procedure,
        data={
            "procedure": definition.code,
            "version": version.number,
            "sha256": hashlib.sha256(data).hexdigest(),
            "paper_attachments": paper_attachments,
            "rows": report.rows,
            "imported": report.imported,
            "duplicates_skipped": report.duplicates_skipped,
            "rejected": len(report.rejected),
            "file_errors": [str(e.code) for e in report.file_errors],
        },
    )
    return report


class _Valid(NamedTuple):
    line: int
    answers: dict[str, object]
    cleaned: dict[str, object]
    key: str


def _import_rows(
    report: ImportReport,
    municipality: Municipality,
    rows: Sequence[_Row],
    columns: _Columns,
    version: ProcedureVersion,
    definition: ProcedureDefinition,
    actor: AuditActor,
    on_paper: list[str],
) -> None:
    specs = [s for s in map(_without_files, definition.fields) if s is not None]
    valid: list[_Valid] = []
    for row in rows:
        answers, item_numbers, extra_cells = _answers(columns, row.cells)
        cleaned, errors = validate_answers(specs, answers)
        problems = _cell_errors(columns, errors, item_numbers)
        if extra_cells:
            message = _("見出しのない位置に値があります（列の数が見出しより多い）。")
            problems.append(CellError("", IntakeErrorCode.EXTRA_CELLS, message))
        if problems:
            report.rejected.append(RowError(row.line, problems))
        else:
            valid.append(
                _Valid(row.line, answers, cleaned, _idempotency_key(definition.code, cleaned))
            )
    # Rows stored by an earlier import are skipped without a submission each; a row stored by
    # a concurrent import meanwhile is still caught by application_submit's own key check.
    present = _stored_receipts(version, [v.key for v in valid])
    for line, answers, cleaned, key in valid:
        if key in present:
            report.duplicates_skipped += 1
            report.receipts[line] = present[key]
            continue
        try:
            if on_paper:
                result = _submit_with_paper_documents(
                    municipality=municipality,
                    version=version,
                    definition=definition,
                    cleaned=_with_files_on_paper(definition.fields, cleaned, on_paper),
                    actor=actor,
                    idempotency_key=key,
                )
            else:
                result = application_submit(
                    municipality=municipality,
                    version=version,
                    answers=answers,
                    channel=Channel.PAPER,
                    actor=actor,
                    idempotency_key=key,
                )
        except SubmissionInvalid as exc:
            report.rejected.append(RowError(line, _cell_errors(columns, exc.errors, {})))
            continue
        present[key] = report.receipts[line] = result.application.receipt_number
        if result.created:
            report.imported += 1
        else:
            report.duplicates_skipped += 1
    report.rejected.sort(key=lambda row: row.line)


def _stored_receipts(version: ProcedureVersion, keys: list[str]) -> dict[str, str]:
    """The receipt numbers of stored applications by idempotency key, for those of ``keys``."""
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        stored = Application.objects.filter(
            municipality_id=version.municipality_id, idempotency_key__in=keys[start : start + 500]
        ).values_list("idempotency_key", "receipt_number")
        found.update((key, receipt) for key, receipt in stored if key is not None)
    return found


# --- bulk status -------------------------------------------------------------------------------


class _Refusal(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...


class TransitionService(Protocol):
    """The workflow operations a bulk status update uses (madoguchi.procedures.workflow)."""

    def transition_allowed(
        self, *, application: Application, target: str, staff: StaffContext
    ) -> _Refusal | None: ...

    def application_transition(
        self,
        *,
        application: Application,
        target: str,
        staff: StaffContext,
        reason: str = "",
        missing_items: str = "",
        public_message: str = "",
        expected_state: str | None = None,
    ) -> Application: ...


_STATUS_COLUMNS: Final = {
    "receipt_number": "受付番号",
    "state": "状態",
    "message": "お知らせ",
    "reason": "理由",
    "missing_items": "不足書類",
}


class _StatusRow(NamedTuple):
    line: int
    values: dict[str, str]  # by column key, stripped


class _Change(NamedTuple):
    line: int
    application: Application
    target: str
    message: str
    reason: str
    missing_items: str


@dataclass(slots=True)
class _StatusFile:
    rows: list[_StatusRow] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)  # column key -> as written

    def column(self, key: str) -> str:
        return self.header.get(key) or _STATUS_COLUMNS[key]


def _status_file(report: StatusUpdateReport, data: bytes) -> _StatusFile | None:
    """The rows of a status file by column, or None after noting why it is unusable."""
    rows, file_error = _read_rows(data)
    if file_error is not None:
        report.file_errors.append(file_error)
        return None
    found: dict[str, int] = {}
    status = _StatusFile()
    duplicates: list[str] = []
    for index, cell in enumerate(rows[0].cells):
        name = _name(cell)
        column = next((k for k, label in _STATUS_COLUMNS.items() if name in (k, label)), None)
        if column is None:
            report.unknown_columns.append(
                cell.strip() or _("%(number)d列目（見出しなし）") % {"number": index + 1}
            )
        elif column in found:
            duplicates.append(cell.strip())
        else:
            found[column] = index
            status.header[column] = cell.strip()
    if duplicates:
        report.file_errors.append(
            FileError(
                IntakeErrorCode.DUPLICATE_COLUMN,
                _("同じ項目の列が二つ以上あります：%(columns)s")
                % {"columns": "、".join(duplicates)},
            )
        )
    missing = [
        f"{_STATUS_COLUMNS[k]}（{k}）" for k in ("receipt_number", "state") if k not in found
    ]
    if missing:
        report.file_errors.append(
            FileError(
                IntakeErrorCode.MISSING_COLUMNS,
                _("必要な列がありません：%(columns)s") % {"columns": "、".join(missing)},
            )
        )
    report.rows = len(rows) - 1
    if report.file_errors:
        return None
    for row in rows[1:]:
        values = {
            key: row.cells[index].strip() if index < len(row.cells) else ""
            for key, index in found.items()
        }
        status.rows.append(_StatusRow(row.line, values))
    return status


def _target_state(definition: ProcedureDefinition, text: str) -> str | None:
    """The state key named by ``text``: the key itself or the state's Japanese label."""
    name = _name(text)
    if name in definition.states:
        return name
    return next((k for k, s in definition.states.items() if _name(s.label_ja) == name), None)


def applications_bulk_status_csv(
    *,
    municipality: Municipality,
    data: bytes,
    staff: StaffContext,
    transition_service: TransitionService | None = None,
) -> StatusUpdateReport:
    """Move the applications named in a CSV (受付番号, 状態, お知らせ) to new states, all or none.

    Every row is checked first: the receipt number exists in ``municipality``, the state is one
    of the application's definition (key or Japanese label) and ``staff`` may make the
    transition now. If any row fails, nothing changes and the report lists every failing row;
    otherwise all transitions are made in one transaction through ``transition_service``
    (the workflow module by default). A row whose application is already in the state is left
    alone, so a file can be applied again. One audit event records the outcome.
    """
    assert staff.municipality.pk == municipality.pk
    service: TransitionService = workflow if transition_service is None else transition_service
    report = StatusUpdateReport()
    status = _status_file(report, data)
    changes = (
        [] if status is None else _status_changes(report, municipality, status, staff, service)
    )
    with transaction.atomic():
        if status is not None and not report.rejected:
            refused = _apply_changes(changes, staff, service)
            if refused is None:
                report.applied = len(changes)
            else:
                report.rejected.append(refused)
        audit_event(
            municipality=municipality,
            action="application.bulk_status",
            actor=staff.actor(),
            data={
                "sha256": hashlib.sha256(data).hexdigest(),
                "rows": report.rows,
                "applied": report.applied,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
                "file_errors": [str(e.code) for e in report.file_errors],
            },
        )
    return report


def _apply_changes(
    changes: list[_Change], staff: StaffContext, service: TransitionService
) -> RowError | None:
    """Make every change in one transaction; on a refusal, undo them all and name the row.

    A change can still be refused here when another clerk moved the application after the
    check (``expected_state``); the transaction then leaves every application as it was.
    """
    line = 0
    try:
        with transaction.atomic():
            for change in changes:
                line = change.line
                service.application_transition(
                    application=change.application,
                    target=change.target,
                    staff=staff,
                    reason=change.reason,
                    missing_items=change.missing_items,
                    public_message=change.message,
                    expected_state=change.application.state,
                )
    except TransitionRefused as refused:
        return RowError(line, [CellError(_STATUS_COLUMNS["state"], refused.code, refused.message)])
    return None


def _status_changes(
    report: StatusUpdateReport,
    municipality: Municipality,
    status: _StatusFile,
    staff: StaffContext,
    service: TransitionService,
) -> list[_Change]:
    """The changes the file asks for; every refused row goes to ``report.rejected``."""
    problems: dict[int, list[CellError]] = {row.line: [] for row in status.rows}
    receipts: dict[int, str] = {}
    first_line: dict[str, int] = {}
    receipt_column = status.column("receipt_number")
    for row in status.rows:
        error = _receipt_error(row.values["receipt_number"])
        if isinstance(error, CellError):
            problems[row.line].append(error._replace(column=receipt_column))
        elif error in first_line:
            message = _("同じ受付番号が%(line)d行目にもあります。") % {"line": first_line[error]}
            problems[row.line].append(
                CellError(receipt_column, IntakeErrorCode.DUPLICATE_RECEIPT, message)
            )
        else:
            first_line[error] = row.line
            receipts[row.line] = error
    applications = {
        a.receipt_number: a
        for a in Application.objects.filter(
            municipality=municipality, receipt_number__in=receipts.values()
        ).select_related("version", "procedure", "department")
    }
    changes: list[_Change] = []
    for row in status.rows:
        if row.line not in receipts:
            continue
        application = applications.get(receipts[row.line])
        if application is None:
            message = _("この受付番号の申請はありません。")
            problems[row.line].append(CellError(receipt_column, IntakeErrorCode.NOT_FOUND, message))
            continue
        change = _check_row(row, status, application, staff, service, problems[row.line])
        if change is not None and change.target == application.state:
            report.unchanged += 1
        elif change is not None:
            changes.append(change)
    report.rejected = [RowError(line, errors) for line, errors in problems.items() if errors]
    return changes


def _receipt_error(text: str) -> CellError | str:
    """The receipt number in ``text``, or the error (without its column) that refuses it."""
    if not text:
        return CellError("", IntakeErrorCode.REQUIRED, _("受付番号を入力してください。"))
    try:
        return receipt_number_parse(text)
    except ReceiptFormatError as exc:
        if exc.code == IntakeErrorCode.RECEIPT_CHECK_DIGIT:
            message = _("受付番号に誤りがあります（チェック数字が合いません）。")
            return CellError("", IntakeErrorCode.RECEIPT_CHECK_DIGIT, message)
        return CellError("", IntakeErrorCode.RECEIPT_FORMAT, _("受付番号は10桁の数字です。"))


def _check_row(
    row: _StatusRow,
    status: _StatusFile,
    application: Application,
    staff: StaffContext,
    service: TransitionService,
    problems: list[CellError],
) -> _Change | None:
    """The change a row asks for, or None after adding to ``problems`` why it cannot be made."""
    definition = definition_of(application.version)
    values = row.values
    text = values["state"]
    target = _target_state(definition, text) if text else None
    if target is None:
        if text:
            code = IntakeErrorCode.UNKNOWN_STATE
            message = _("「%(state)s」はこの手続きの状態にありません。") % {"state": text}
        else:
            code, message = IntakeErrorCode.REQUIRED, _("状態を入力してください。")
        problems.append(CellError(status.column("state"), code, message))
        return None
    change = _Change(
        row.line,
        application,
        target,
        values.get("message", ""),
        values.get("reason", ""),
        values.get("missing_items", ""),
    )
    if target == application.state:
        return change
    refusal = service.transition_allowed(application=application, target=target, staff=staff)
    if refusal is not None:
        problems.append(CellError(status.column("state"), refusal.code, refusal.message))
        return None
    transition = next(
        (t for t in definition.allowed_targets(application.state) if t.target == target), None
    )
    requires = transition.requires if transition is not None else ""
    if requires == "reason" and not change.reason:
        message = _("この状態にするには理由（理由の列）が必要です。")
        problems.append(
            CellError(status.column("reason"), IntakeErrorCode.REASON_REQUIRED, message)
        )
        return None
    if requires == "missing_items" and not change.missing_items:
        message = _("この状態にするには不足書類（不足書類の列）が必要です。")
        problems.append(
            CellError(
                status.column("missing_items"), IntakeErrorCode.MISSING_ITEMS_REQUIRED, message
            )
        )
        return None
    return change
