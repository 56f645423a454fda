"""The status-change import: moving the applications named in a CSV to new states, all or none."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.services import audit_event
from madoguchi.procedures import workflow
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.intake.reading import _name, _read_rows
from madoguchi.procedures.intake.reports import (
    CellError,
    FileError,
    IntakeErrorCode,
    RowError,
    StatusUpdateReport,
)
from madoguchi.procedures.models import Application
from madoguchi.procedures.receipts import ReceiptFormatError, receipt_number_parse
from madoguchi.procedures.selectors import definition_of
from madoguchi.procedures.workflow import TransitionRefused
from madoguchi.tenants.models import Municipality


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
