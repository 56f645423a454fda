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

from madoguchi.procedures.zengin.building import build_transfer_csv, build_transfer_file
from madoguchi.procedures.zengin.errors import TransferFileError, TransferFileErrorCode
from madoguchi.procedures.zengin.parsing import (
    DataRecord,
    HeaderRecord,
    TrailerRecord,
    parse_transfer_file,
)
from madoguchi.procedures.zengin.payments import Payment, Remitter
from madoguchi.procedures.zengin.records import RECORD_LENGTH
from madoguchi.procedures.zengin.validation import find_payment_errors

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
