"""The application import: one paper application per CSV row, stored in batches of rows."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.fieldtypes import FieldInvalid, FieldSpec, GroupInvalid, validate_answers
from madoguchi.procedures.intake.columns import _Columns, _columns, _Target
from madoguchi.procedures.intake.reading import _read_rows, _Row
from madoguchi.procedures.intake.reports import (
    CellError,
    FileError,
    ImportReport,
    IntakeErrorCode,
    RowError,
)
from madoguchi.procedures.models import Application, Channel, Procedure, ProcedureVersion
from madoguchi.procedures.selectors import definition_of
from madoguchi.procedures.services import (
    BulkRow,
    SubmissionInvalid,
    SubmitResult,
    _request_fingerprint,
    _submit_retrying,
    application_submit,
    applications_submit_bulk,
)
from madoguchi.tenants.models import Municipality

# Answers key listing the file fields whose documents stay on paper. Field keys start with a
# letter, so it cannot clash with one.
PAPER_DOCUMENTS_KEY: Final = "_paper_documents"

# Valid rows are stored this many to a transaction, each batch with one audit event.
IMPORT_BATCH_ROWS: Final = 500

logger = logging.getLogger(__name__)


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


def _stored(
    definition: ProcedureDefinition, cleaned: Mapping[str, Any], on_paper: list[str]
) -> dict[str, Any]:
    """``cleaned`` shaped like a web submission's answers (file fields None), plus the list of
    documents on paper under PAPER_DOCUMENTS_KEY when they are on paper."""
    specs = definition.fields
    answers: dict[str, Any] = {}
    for spec in specs:
        value = cleaned.get(spec.key)
        if spec.type == "group" and isinstance(value, list):
            files = [sub.key for sub in spec.options.fields if sub.type == "file"]
            value = [{**item, **dict.fromkeys(files)} for item in value]
        answers[spec.key] = value
    if on_paper:
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
    this calls the same storing step (with its receipt-number retry) directly; the answers were
    validated with every other field's rules by the caller.
    """
    return _submit_retrying(
        municipality=municipality,
        version=version,
        definition=definition,
        cleaned=cleaned,
        channel=Channel.PAPER,
        actor=actor,
        idempotency_key=idempotency_key,
        request_fingerprint=_request_fingerprint(version, cleaned),
        draft=None,
        owned_attachments=set(),
    )


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
    for start in range(0, len(valid), IMPORT_BATCH_ROWS):
        batch = valid[start : start + IMPORT_BATCH_ROWS]
        try:
            failed_line = _import_batch(
                report, municipality, batch, present, columns, version, definition, actor, on_paper
            )
        except DatabaseError:
            # The commit itself failed: the whole batch was rolled back.
            logger.exception("paper import: batch from line %s failed", batch[0].line)
            failed_line = batch[0].line
        if failed_line is not None:
            # The batches before it, and its rows before that line, stay stored.
            report.file_errors.append(
                FileError(
                    IntakeErrorCode.BATCH_FAILED,
                    _(
                        "この行以降は保存できませんでした（データベースの誤り）。"
                        "これより前の行は保存済みです。同じファイルをもう一度取り込むと、"
                        "保存済みの行は飛ばして残りを登録します。"
                    ),
                    failed_line,
                )
            )
            break
    report.rejected.sort(key=lambda row: row.line)


def _import_batch(
    report: ImportReport,
    municipality: Municipality,
    batch: Sequence[_Valid],
    present: dict[str, str],
    columns: _Columns,
    version: ProcedureVersion,
    definition: ProcedureDefinition,
    actor: AuditActor,
    on_paper: list[str],
) -> int | None:
    """Store ``batch`` in one transaction, with one audit event listing its new rows; the
    report and ``present`` change only once the batch is committed.

    The new rows go in together (applications_submit_bulk). When that fails on the database
    (a row stored meanwhile by a concurrent import, a full disk), they are stored one by one
    through the submission path instead, which finds the rows stored meanwhile by their key
    and the exact line where the database fails: the rows before it are committed and its line
    is returned. Any other error also commits the rows before it, then propagates.
    """
    outcome = _BatchOutcome()
    with transaction.atomic():
        first_of_key: dict[str, _Valid] = {}
        repeats: list[_Valid] = []
        for row in batch:
            known = present.get(row.key)
            if known is not None:
                outcome.skipped[row.line] = known
            elif row.key in first_of_key:
                repeats.append(row)  # the same form twice in the batch
            else:
                first_of_key[row.key] = row
        new = list(first_of_key.values())
        try:
            with transaction.atomic():
                results = applications_submit_bulk(
                    municipality=municipality,
                    version=version,
                    definition=definition,
                    rows=[BulkRow(_stored(definition, r.cleaned, on_paper), r.key) for r in new],
                    channel=Channel.PAPER,
                    actor=actor,
                )
            for row, result in zip(new, results, strict=True):
                outcome.added[row.key] = result.application.receipt_number
                outcome.imported[row.line] = result.application.receipt_number
        except DatabaseError:
            logger.info("paper import: storing the batch from line %s row by row", batch[0].line)
            _import_one_by_one(
                outcome, municipality, new, columns, version, definition, actor, on_paper
            )
        for row in repeats:
            if row.key in outcome.added and (outcome.failed_line or 10**9) > row.line:
                outcome.skipped[row.line] = outcome.added[row.key]
        if outcome.imported:
            audit_event(
                municipality=municipality,
                action="application.import_batch",
                actor=actor,
                obj=version.procedure,
                data={
                    "procedure": definition.code,
                    "version": version.number,
                    "lines": sorted(outcome.imported),
                    "receipts": [outcome.imported[line] for line in sorted(outcome.imported)],
                },
            )
    present.update(outcome.added)
    report.imported += len(outcome.imported)
    report.duplicates_skipped += len(outcome.skipped)
    report.receipts.update(outcome.imported)
    report.receipts.update(outcome.skipped)
    report.rejected.extend(outcome.rejected)
    if outcome.error is not None:
        raise outcome.error
    return outcome.failed_line


@dataclasses.dataclass
class _BatchOutcome:
    imported: dict[int, str] = dataclasses.field(default_factory=dict)
    skipped: dict[int, str] = dataclasses.field(default_factory=dict)
    rejected: list[RowError] = dataclasses.field(default_factory=list)
    added: dict[str, str] = dataclasses.field(default_factory=dict)  # receipt by key
    failed_line: int | None = None
    error: Exception | None = None


def _import_one_by_one(
    outcome: _BatchOutcome,
    municipality: Municipality,
    rows: Sequence[_Valid],
    columns: _Columns,
    version: ProcedureVersion,
    definition: ProcedureDefinition,
    actor: AuditActor,
    on_paper: list[str],
) -> None:
    """Store ``rows`` through the submission path, each in its own savepoint, until the end or
    the first database error (``outcome.failed_line``) or other error (``outcome.error``)."""
    for line, answers, cleaned, key in rows:
        try:
            with transaction.atomic():
                if on_paper:
                    result = _submit_with_paper_documents(
                        municipality=municipality,
                        version=version,
                        definition=definition,
                        cleaned=_stored(definition, cleaned, on_paper),
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
            outcome.rejected.append(RowError(line, _cell_errors(columns, exc.errors, {})))
            continue
        except DatabaseError:
            logger.exception("paper import: line %s could not be stored", line)
            outcome.failed_line = line
            return
        except Exception as exc:
            outcome.error = exc
            return
        outcome.added[key] = result.application.receipt_number
        if result.created:
            outcome.imported[line] = result.application.receipt_number
        else:
            outcome.skipped[line] = result.application.receipt_number


def _stored_receipts(version: ProcedureVersion, keys: list[str]) -> dict[str, str]:
    """The receipt numbers of stored applications by idempotency key, for those of ``keys``."""
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        stored = Application.objects.filter(
            municipality_id=version.municipality_id, idempotency_key__in=keys[start : start + 500]
        ).values_list("idempotency_key", "receipt_number")
        found.update((key, receipt) for key, receipt in stored if key is not None)
    return found
