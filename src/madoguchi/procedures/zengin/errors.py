"""Errors of transfer files: stable codes, and messages naming the payment or record and field."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _


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
