"""What a transfer file pays: the remitter's account and the payments to residents."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from django.utils.translation import gettext as _

from madoguchi.procedures.zengin.errors import _missing, _Place


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
