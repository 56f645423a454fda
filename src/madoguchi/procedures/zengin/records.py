"""Record layouts of a 総合振込 file: field names, kinds (N, C) and widths, and encoding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

RECORD_LENGTH: Final = 120
_TYPE_CODE: Final = "21"  # 種別コード: 総合振込
_CODE_DIVISION: Final = "0"  # コード区分: JIS
_MAX_AMOUNT: Final = 9_999_999_999  # 振込金額 N10
_MAX_TOTAL_COUNT: Final = 999_999  # 合計件数 N6
_MAX_TOTAL_AMOUNT: Final = 999_999_999_999  # 合計金額 N12

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
