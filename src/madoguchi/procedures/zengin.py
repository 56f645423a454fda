"""全銀協 総合振込 files: the fixed-length records a bank takes to pay cash benefits.

A file is a header record (1), one data record (2) per payment, a trailer (8) with the count and
the sum, and an end record (9), each exactly 120 bytes of 半角 characters in JIS X 0201 /
Shift_JIS, optionally followed by CRLF (JAPAN_SPECS.md). N fields are digits, right-aligned and
zero-filled; C fields are 半角カナ, upper-case letters, digits and a few symbols, left-aligned and
space-filled.

Names are converted with :func:`~madoguchi.procedures.fieldtypes.to_bank_kana` and checked
against :data:`~madoguchi.procedures.fieldtypes.BANK_HOLDER_CHARACTERS`. What cannot be converted,
does not fit its field or is out of range is refused with :class:`TransferFileError`, which names
the payment and the field: a bank file is never truncated or written with characters the bank
would garble. Messages never contain the value itself (names and accounts are personal data and
error texts reach logs).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, TypedDict

from django.utils.translation import gettext as _

from madoguchi.core.csvutil import csv_cell
from madoguchi.core.japanese import normalize_digits, normalize_text
from madoguchi.procedures.fieldtypes import BANK_HOLDER_CHARACTERS, to_bank_kana

__all__ = [
    "RECORD_LENGTH",
    "DataRecord",
    "HeaderRecord",
    "Payment",
    "Remitter",
    "TrailerRecord",
    "TransferFileError",
    "TransferFileErrorCode",
    "build_transfer_csv",
    "build_transfer_file",
    "find_payment_errors",
    "parse_transfer_file",
]

RECORD_LENGTH: Final = 120
_TYPE_CODE: Final = "21"  # 種別コード: 総合振込
_CODE_DIVISION: Final = "0"  # コード区分: JIS
_MAX_AMOUNT: Final = 9_999_999_999  # 振込金額 N10
_MAX_TOTAL_COUNT: Final = 999_999  # 合計件数 N6
_MAX_TOTAL_AMOUNT: Final = 999_999_999_999  # 合計金額 N12


class TransferFileErrorCode(StrEnum):
    """Stable codes of :class:`TransferFileError`."""

    EMPTY = "transfer_empty"
    INVALID_TYPE = "transfer_invalid_type"  # a value of the wrong kind (None, a float amount, ...)
    NAME_REQUIRED = "transfer_name_required"
    NAME_NOT_KANA = "transfer_name_not_kana"  # kanji or other letters with no bank form
    NAME_SYMBOL = "transfer_name_symbol"
    NAME_TOO_LONG = "transfer_name_too_long"
    CODE_FORMAT = "transfer_code_format"  # a bank, branch, requester or customer code
    ACCOUNT_TYPE_INVALID = "transfer_account_type_invalid"
    ACCOUNT_NUMBER_FORMAT = "transfer_account_number_format"
    AMOUNT_RANGE = "transfer_amount_range"
    OPTION_INVALID = "transfer_option_invalid"  # 新規コード, 振込指定区分 or 識別表示
    TOTAL_COUNT_OVERFLOW = "transfer_total_count_overflow"
    TOTAL_AMOUNT_OVERFLOW = "transfer_total_amount_overflow"
    RECORD_LENGTH = "transfer_record_length"
    RECORD_CHARACTERS = "transfer_record_characters"
    RECORD_ORDER = "transfer_record_order"
    RECORD_DIGITS = "transfer_record_digits"
    TOTALS_MISMATCH = "transfer_totals_mismatch"


class TransferFileError(ValueError):
    """A transfer file cannot be written (or read) as asked.

    ``index`` is the position of the payment in the list given (from 0), or None for the
    remitter and the file as a whole; when reading, it is the position of the record.
    ``field`` is the attribute of :class:`Payment` or :class:`Remitter` at fault, or a name such
    as ``"payments"``, ``"total_amount"`` or ``"record"``.
    """

    code: TransferFileErrorCode
    message: str
    index: int | None
    field: str

    def __init__(
        self, code: TransferFileErrorCode, message: str, index: int | None, field: str
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.index = index
        self.field = field

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.index!r}, "
            f"{self.field!r})"
        )

    def as_dict(self) -> dict[str, object]:
        """Return the error as JSON for API responses and reports."""
        return {
            "code": self.code.value,
            "message": self.message,
            "index": self.index,
            "field": self.field,
        }


@dataclass(frozen=True, kw_only=True)
class Remitter:
    """振込依頼人: the municipality's account the transfers are paid from (the header record).

    ``account_type`` is 1 普通, 2 当座 or 9 その他 (the digit, or 普通/当座/その他). Bank and
    branch names are optional here; the receiving bank's spec says whether it needs them.
    """

    requester_code: str  # 振込依頼人コード, up to 10 digits, assigned by the bank
    requester_name: str  # 振込依頼人名, up to 40 characters once in bank kana
    transfer_date: datetime.date  # 振込指定日, written as MMDD
    bank_code: str  # 仕向銀行番号
    branch_code: str  # 仕向支店番号
    account_type: str | int
    account_number: str
    bank_name: str = ""
    branch_name: str = ""


@dataclass(frozen=True, kw_only=True)
class Payment:
    """One transfer to a resident (a data record).

    ``account_type`` is 1 普通, 2 当座, 4 貯蓄 or 9 その他 (the digit, or the word).
    ``customer_code1`` and ``customer_code2`` (顧客コード) are up to 10 digits, such as the
    receipt number. ``new_code`` (新規コード) is 0 その他, 1 第1回振込分 or 2 変更分.
    ``transfer_class`` (振込指定区分) is 7 電信扱 (テレ為替), the usual choice and the default,
    or 8 文書扱. ``identification`` (識別表示) is a space: "Y" would turn the customer codes
    into EDI情報, which this module does not write.
    """

    bank_code: str  # 被仕向銀行番号, 4 digits
    branch_code: str  # 被仕向支店番号, 3 digits
    account_type: str | int
    account_number: str  # up to 7 digits, zero-filled
    recipient_name: str  # 受取人名, up to 30 characters once in bank kana
    amount: int  # 振込金額 in yen
    bank_name: str = ""
    branch_name: str = ""
    new_code: str = "0"
    customer_code1: str = ""
    customer_code2: str = ""
    transfer_class: str = "7"
    identification: str = " "

    @classmethod
    def from_bank_account(
        cls,
        value: Mapping[str, object],
        *,
        amount: int,
        customer_code1: str = "",
        customer_code2: str = "",
    ) -> Payment:
        """Return the payment to an account stored by the ``bank_account`` field type.

        ``value`` is the cleaned dict (bank_code, branch_code, account_type 普通/当座,
        account_number, holder_name); a missing or non-text part is refused with ``index`` None.
        """
        parts: dict[str, str] = {}
        for part, field in _BANK_ACCOUNT_PARTS.items():
            item = value.get(part)
            if not isinstance(item, str):
                raise _missing(_Place(None, _("口座情報")), field)
            parts[field] = item
        return cls(
            bank_code=parts["bank_code"],
            branch_code=parts["branch_code"],
            account_type=parts["account_type"],
            account_number=parts["account_number"],
            recipient_name=parts["recipient_name"],
            amount=amount,
            customer_code1=customer_code1,
            customer_code2=customer_code2,
        )


_BANK_ACCOUNT_PARTS: Final = {
    "bank_code": "bank_code",
    "branch_code": "branch_code",
    "account_type": "account_type",
    "account_number": "account_number",
    "holder_name": "recipient_name",
}


# Record layouts --------------------------------------------------------------------------------

_Kind = Literal["N", "C"]
_Layout = tuple[tuple[str, _Kind, int], ...]

_HEADER: Final[_Layout] = (
    ("data_type", "N", 1),
    ("type_code", "N", 2),
    ("code_division", "N", 1),
    ("requester_code", "N", 10),
    ("requester_name", "C", 40),
    ("transfer_date", "N", 4),
    ("bank_code", "N", 4),
    ("bank_name", "C", 15),
    ("branch_code", "N", 3),
    ("branch_name", "C", 15),
    ("account_type", "N", 1),
    ("account_number", "N", 7),
    ("dummy", "C", 17),
)
_DATA: Final[_Layout] = (
    ("data_type", "N", 1),
    ("bank_code", "N", 4),
    ("bank_name", "C", 15),
    ("branch_code", "N", 3),
    ("branch_name", "C", 15),
    ("clearing_house_code", "N", 4),  # 手形交換所番号, unused: 0
    ("account_type", "N", 1),
    ("account_number", "N", 7),
    ("recipient_name", "C", 30),
    ("amount", "N", 10),
    ("new_code", "N", 1),
    ("customer_code1", "N", 10),
    ("customer_code2", "N", 10),
    ("transfer_class", "N", 1),
    ("identification", "C", 1),
    ("dummy", "C", 7),
)
_TRAILER: Final[_Layout] = (
    ("data_type", "N", 1),
    ("total_count", "N", 6),
    ("total_amount", "N", 12),
    ("dummy", "C", 101),
)
_END: Final[_Layout] = (("data_type", "N", 1), ("dummy", "C", 119))
_WIDTHS: Final = {name: width for layout in (_HEADER, _DATA) for name, _kind, width in layout}

_ACCOUNT_TYPES: Final = {
    "1": "1",
    "普通": "1",
    "普通預金": "1",
    "2": "2",
    "当座": "2",
    "当座預金": "2",
    "4": "4",
    "貯蓄": "4",
    "貯蓄預金": "4",
    "9": "9",
    "その他": "9",
}
_ACCOUNT_TYPE_LABELS: Final = {"1": "普通", "2": "当座", "4": "貯蓄", "9": "その他"}


# Errors ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    """Where a value comes from: the payment's position (or None) and its name in messages."""

    index: int | None
    where: str


def _remitter_place() -> _Place:
    return _Place(None, _("振込依頼人"))


def _payment_place(index: int) -> _Place:
    return _Place(index, _("%(number)d件目の振込") % {"number": index + 1})


def _file_place() -> _Place:
    return _Place(None, _("振込ファイル"))


def _record_place(index: int) -> _Place:
    return _Place(index, _("%(number)d番目のレコード") % {"number": index + 1})


def _field_label(field: str) -> str:
    labels = {
        "requester_code": _("振込依頼人コード"),
        "requester_name": _("振込依頼人名"),
        "transfer_date": _("振込指定日"),
        "bank_code": _("金融機関コード"),
        "bank_name": _("金融機関名"),
        "branch_code": _("支店コード"),
        "branch_name": _("支店名"),
        "account_type": _("預金種目"),
        "account_number": _("口座番号"),
        "recipient_name": _("受取人名"),
        "amount": _("振込金額"),
        "new_code": _("新規コード"),
        "customer_code1": _("顧客コード1"),
        "customer_code2": _("顧客コード2"),
        "transfer_class": _("振込指定区分"),
        "identification": _("識別表示"),
        "total_count": _("合計件数"),
        "total_amount": _("合計金額"),
    }
    return labels.get(field, field)


def _error(
    code: TransferFileErrorCode, message: str, place: _Place, field: str, **params: object
) -> TransferFileError:
    """Return the error; ``message`` may use %(where)s, %(label)s and ``params``."""
    text = message % {"where": place.where, "label": _field_label(field), **params}
    return TransferFileError(code, text, place.index, field)


def _missing(place: _Place, field: str) -> TransferFileError:
    message = _("%(where)s：%(label)sがありません。")
    return _error(TransferFileErrorCode.INVALID_TYPE, message, place, field)


# Cleaning --------------------------------------------------------------------------------------


def _name(value: object, place: _Place, field: str, *, required: bool) -> str:
    """Return ``value`` in bank kana, refusing what the bank would not read."""
    if not isinstance(value, str):
        raise _missing(place, field)
    name = to_bank_kana(value)
    if required and not name:
        message = _("%(where)s：%(label)sを指定してください。")
        raise _error(TransferFileErrorCode.NAME_REQUIRED, message, place, field)
    refused = [char for char in name if char not in BANK_HOLDER_CHARACTERS]
    if any(unicodedata.category(char).startswith("L") for char in refused):
        message = _("%(where)s：%(label)sはカナか英字で指定してください（漢字は使えません）。")
        raise _error(TransferFileErrorCode.NAME_NOT_KANA, message, place, field)
    if refused:
        message = _("%(where)s：%(label)sに使える記号は ( ) . - / だけです。")
        raise _error(TransferFileErrorCode.NAME_SYMBOL, message, place, field)
    width = _WIDTHS[field]
    if len(name) > width:
        message = _("%(where)s：%(label)sは半角%(max)d文字以内にしてください（濁点も1文字です）。")
        raise _error(TransferFileErrorCode.NAME_TOO_LONG, message, place, field, max=width)
    return name


def _digits(value: object, place: _Place, field: str, *, shortest: int) -> str:
    """Return ``value`` as ASCII digits of a length ``field`` allows (全角 and - accepted)."""
    if not isinstance(value, str):
        raise _missing(place, field)
    text = normalize_digits(normalize_text(value))
    width = _WIDTHS[field]
    if shortest <= len(text) <= width and text.isascii() and (text.isdigit() or not text):
        return text
    code = (
        TransferFileErrorCode.ACCOUNT_NUMBER_FORMAT
        if field == "account_number"
        else TransferFileErrorCode.CODE_FORMAT
    )
    if shortest == width:
        message = _("%(where)s：%(label)sは%(digits)d桁の数字にしてください。")
    else:
        message = _("%(where)s：%(label)sは%(digits)d桁以内の数字にしてください。")
    raise _error(code, message, place, field, digits=width)


def _account_type(value: object, place: _Place, *, savings: bool) -> str:
    """Return 1, 2, 9 (and 4 貯蓄 when ``savings``) for the digit or the word."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    account_type = _ACCOUNT_TYPES.get(normalize_text(value)) if isinstance(value, str) else None
    if account_type is not None and (savings or account_type != "4"):
        return account_type
    if savings:
        message = _("%(where)s：%(label)sは 1 普通、2 当座、4 貯蓄、9 その他 のどれかです。")
    else:
        message = _("%(where)s：%(label)sは 1 普通、2 当座、9 その他 のどれかです。")
    raise _error(TransferFileErrorCode.ACCOUNT_TYPE_INVALID, message, place, "account_type")


def _clean_remitter(remitter: Remitter) -> dict[str, str]:
    """Return the header record's field values, unpadded."""
    place = _remitter_place()
    date = remitter.transfer_date
    if not isinstance(date, datetime.date):
        raise _missing(place, "transfer_date")
    return {
        "data_type": "1",
        "type_code": _TYPE_CODE,
        "code_division": _CODE_DIVISION,
        "requester_code": _digits(remitter.requester_code, place, "requester_code", shortest=1),
        "requester_name": _name(remitter.requester_name, place, "requester_name", required=True),
        "transfer_date": f"{date.month:02d}{date.day:02d}",
        "bank_code": _digits(remitter.bank_code, place, "bank_code", shortest=4),
        "bank_name": _name(remitter.bank_name, place, "bank_name", required=False),
        "branch_code": _digits(remitter.branch_code, place, "branch_code", shortest=3),
        "branch_name": _name(remitter.branch_name, place, "branch_name", required=False),
        "account_type": _account_type(remitter.account_type, place, savings=False),
        "account_number": _digits(remitter.account_number, place, "account_number", shortest=1),
        "dummy": "",
    }


def _clean_options(payment: Payment, place: _Place) -> dict[str, str]:
    """Return 新規コード, 振込指定区分 and 識別表示."""
    code = TransferFileErrorCode.OPTION_INVALID
    if payment.new_code not in ("0", "1", "2"):
        message = _("%(where)s：%(label)sは 0、1（第1回振込分）、2（変更分）のどれかです。")
        raise _error(code, message, place, "new_code")
    if payment.transfer_class not in ("7", "8"):
        message = _("%(where)s：%(label)sは 7（電信扱）か 8（文書扱）です。")
        raise _error(code, message, place, "transfer_class")
    if payment.identification not in (" ", ""):
        message = _("%(where)s：EDI情報（%(label)s Y）には対応していません。空白にしてください。")
        raise _error(code, message, place, "identification")
    return {
        "new_code": payment.new_code,
        "transfer_class": payment.transfer_class,
        "identification": " ",
    }


def _clean_payment(payment: Payment, index: int) -> dict[str, str]:
    """Return the data record's field values, unpadded, for the payment at ``index``."""
    place = _payment_place(index)
    amount = payment.amount
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise _missing(place, "amount")
    if not 1 <= amount <= _MAX_AMOUNT:
        message = _("%(where)s：%(label)sは1円以上9,999,999,999円以下にしてください。")
        raise _error(TransferFileErrorCode.AMOUNT_RANGE, message, place, "amount")
    return {
        "data_type": "2",
        "bank_code": _digits(payment.bank_code, place, "bank_code", shortest=4),
        "bank_name": _name(payment.bank_name, place, "bank_name", required=False),
        "branch_code": _digits(payment.branch_code, place, "branch_code", shortest=3),
        "branch_name": _name(payment.branch_name, place, "branch_name", required=False),
        "clearing_house_code": "0",
        "account_type": _account_type(payment.account_type, place, savings=True),
        "account_number": _digits(payment.account_number, place, "account_number", shortest=1),
        "recipient_name": _name(payment.recipient_name, place, "recipient_name", required=True),
        "amount": str(amount),
        "customer_code1": _digits(payment.customer_code1, place, "customer_code1", shortest=0),
        "customer_code2": _digits(payment.customer_code2, place, "customer_code2", shortest=0),
        **_clean_options(payment, place),
        "dummy": "",
    }


def _record(layout: _Layout, values: Mapping[str, str]) -> bytes:
    """Pad each value to its field (N: zero-filled right, C: space-filled left) and encode."""
    text = "".join(
        values[name].rjust(width, "0") if kind == "N" else values[name].ljust(width, " ")
        for name, kind, width in layout
    )
    record = text.encode("cp932")
    # Cleaning guarantees this; a wrong length would shift every later field in the bank's eyes.
    if len(text) != RECORD_LENGTH or len(record) != RECORD_LENGTH:
        raise ValueError("a transfer record must be 120 single-byte characters")
    return record


# Writing ---------------------------------------------------------------------------------------


def find_payment_errors(payments: Sequence[Payment]) -> list[TransferFileError]:
    """Return the first error of each refused payment, so that staff can fix them all at once."""
    errors: list[TransferFileError] = []
    for index, payment in enumerate(payments):
        try:
            _clean_payment(payment, index)
        except TransferFileError as error:
            errors.append(error)
    return errors


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


# Reading ---------------------------------------------------------------------------------------


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
