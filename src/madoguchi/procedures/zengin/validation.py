"""Validation: each value cleaned to what its field holds, or refused with its place."""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Sequence
from typing import Final

from django.utils.translation import gettext as _

from madoguchi.core.japanese import normalize_digits, normalize_text
from madoguchi.procedures.fieldtypes import BANK_HOLDER_CHARACTERS, to_bank_kana
from madoguchi.procedures.zengin.errors import (
    TransferFileError,
    TransferFileErrorCode,
    _error,
    _missing,
    _payment_place,
    _Place,
    _remitter_place,
)
from madoguchi.procedures.zengin.payments import Payment, Remitter
from madoguchi.procedures.zengin.records import _CODE_DIVISION, _MAX_AMOUNT, _TYPE_CODE, _WIDTHS

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


def find_payment_errors(payments: Sequence[Payment]) -> list[TransferFileError]:
    """Return the first error of each refused payment, so that staff can fix them all at once."""
    errors: list[TransferFileError] = []
    for index, payment in enumerate(payments):
        try:
            _clean_payment(payment, index)
        except TransferFileError as error:
            errors.append(error)
    return errors
