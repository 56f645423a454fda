"""Receipt numbers and lookup secrets.

A receipt number is 10 digits: 9 random digits and a Damm check digit, so any single wrong
digit or swapped neighbours is caught before a lookup, and numbers are not sequential (a
neighbour's cannot be guessed). Uniqueness comes from a unique constraint and a retry.

The lookup secret is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z,
5/S, 8/B), about 37 bits; it is shown once and stored only as a keyed hash.
"""

from __future__ import annotations

import hmac
import secrets

from madoguchi.core.checkdigits import damm_check_digit, is_valid_damm
from madoguchi.core.crypto import blind_index
from madoguchi.core.japanese import normalize_digits, normalize_text

SECRET_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"  # noqa: S105 - an alphabet, not a secret
SECRET_LENGTH = 8


class ReceiptFormatError(ValueError):
    """The text cannot be a receipt number (wrong length, not digits, or a typo)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def receipt_number_new() -> str:
    """A fresh random receipt number (first digit never 0, so it reads as 10 digits)."""
    body = str(secrets.randbelow(900_000_000) + 100_000_000)
    return body + str(damm_check_digit(body))


def receipt_number_parse(text: str) -> str:
    """The 10-digit receipt number in ``text`` (全角, spaces and hyphens allowed)."""
    digits = normalize_digits(text or "")
    if not digits.isascii() or not digits.isdigit() or len(digits) != 10:
        raise ReceiptFormatError("receipt_format")
    if not is_valid_damm(digits):
        raise ReceiptFormatError("receipt_check_digit")
    return digits


def receipt_number_display(number: str) -> str:
    """``1234567890`` → ``12345-67890``, easier to read out on the phone."""
    return f"{number[:5]}-{number[5:]}"


def lookup_secret_new() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def lookup_secret_normalize(text: str) -> str:
    """Upper-case 半角, without spaces and hyphens."""
    return normalize_text(text or "").upper().replace(" ", "").replace("-", "")


def lookup_secret_display(secret: str) -> str:
    return f"{secret[:4]}-{secret[4:]}"


def lookup_secret_hash(receipt_number: str, secret: str) -> str:
    """Keyed hash of the secret, bound to its receipt number."""
    return blind_index(lookup_secret_normalize(secret), purpose=f"receipt:{receipt_number}")


def lookup_secret_matches(receipt_number: str, secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(lookup_secret_hash(receipt_number, secret), stored_hash)
