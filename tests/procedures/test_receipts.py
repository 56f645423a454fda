"""Tests for madoguchi.procedures.receipts: receipt numbers and lookup secrets."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.checkdigits import damm_check_digit, is_valid_damm
from madoguchi.core.crypto import blind_index
from madoguchi.procedures.receipts import (
    SECRET_ALPHABET,
    SECRET_LENGTH,
    ReceiptFormatError,
    lookup_secret_display,
    lookup_secret_hash,
    lookup_secret_matches,
    lookup_secret_new,
    lookup_secret_normalize,
    receipt_number_display,
    receipt_number_new,
    receipt_number_parse,
)

# 341198739 + Damm check digit 3.
RECEIPT = "3411987393"
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

bodies = st.integers(min_value=100_000_000, max_value=999_999_999).map(str)


def with_check_digit(body: str) -> str:
    return body + str(damm_check_digit(body))


def parse_error(text: str) -> str:
    with pytest.raises(ReceiptFormatError) as caught:
        receipt_number_parse(text)
    return caught.value.code


# --- receipt numbers ---------------------------------------------------------------------------


def test_a_new_receipt_number_is_ten_digits_with_a_valid_damm_check_digit() -> None:
    """Each new number is 10 ASCII digits, never starting with 0, ending in its Damm digit."""
    for _ in range(1_000):
        number = receipt_number_new()

        assert len(number) == 10
        assert number.isascii()
        assert number.isdigit()
        assert number[0] != "0"
        assert number[-1] == str(damm_check_digit(number[:9]))
        assert is_valid_damm(number)
        assert receipt_number_parse(number) == number


def test_receipt_numbers_are_not_sequential() -> None:
    """10,000 numbers in the order issued are neither sorted nor neighbours of each other.

    Uniqueness is the database's job (a unique constraint and a retry): among 10,000 random
    9-digit bodies a repeat happens in about 5.5 % of runs (birthday bound), so more than two
    would be the sign of a broken generator, not one or two.
    """
    numbers = [receipt_number_new() for _ in range(10_000)]
    bodies_issued = [int(n[:9]) for n in numbers]

    assert numbers != sorted(numbers)
    assert sum(1 for a, b in itertools.pairwise(bodies_issued) if abs(a - b) == 1) == 0
    assert len(set(numbers)) >= 9_998
    assert {n[0] for n in numbers} == set("123456789")
    assert {n[-1] for n in numbers} == set("0123456789")


def test_the_documented_example_parses() -> None:
    """341198739 has the Damm check digit 3."""
    assert damm_check_digit("341198739") == 3
    assert receipt_number_parse(RECEIPT) == RECEIPT


@given(bodies)
def test_every_single_digit_change_is_refused_as_a_check_digit_error(body: str) -> None:
    """Any one digit typed wrong, anywhere, is caught by the check digit (never looked up)."""
    number = with_check_digit(body)
    for position, digit in enumerate(number):
        for other in "0123456789".replace(digit, ""):
            typo = number[:position] + other + number[position + 1 :]

            assert parse_error(typo) == "receipt_check_digit", typo


@given(bodies)
def test_every_adjacent_transposition_is_refused_as_a_check_digit_error(body: str) -> None:
    """Swapping two different neighbouring digits is caught by the check digit."""
    number = with_check_digit(body)
    for position in range(9):
        a, b = number[position], number[position + 1]
        if a == b:
            continue
        swapped = number[:position] + b + a + number[position + 2 :]

        assert parse_error(swapped) == "receipt_check_digit", swapped


@pytest.mark.parametrize(
    "typed",
    [
        "3411987393",
        "３４１１９８７３９３",
        "34119-87393",
        "３４１１９－８７３９３",
        "34119 87393",
        " 3411 9873 93 ",
        "34119\u300087393",  # 全角 space
        "34119ー87393",  # ー typed for a hyphen on a Japanese keyboard
        "3411-987-393",
    ],
)
def test_fullwidth_digits_hyphens_and_spaces_are_accepted(typed: str) -> None:
    """The number as printed (with a hyphen) or typed in 全角 parses to its 10 digits."""
    assert receipt_number_parse(typed) == RECEIPT


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "341198739",  # 9 digits
        "34119873930",  # 11 digits
        "341198739X",
        "No.3411987393",
        "٣٤١١٩٨٧٣٩٣",  # Arabic-Indic digits are digits to str.isdigit, not to a receipt
        "3411987393.",
    ],
)
def test_text_that_cannot_be_a_receipt_number_is_a_format_error(typed: str) -> None:
    """Wrong length or characters other than digits give receipt_format."""
    assert parse_error(typed) == "receipt_format"


def test_receipt_number_display_splits_into_two_groups_of_five() -> None:
    """12345-67890 is easier to read out on the phone; it parses back to the number."""
    assert receipt_number_display(RECEIPT) == "34119-87393"
    assert receipt_number_parse(receipt_number_display(RECEIPT)) == RECEIPT


# --- lookup secrets ----------------------------------------------------------------------------


def test_the_secret_alphabet_has_no_look_alikes() -> None:
    """25 distinct upper-case letters and digits, none of 0/O, 1/I/L, 2/Z, 5/S, 8/B."""
    assert len(SECRET_ALPHABET) == 25
    assert len(set(SECRET_ALPHABET)) == 25
    assert set(SECRET_ALPHABET).isdisjoint("0O1IL2Z5S8B")
    assert SECRET_ALPHABET.isascii()
    assert SECRET_ALPHABET.isalnum()
    assert SECRET_ALPHABET.upper() == SECRET_ALPHABET
    assert SECRET_LENGTH == 8


def test_a_new_secret_is_eight_characters_from_the_whole_alphabet() -> None:
    """Every secret has 8 characters of the alphabet; over 2,000 of them, every one is used."""
    secrets_issued = [lookup_secret_new() for _ in range(2_000)]
    used: Counter[str] = Counter()
    for secret in secrets_issued:
        assert len(secret) == 8
        assert set(secret) <= set(SECRET_ALPHABET)
        used.update(secret)

    assert set(used) == set(SECRET_ALPHABET)
    assert len(set(secrets_issued)) == 2_000


def test_the_secret_hash_is_a_keyed_hash_bound_to_the_receipt_number() -> None:
    """The stored hash is the blind index of the secret for that receipt number only."""
    assert lookup_secret_hash(RECEIPT, "ACDEFGHJ") == blind_index(
        "ACDEFGHJ", purpose=f"receipt:{RECEIPT}"
    )
    assert len(lookup_secret_hash(RECEIPT, "ACDEFGHJ")) == 64


def test_the_same_secret_for_another_receipt_has_another_hash() -> None:
    """A secret cannot be moved to another receipt: the hash differs, the match fails."""
    other = with_check_digit("341198740")
    stored = lookup_secret_hash(RECEIPT, "ACDEFGHJ")

    assert lookup_secret_hash(other, "ACDEFGHJ") != stored
    assert lookup_secret_matches(RECEIPT, "ACDEFGHJ", stored) is True
    assert lookup_secret_matches(other, "ACDEFGHJ", stored) is False
    assert lookup_secret_matches(RECEIPT, "ACDEFGHK", stored) is False
    assert lookup_secret_matches(RECEIPT, "", stored) is False


@pytest.mark.parametrize(
    "typed",
    [
        "ACDEFGHJ",
        "acdefghj",
        "ACDE-FGHJ",
        "acde-fghj",
        " ACDE FGHJ ",
        "ＡＣＤＥ－ＦＧＨＪ",
        "ａｃｄｅｆｇｈｊ",
        "ACDE\u3000FGHJ",
        "ACDEーFGHJ",
    ],
)
def test_the_secret_is_matched_whatever_the_case_width_and_separators(typed: str) -> None:
    """Lower case, 全角 and the hyphen of the printed form are normalised before hashing."""
    stored = lookup_secret_hash(RECEIPT, "ACDEFGHJ")

    assert lookup_secret_normalize(typed) == "ACDEFGHJ"
    assert lookup_secret_matches(RECEIPT, typed, stored) is True


def test_lookup_secret_display_splits_into_two_groups_of_four() -> None:
    """ACDE-FGHJ as printed and mailed; the hyphen is dropped again when typed back."""
    assert lookup_secret_display("ACDEFGHJ") == "ACDE-FGHJ"
    assert lookup_secret_normalize(lookup_secret_display("ACDEFGHJ")) == "ACDEFGHJ"
