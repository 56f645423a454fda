"""Check digits of Japanese public identifiers, and the Damm check digit of receipt numbers.

The formulas are the published ones (see ``JAPAN_SPECS.md``, section Identifiers). None of the
three national schemes catches every single-digit error; each function documents its blind spot
so that callers do not take a passing check for proof that a number was typed correctly:

- 全国地方公共団体コード: a mod-11 remainder of 0 or 10 both give check digit 1, so a typo that
  moves the remainder between them passes (東京都 130001 -> 岡山県 330001).
- 個人番号: remainders 0 and 1 both give check digit 0.
- 法人番号: a mod-9 sum cannot tell a 0 from a 9 in the base digits.

Receipt numbers that this product issues use the Damm algorithm instead, which catches every
single-digit error and every transposition of adjacent digits.

The ``compute`` functions (``*_check_digit``) take exactly the base digits and raise on anything
else: they serve code that builds numbers. The ``is_valid_*`` and ``validate_*`` functions take
what a person typed, accepting 全角 digits, spaces and hyphens (see
:func:`madoguchi.core.japanese.normalize_digits`).
"""

from enum import StrEnum
from typing import Final

from madoguchi.core.japanese import normalize_digits

__all__ = [
    "CheckDigitError",
    "CheckDigitErrorCode",
    "corporate_number_check_digit",
    "damm_check_digit",
    "is_valid_corporate_number",
    "is_valid_damm",
    "is_valid_lgcode",
    "is_valid_mynumber",
    "lgcode_check_digit",
    "lgcode_with_check_digit",
    "mynumber_check_digit",
    "validate_corporate_number",
    "validate_lgcode",
    "validate_mynumber",
]


class CheckDigitErrorCode(StrEnum):
    """Stable codes of :class:`CheckDigitError`, for forms and API responses to key on."""

    LGCODE_FORMAT = "lgcode_format"
    LGCODE_CHECK_DIGIT = "lgcode_check_digit"
    MYNUMBER_FORMAT = "mynumber_format"
    MYNUMBER_CHECK_DIGIT = "mynumber_check_digit"
    CORPORATE_NUMBER_FORMAT = "corporate_number_format"
    CORPORATE_NUMBER_CHECK_DIGIT = "corporate_number_check_digit"
    DAMM_FORMAT = "damm_format"


class CheckDigitError(ValueError):
    """A number is malformed or its check digit does not match.

    ``code`` is stable; ``message`` is Japanese text that can be shown next to the field. Neither
    contains the number itself, because a 個人番号 must never reach a log.
    """

    code: CheckDigitErrorCode
    message: str

    def __init__(self, code: CheckDigitErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_LGCODE_WEIGHTS: Final = (6, 5, 4, 3, 2)
_MYNUMBER_WEIGHTS: Final = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

_LGCODE_BASE_MESSAGE: Final = "全国地方公共団体コード（検査数字を除く）は5桁の数字です。"
_LGCODE_FORMAT_MESSAGE: Final = "全国地方公共団体コードは6桁の数字で入力してください。"
_LGCODE_CHECK_DIGIT_MESSAGE: Final = (
    "全国地方公共団体コードが正しくありません。入力内容を確認してください。"
)
_MYNUMBER_BASE_MESSAGE: Final = "個人番号（検査数字を除く）は11桁の数字です。"
_MYNUMBER_FORMAT_MESSAGE: Final = "個人番号は12桁の数字で入力してください。"
_MYNUMBER_CHECK_DIGIT_MESSAGE: Final = "個人番号が正しくありません。入力内容を確認してください。"
_CORPORATE_BASE_MESSAGE: Final = "法人番号（検査数字を除く）は12桁の数字です。"
_CORPORATE_FORMAT_MESSAGE: Final = "法人番号は13桁の数字で入力してください。"
_CORPORATE_CHECK_DIGIT_MESSAGE: Final = "法人番号が正しくありません。入力内容を確認してください。"
_DAMM_FORMAT_MESSAGE: Final = "番号は数字で入力してください。"


def _digits(value: str, length: int, code: CheckDigitErrorCode, message: str) -> list[int]:
    """Return the digits of ``value``, which must be exactly ``length`` ASCII digits.

    str.isdigit alone would accept ² and other Unicode digits that int() reads differently.
    """
    if len(value) != length or not (value.isascii() and value.isdigit()):
        raise CheckDigitError(code, message)
    return [int(char) for char in value]


# 全国地方公共団体コード -----------------------------------------------------------------------


def lgcode_check_digit(five_digits: str) -> int:
    """Return the check digit of a 5-digit 全国地方公共団体コード ("13101" -> 6).

    ``S = 6*d1 + 5*d2 + 4*d3 + 3*d4 + 2*d5`` and ``check = (11 - S % 11) % 10``. The final
    ``% 10`` keeps the last digit of 10 and 11, so remainders 0 and 10 both give 1.
    """
    digits = _digits(five_digits, 5, CheckDigitErrorCode.LGCODE_FORMAT, _LGCODE_BASE_MESSAGE)
    total = sum(digit * weight for digit, weight in zip(digits, _LGCODE_WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def lgcode_with_check_digit(code5: str | int) -> str:
    """Return the 6-digit code for a 5-digit one (13101 -> "131016").

    Also accepts the form without leading zeros found in e-Stat derived data such as
    LG_CODE.csv, as an int or a str: 1100 and "1100" both give "011002" (札幌市).
    """
    if isinstance(code5, bool):
        # bool is an int subclass; True would otherwise become the code 00001.
        raise TypeError("code5 must be a str or an int, not a bool")
    if isinstance(code5, int):
        if not 0 <= code5 <= 99_999:
            raise CheckDigitError(CheckDigitErrorCode.LGCODE_FORMAT, _LGCODE_BASE_MESSAGE)
        base = f"{code5:05d}"
    else:
        text = normalize_digits(code5)
        if not (1 <= len(text) <= 5 and text.isascii() and text.isdigit()):
            raise CheckDigitError(CheckDigitErrorCode.LGCODE_FORMAT, _LGCODE_BASE_MESSAGE)
        base = text.zfill(5)
    return base + str(lgcode_check_digit(base))


def validate_lgcode(value: str) -> str:
    """Return ``value`` as a clean 6-digit 全国地方公共団体コード, or raise CheckDigitError.

    Only the check digit is verified, not that the body exists; look the code up for that.
    """
    code = normalize_digits(value)
    _digits(code, 6, CheckDigitErrorCode.LGCODE_FORMAT, _LGCODE_FORMAT_MESSAGE)
    if lgcode_check_digit(code[:5]) != int(code[5]):
        raise CheckDigitError(CheckDigitErrorCode.LGCODE_CHECK_DIGIT, _LGCODE_CHECK_DIGIT_MESSAGE)
    return code


def is_valid_lgcode(code6: str) -> bool:
    """Tell whether :func:`validate_lgcode` accepts ``code6``."""
    try:
        validate_lgcode(code6)
    except CheckDigitError:
        return False
    return True


# 個人番号 (My Number) ---------------------------------------------------------------------------


def mynumber_check_digit(eleven: str) -> int:
    """Return the check digit of the first 11 digits of a 個人番号 ("12345678901" -> 8).

    Weights 6,5,4,3,2,7,6,5,4,3,2 from the left; ``r = sum % 11``; the check digit is 0 when
    ``r <= 1`` and ``11 - r`` otherwise, so remainders 0 and 1 both give 0.
    """
    digits = _digits(eleven, 11, CheckDigitErrorCode.MYNUMBER_FORMAT, _MYNUMBER_BASE_MESSAGE)
    remainder = sum(d * w for d, w in zip(digits, _MYNUMBER_WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def validate_mynumber(value: str) -> str:
    """Return ``value`` as a clean 12-digit 個人番号, or raise CheckDigitError.

    Grouped input as printed on the card ("1234 5678 9018") is accepted.
    """
    number = normalize_digits(value)
    _digits(number, 12, CheckDigitErrorCode.MYNUMBER_FORMAT, _MYNUMBER_FORMAT_MESSAGE)
    if mynumber_check_digit(number[:11]) != int(number[11]):
        raise CheckDigitError(
            CheckDigitErrorCode.MYNUMBER_CHECK_DIGIT, _MYNUMBER_CHECK_DIGIT_MESSAGE
        )
    return number


def is_valid_mynumber(value: str) -> bool:
    """Tell whether :func:`validate_mynumber` accepts ``value``."""
    try:
        validate_mynumber(value)
    except CheckDigitError:
        return False
    return True


# 法人番号 (corporate number) -------------------------------------------------------------------


def corporate_number_check_digit(twelve: str) -> int:
    """Return the check digit of the 12 base digits of a 法人番号 ("000020130001" -> 8).

    ``check = 9 - (Σ P_n * Q_n) % 9`` with P_n the n-th digit from the right and Q_n 1 for odd n,
    2 for even n. The result is never 0, and since 9 divides 9 * Q_n, replacing a 0 by a 9 (or
    back) in the base digits does not change it.
    """
    digits = _digits(
        twelve, 12, CheckDigitErrorCode.CORPORATE_NUMBER_FORMAT, _CORPORATE_BASE_MESSAGE
    )
    total = sum(digit * (1 if n % 2 else 2) for n, digit in enumerate(reversed(digits), start=1))
    return 9 - total % 9


def validate_corporate_number(value: str) -> str:
    """Return ``value`` as a clean 13-digit 法人番号, or raise CheckDigitError.

    The check digit is the first digit, not the last.
    """
    number = normalize_digits(value)
    _digits(number, 13, CheckDigitErrorCode.CORPORATE_NUMBER_FORMAT, _CORPORATE_FORMAT_MESSAGE)
    if corporate_number_check_digit(number[1:]) != int(number[0]):
        raise CheckDigitError(
            CheckDigitErrorCode.CORPORATE_NUMBER_CHECK_DIGIT, _CORPORATE_CHECK_DIGIT_MESSAGE
        )
    return number


def is_valid_corporate_number(value: str) -> bool:
    """Tell whether :func:`validate_corporate_number` accepts ``value``."""
    try:
        validate_corporate_number(value)
    except CheckDigitError:
        return False
    return True


# Damm ------------------------------------------------------------------------------------------

# The weakly totally anti-symmetric quasigroup of order 10 from Damm's thesis (2004). Each row and
# column is a permutation, which catches single-digit errors; (c*x)*y == (c*y)*x only when x == y,
# which catches adjacent transpositions; the zero diagonal makes the check digit equal to the
# interim digit, so that a valid number reduces to 0.
_DAMM_TABLE: Final = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def _damm_interim(digits: str) -> int:
    interim = 0
    for char in digits:
        interim = _DAMM_TABLE[interim][int(char)]
    return interim


def damm_check_digit(digits: str) -> int:
    """Return the Damm check digit of one or more ASCII digits ("572" -> 4).

    Leading zeros do not change the result (row 0 maps 0 to 0), so numbers of a fixed length
    should be compared with their length.
    """
    if not (digits.isascii() and digits.isdigit()):
        raise CheckDigitError(CheckDigitErrorCode.DAMM_FORMAT, _DAMM_FORMAT_MESSAGE)
    return _damm_interim(digits)


def is_valid_damm(digits_with_check: str) -> bool:
    """Tell whether a number typed by a person ends in its correct Damm check digit.

    全角 digits, spaces and hyphens are accepted; at least one digit must precede the check digit.
    """
    number = normalize_digits(digits_with_check)
    if len(number) < 2 or not (number.isascii() and number.isdigit()):
        return False
    return _damm_interim(number) == 0
