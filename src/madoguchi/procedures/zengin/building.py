"""Building the 総合振込 file for the bank, and the CSV of the same payments for staff."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Final

from django.utils.translation import gettext as _

from madoguchi.core.csvutil import csv_cell
from madoguchi.procedures.zengin.errors import TransferFileErrorCode, _error, _file_place
from madoguchi.procedures.zengin.payments import Payment, Remitter
from madoguchi.procedures.zengin.records import (
    _DATA,
    _END,
    _HEADER,
    _MAX_TOTAL_AMOUNT,
    _MAX_TOTAL_COUNT,
    _TRAILER,
    _record,
)
from madoguchi.procedures.zengin.validation import (
    _ACCOUNT_TYPE_LABELS,
    _clean_payment,
    _clean_remitter,
)


def build_transfer_file(
    remitter: Remitter, payments: Sequence[Payment], *, line_ending: bytes = b"\r\n"
) -> bytes:
    """Return the 総合振込 file paying ``payments`` from the ``remitter``'s account.

    ``line_ending`` follows every record: CRLF (the default) or ``b""`` for bare 120-byte
    records. The first value that cannot be written raises :class:`TransferFileError`;
    :func:`find_payment_errors` collects them all.
    """
    if line_ending not in (b"\r\n", b""):
        raise ValueError("line_ending must be b'\\r\\n' or b''")
    if not payments:
        message = _("%(where)s：振込データが1件もありません。")
        raise _error(TransferFileErrorCode.EMPTY, message, _file_place(), "payments")
    if len(payments) > _MAX_TOTAL_COUNT:
        message = _("%(where)s：%(label)sは999,999件までです。ファイルを分けてください。")
        code = TransferFileErrorCode.TOTAL_COUNT_OVERFLOW
        raise _error(code, message, _file_place(), "total_count")
    records = [_record(_HEADER, _clean_remitter(remitter))]
    total = 0
    for index, payment in enumerate(payments):
        values = _clean_payment(payment, index)
        total += int(values["amount"])
        records.append(_record(_DATA, values))
    if total > _MAX_TOTAL_AMOUNT:
        message = _("%(where)s：%(label)sが999,999,999,999円を超えます。ファイルを分けてください。")
        code = TransferFileErrorCode.TOTAL_AMOUNT_OVERFLOW
        raise _error(code, message, _file_place(), "total_amount")
    trailer = {"data_type": "8", "total_count": str(len(payments)), "total_amount": str(total)}
    records.append(_record(_TRAILER, {**trailer, "dummy": ""}))
    records.append(_record(_END, {"data_type": "9", "dummy": ""}))
    return b"".join(record + line_ending for record in records)


_CSV_HEADER: Final = (
    "金融機関コード",
    "金融機関名",
    "支店コード",
    "支店名",
    "預金種目",
    "口座番号",
    "受取人名",
    "金額",
    "顧客コード1",
    "顧客コード2",
)


def build_transfer_csv(payments: Sequence[Payment]) -> bytes:
    """Return the payments as a CSV for staff to check (UTF-8 with BOM, CRLF).

    Values are those the transfer file would hold (bank kana, zero-filled codes), with the
    預金種目 as a word; a payment the file would refuse is refused here the same way.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(label) for label in _CSV_HEADER])
    for index, payment in enumerate(payments):
        values = _clean_payment(payment, index)
        row: list[object] = [
            values["bank_code"],
            values["bank_name"],
            values["branch_code"],
            values["branch_name"],
            _ACCOUNT_TYPE_LABELS[values["account_type"]],
            values["account_number"].zfill(7),
            values["recipient_name"],
            int(values["amount"]),
            values["customer_code1"].zfill(10),
            values["customer_code2"].zfill(10),
        ]
        writer.writerow([csv_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
