"""Bank-transfer exports of approved cash benefits (全銀協 総合振込, and a CSV to check)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from madoguchi.accounts.permissions import StaffContext
from madoguchi.audit.services import audit_access, audit_event
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.models import Application, Procedure, TransferAccount
from madoguchi.procedures.selectors import definition_of, procedure_list_published
from madoguchi.procedures.zengin import (
    Payment,
    Remitter,
    TransferFileError,
    build_transfer_csv,
    build_transfer_file,
    find_payment_errors,
)
from madoguchi.tenants.models import Department, Municipality, Role

__all__ = ["TransferExport", "TransferRefused", "payable_procedures", "transfer_export"]

_ROLES = {Role.ADMIN, Role.SUPERVISOR}


class TransferRefused(Exception):  # noqa: N818 - an outcome shown to staff
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True, slots=True)
class TransferExport:
    content: bytes
    filename: str
    count: int
    total: int
    application_ids: tuple[int, ...] = ()  # the applications paid by the file, in its order


def payable_procedures(
    *, municipality: Municipality
) -> list[tuple[Procedure, ProcedureDefinition]]:
    """The published procedures that pay a cash benefit, with their current definitions: what
    a transfer file can be made for (the console's choices and the API's)."""
    found = []
    for procedure in procedure_list_published(municipality=municipality):
        if procedure.current_version is None:
            continue
        definition = definition_of(procedure.current_version)
        if definition.payment is not None:
            found.append((procedure, definition))
    return found


def _payments(
    applications: Sequence[Application],
) -> tuple[list[tuple[Application, Payment]], list[str]]:
    """Each readable application with its payment, and a problem for each unreadable one."""
    payments: list[tuple[Application, Payment]] = []
    problems: list[str] = []
    for application in applications:
        definition = definition_of(application.version)
        answers = application.answers or {}
        assert definition.payment is not None
        account = answers.get(definition.payment.account_field)
        if not isinstance(account, dict):
            problems.append(f"{application.receipt_number}：振込先口座がありません。")
            continue
        try:
            payments.append(
                (
                    application,
                    Payment.from_bank_account(
                        account,
                        amount=definition.payment_amount(answers),
                        customer_code1=application.receipt_number,
                    ),
                )
            )
        except TransferFileError as error:
            problems.append(f"{application.receipt_number}：{error.message}")
    return payments, problems


@transaction.atomic
def transfer_export(
    *,
    staff: StaffContext,
    procedure: Procedure,
    state: str,
    remitter: Remitter,
    fmt: str,
    departments: list[Department] | None,
) -> TransferExport:
    """The transfer file (``fmt`` "zengin") or CSV ("csv") for the procedure's applications in
    ``state``. Refused whole (TransferRefused listing every problem) if any payment is bad.
    Every application exported gets an access entry: the file holds names and accounts."""
    if not any(staff.roles(d) & _ROLES for d in [None, *staff.departments]):
        raise TransferRefused(["振込データは監督者または管理者だけが作成できます。"])
    if (
        procedure.current_version is None
        or definition_of(procedure.current_version).payment is None
    ):
        raise TransferRefused(["この手続きは振込を行う手続きではありません。"])
    found = Application.objects.filter(
        municipality=staff.municipality, procedure=procedure, state=state
    ).select_related("version", "department")
    if departments is not None:
        found = found.filter(department__in=departments)
    applications = list(found.order_by("submitted_at", "pk"))
    if not applications:
        raise TransferRefused(["対象の申請がありません。"])
    paired, problems = _payments(applications)
    payments = [payment for _application, payment in paired]
    problems += [
        f"{paired[e.index][0].receipt_number}：{e.message}"
        for e in find_payment_errors(payments)
        if e.index is not None
    ]
    if problems:
        raise TransferRefused(problems)
    try:
        content = (
            build_transfer_file(remitter, payments)
            if fmt == "zengin"
            else build_transfer_csv(payments)
        )
    except TransferFileError as error:
        raise TransferRefused([error.message]) from None
    for application, _payment in paired:
        audit_access(
            municipality=staff.municipality,
            actor=staff.actor(application.department),
            purpose="振込データの作成",
            obj=application,
            action="export_transfer",
        )
    total = sum(p.amount for p in payments)
    audit_event(
        municipality=staff.municipality,
        action="application.export_transfer",
        actor=staff.actor(),
        obj=procedure,
        data={"state": state, "count": len(payments), "total": total, "format": fmt},
    )
    stamp = remitter.transfer_date.strftime("%Y%m%d")
    extension = "txt" if fmt == "zengin" else "csv"
    return TransferExport(
        content,
        f"{staff.municipality.code}_{procedure.code}_{stamp}.{extension}",
        len(payments),
        total,
        tuple(application.pk for application, _payment in paired),
    )


def transfer_account_save(*, staff: StaffContext, remitter: Remitter) -> None:
    """Remember the paying account for the next export."""
    TransferAccount.objects.update_or_create(
        municipality=staff.municipality,
        defaults={
            "requester_code": remitter.requester_code,
            "requester_name": remitter.requester_name,
            "bank_code": remitter.bank_code,
            "bank_name": remitter.bank_name,
            "branch_code": remitter.branch_code,
            "branch_name": remitter.branch_name,
            "account_type": str(remitter.account_type),
            "account_number": remitter.account_number,
        },
    )


def default_transfer_date(today: datetime.date) -> datetime.date:
    from madoguchi.core.businessdays import add_business_days

    return add_business_days(today, 3)
