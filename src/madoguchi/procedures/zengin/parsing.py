"""Parsing a 総合振込 file, or a bank's result file in the same layout."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, TypedDict

from django.utils.translation import gettext as _

from madoguchi.procedures.zengin.errors import (
    TransferFileError,
    TransferFileErrorCode,
    _error,
    _record_place,
)
from madoguchi.procedures.zengin.records import (
    _DATA,
    _END,
    _HEADER,
    _TRAILER,
    RECORD_LENGTH,
    _Layout,
)


class HeaderRecord(TypedDict):
    """The header record as read; N fields as digit strings, C fields without trailing spaces."""

    type_code: str
    code_division: str
    requester_code: str
    requester_name: str
    transfer_date: str  # MMDD
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: str
    account_number: str
    dummy: str


class DataRecord(TypedDict):
    """A data record as read; ``identification`` is "" for a space."""

    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    clearing_house_code: str
    account_type: str
    account_number: str
    recipient_name: str
    amount: int
    new_code: str
    customer_code1: str
    customer_code2: str
    transfer_class: str
    identification: str
    dummy: str  # banks write result codes here in some result files


class TrailerRecord(TypedDict):
    """The trailer record; ``dummy`` holds the 振込済/振込不能 totals of some result files."""

    total_count: int
    total_amount: int
    dummy: str


def _split_records(data: bytes) -> list[bytes]:
    """Return the 120-byte records, with or without a line break after each."""
    records: list[bytes] = []
    # 半角 data never holds 0x0A or 0x0D, so line breaks can only separate records. 0x1A is the
    # end-of-file mark some bank systems still append.
    for line in data.rstrip(b"\x1a").splitlines():
        if not line or len(line) % RECORD_LENGTH:
            message = _("%(where)s：120バイトのレコードに分けられません。")
            place = _record_place(len(records))
            raise _error(TransferFileErrorCode.RECORD_LENGTH, message, place, "record")
        records.extend(
            line[start : start + RECORD_LENGTH] for start in range(0, len(line), RECORD_LENGTH)
        )
    return records


_WHOLE_FILE: Final = re.compile(rb"12*89")
_ORDERED_PREFIX: Final = re.compile(rb"1(?:2*(?:89?)?)?")


def _check_order(records: Sequence[bytes]) -> None:
    """Refuse anything but header, data..., trailer, end, naming the first record out of place."""
    kinds = bytes(record[0] for record in records)
    if _WHOLE_FILE.fullmatch(kinds):
        return
    prefix = _ORDERED_PREFIX.match(kinds)
    message = _("%(where)s：ヘッダー、データ、トレーラー、エンドの順になっていません。")
    place = _record_place(prefix.end() if prefix else 0)
    raise _error(TransferFileErrorCode.RECORD_ORDER, message, place, "record")


def _digits_error(index: int, field: str) -> TransferFileError:
    message = _("%(where)s：数字の項目（%(label)s）に数字以外があります。")
    return _error(TransferFileErrorCode.RECORD_DIGITS, message, _record_place(index), field)


def _read(layout: _Layout, record: bytes, index: int) -> dict[str, str]:
    """Return the record's fields: C without trailing spaces, N as digits ("" if blank)."""
    # Only ASCII printables and 半角カナ (0xA1-0xDF) are single-byte characters in Shift_JIS.
    if not all(0x20 <= byte <= 0x7E or 0xA1 <= byte <= 0xDF for byte in record):
        message = _("%(where)s：半角文字以外が含まれています。")
        place = _record_place(index)
        raise _error(TransferFileErrorCode.RECORD_CHARACTERS, message, place, "record")
    text = record.decode("cp932")
    values: dict[str, str] = {}
    start = 0
    for name, kind, width in layout:
        value = text[start : start + width]
        start += width
        if kind == "C":
            values[name] = value.rstrip(" ")
        elif value == " " * width:
            values[name] = ""  # an unused N field some banks leave blank
        elif value.isascii() and value.isdigit():
            values[name] = value
        else:
            raise _digits_error(index, name)
    return values


def _number(values: Mapping[str, str], name: str, index: int) -> int:
    if not values[name]:
        raise _digits_error(index, name)
    return int(values[name])


def parse_transfer_file(data: bytes) -> tuple[HeaderRecord, list[DataRecord], TrailerRecord]:
    """Read a 総合振込 file, or a bank's result file in the same layout.

    Records may be followed by CRLF or not. The order header, data..., trailer, end is
    required and the trailer's count and sum must match the data records; errors carry the
    record's position (from 0) in ``index``. The header is not checked to be 種別コード 21.
    """
    records = _split_records(data)
    _check_order(records)
    header = _read(_HEADER, records[0], 0)
    payments: list[DataRecord] = []
    for index, record in enumerate(records[1:-2], start=1):
        values = _read(_DATA, record, index)
        payments.append(
            DataRecord(
                bank_code=values["bank_code"],
                bank_name=values["bank_name"],
                branch_code=values["branch_code"],
                branch_name=values["branch_name"],
                clearing_house_code=values["clearing_house_code"],
                account_type=values["account_type"],
                account_number=values["account_number"],
                recipient_name=values["recipient_name"],
                amount=_number(values, "amount", index),
                new_code=values["new_code"],
                customer_code1=values["customer_code1"],
                customer_code2=values["customer_code2"],
                transfer_class=values["transfer_class"],
                identification=values["identification"],
                dummy=values["dummy"],
            )
        )
    trailer_index = len(records) - 2
    values = _read(_TRAILER, records[trailer_index], trailer_index)
    _read(_END, records[-1], len(records) - 1)
    trailer = TrailerRecord(
        total_count=_number(values, "total_count", trailer_index),
        total_amount=_number(values, "total_amount", trailer_index),
        dummy=values["dummy"],
    )
    total = sum(payment["amount"] for payment in payments)
    if trailer["total_count"] != len(payments) or trailer["total_amount"] != total:
        message = _("%(where)s：合計件数・合計金額がデータレコードと一致しません。")
        place = _record_place(trailer_index)
        raise _error(TransferFileErrorCode.TOTALS_MISMATCH, message, place, "record")
    return (
        HeaderRecord(
            type_code=header["type_code"],
            code_division=header["code_division"],
            requester_code=header["requester_code"],
            requester_name=header["requester_name"],
            transfer_date=header["transfer_date"],
            bank_code=header["bank_code"],
            bank_name=header["bank_name"],
            branch_code=header["branch_code"],
            branch_name=header["branch_name"],
            account_type=header["account_type"],
            account_number=header["account_number"],
            dummy=header["dummy"],
        ),
        payments,
        trailer,
    )
