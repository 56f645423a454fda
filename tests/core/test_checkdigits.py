"""Tests for madoguchi.core.checkdigits."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.checkdigits import (
    CheckDigitError,
    CheckDigitErrorCode,
    corporate_number_check_digit,
    damm_check_digit,
    is_valid_corporate_number,
    is_valid_damm,
    is_valid_lgcode,
    is_valid_mynumber,
    lgcode_check_digit,
    lgcode_with_check_digit,
    mynumber_check_digit,
    validate_corporate_number,
    validate_lgcode,
    validate_mynumber,
)

LGCODE_EXAMPLES = ["130001", "131016", "011002", "010006", "281000", "401307"]
CORPORATE_NUMBER_EXAMPLES = ["8000020130001", "7000012050002"]


def digit_strings(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=length, max_size=length)


def replace_digit(number: str, position: int, offset: int) -> str:
    """Return ``number`` with the digit at ``position`` replaced by another (offset 1..9)."""
    new_digit = str((int(number[position]) + offset) % 10)
    return number[:position] + new_digit + number[position + 1 :]


def single_digit_changes(number: str) -> list[str]:
    return [
        replace_digit(number, position, offset)
        for position in range(len(number))
        for offset in range(1, 10)
    ]


# Independent restatements of the published sums, used to name the residues that collide.
def lgcode_remainder(five: str) -> int:
    return sum(int(d) * w for d, w in zip(five, (6, 5, 4, 3, 2), strict=True)) % 11


def mynumber_remainder(eleven: str) -> int:
    weights = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    return sum(int(d) * w for d, w in zip(eleven, weights, strict=True)) % 11


# 全国地方公共団体コード -----------------------------------------------------------------------


@pytest.mark.parametrize("code", LGCODE_EXAMPLES)
def test_lgcode_spec_examples_validate(code: str) -> None:
    """The codes listed in JAPAN_SPECS.md validate and come back unchanged."""
    assert is_valid_lgcode(code) is True
    assert validate_lgcode(code) == code
    assert lgcode_check_digit(code[:5]) == int(code[5])


@pytest.mark.parametrize(
    ("code5", "expected"),
    [
        ("13101", "131016"),
        ("1100", "011002"),  # LG_CODE.csv drops leading zeros: 札幌市
        (1100, "011002"),
        ("01100", "011002"),
        (1000, "010006"),  # 北海道
        (1101, "011011"),  # 札幌市中央区
        (28100, "281000"),
        ("４０１３０", "401307"),
        (0, "000001"),
    ],
)
def test_lgcode_with_check_digit(code5: str | int, expected: str) -> None:
    """5-digit codes, with or without leading zeros, as int or str, get their check digit."""
    assert lgcode_with_check_digit(code5) == expected


@pytest.mark.parametrize("code5", ["", "131016", "1a", -1, 100_000])
def test_lgcode_with_check_digit_refuses_malformed_codes(code5: str | int) -> None:
    """Anything that is not 1 to 5 digits is refused with the format code."""
    with pytest.raises(CheckDigitError) as excinfo:
        lgcode_with_check_digit(code5)
    assert excinfo.value.code == "lgcode_format"


def test_lgcode_with_check_digit_refuses_bool() -> None:
    """True is not taken for the code 00001."""
    with pytest.raises(TypeError):
        lgcode_with_check_digit(True)


@pytest.mark.parametrize("base", ["1310", "131011", "１３１０１", "1310²"])
def test_lgcode_check_digit_takes_exactly_five_ascii_digits(base: str) -> None:
    """The computing function is strict; only the validating functions normalise."""
    with pytest.raises(CheckDigitError) as excinfo:
        lgcode_check_digit(base)
    assert excinfo.value.code is CheckDigitErrorCode.LGCODE_FORMAT


def test_lgcode_single_digit_changes_of_examples() -> None:
    """Every single-digit change of the examples is rejected, except around 東京都 130001.

    130001 has remainder 10, which shares check digit 1 with remainder 0; the five changes that
    reach remainder 0 still validate. Three of them are real prefectures (埼玉県, 岡山県).
    """
    accepted = {
        code: [m for m in single_digit_changes(code) if is_valid_lgcode(m)]
        for code in LGCODE_EXAMPLES
    }
    assert accepted == {
        "130001": ["330001", "110001", "133001", "130401", "130061"],
        "131016": [],
        "011002": [],
        "010006": [],
        "281000": [],
        "401307": [],
    }


@given(base=digit_strings(5))
def test_lgcode_appended_check_digit_validates(base: str) -> None:
    """Any 5 digits plus the computed check digit form a valid code."""
    assert is_valid_lgcode(lgcode_with_check_digit(base)) is True


@given(base=digit_strings(5), position=st.integers(0, 5), offset=st.integers(1, 9))
def test_lgcode_single_digit_change_fails_unless_remainders_0_and_10(
    base: str, position: int, offset: int
) -> None:
    """A changed digit is caught exactly when it does not move the remainder between 0 and 10.

    Weights 2..6 are invertible mod 11, so a change of one base digit always changes S % 11;
    (11 - r) % 10 is injective except that r = 0 and r = 10 both give 1. A changed check digit
    (position 5) leaves the remainder alone and is always caught.
    """
    code = lgcode_with_check_digit(base)
    changed = replace_digit(code, position, offset)
    remainders = {lgcode_remainder(code[:5]), lgcode_remainder(changed[:5])}
    assert is_valid_lgcode(changed) is (remainders == {0, 10})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("１３１０１６", "131016"), ("  131016\u3000", "131016"), ("13-1016", "131016")],
)
def test_validate_lgcode_normalises_input(value: str, expected: str) -> None:
    """全角 digits, surrounding spaces and hyphens are accepted and removed."""
    assert validate_lgcode(value) == expected
    assert is_valid_lgcode(value) is True


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("13101", "lgcode_format", "全国地方公共団体コードは6桁の数字で入力してください。"),
        ("13101a", "lgcode_format", "全国地方公共団体コードは6桁の数字で入力してください。"),
        (
            "131017",
            "lgcode_check_digit",
            "全国地方公共団体コードが正しくありません。入力内容を確認してください。",
        ),
    ],
)
def test_validate_lgcode_errors(value: str, code: str, message: str) -> None:
    """Refusals carry a stable code and a Japanese message."""
    with pytest.raises(CheckDigitError) as excinfo:
        validate_lgcode(value)
    assert excinfo.value.code == code
    assert excinfo.value.message == message
    assert str(excinfo.value) == message
    assert isinstance(excinfo.value, ValueError)
    assert is_valid_lgcode(value) is False


# 個人番号 ---------------------------------------------------------------------------------------


def test_mynumber_spec_example() -> None:
    """123456789018 is valid and its check digit is 8."""
    assert mynumber_check_digit("12345678901") == 8
    assert is_valid_mynumber("123456789018") is True
    assert validate_mynumber("123456789018") == "123456789018"


def test_mynumber_every_single_digit_change_of_example_is_rejected() -> None:
    """All 108 single-digit changes of 123456789018 fail (its remainder, 3, collides with none)."""
    changes = single_digit_changes("123456789018")
    assert len(changes) == 108
    assert [m for m in changes if is_valid_mynumber(m)] == []


def test_mynumber_remainders_0_and_1_share_check_digit_0() -> None:
    """Remainders 2..10 give 11 - r; remainders 0 and 1 both give 0.

    00000000001: r = 2 -> 9; 00000600000: r = 42 % 11 = 9 -> 2; 00000000000: r = 0 -> 0;
    00000000006: r = 12 % 11 = 1 -> 0.
    """
    assert mynumber_check_digit("00000000001") == 9
    assert mynumber_check_digit("00000600000") == 2
    assert mynumber_check_digit("00000000000") == 0
    assert mynumber_check_digit("00000000006") == 0
    assert is_valid_mynumber("000000000000") is True
    assert is_valid_mynumber("000000000060") is True


@given(base=digit_strings(11))
def test_mynumber_appended_check_digit_validates(base: str) -> None:
    """Any 11 digits plus the computed check digit form a valid 個人番号."""
    assert is_valid_mynumber(base + str(mynumber_check_digit(base))) is True


@given(base=digit_strings(11), position=st.integers(0, 11), offset=st.integers(1, 9))
def test_mynumber_single_digit_change_fails_unless_remainders_0_and_1(
    base: str, position: int, offset: int
) -> None:
    """A changed digit is caught exactly when it does not move the remainder between 0 and 1.

    Weights 2..7 are invertible mod 11, so the remainder always changes; remainders 0 and 1 both
    give check digit 0. A changed check digit is always caught.
    """
    number = base + str(mynumber_check_digit(base))
    changed = replace_digit(number, position, offset)
    remainders = {mynumber_remainder(number[:11]), mynumber_remainder(changed[:11])}
    assert is_valid_mynumber(changed) is (remainders == {0, 1})


def test_validate_mynumber_accepts_card_layout_in_full_width() -> None:
    """The number as printed on the card, typed in 全角 with spaces, is cleaned."""
    assert validate_mynumber(" １２３４　５６７８　９０１８ ") == "123456789018"
    assert validate_mynumber("1234-5678-9018") == "123456789018"


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("12345678901", "mynumber_format", "個人番号は12桁の数字で入力してください。"),
        ("1234567890189", "mynumber_format", "個人番号は12桁の数字で入力してください。"),
        (
            "123456789019",
            "mynumber_check_digit",
            "個人番号が正しくありません。入力内容を確認してください。",
        ),
    ],
)
def test_validate_mynumber_errors_do_not_contain_the_number(
    value: str, code: str, message: str
) -> None:
    """Refusals carry a code and a message, and never the number, which must not be logged."""
    with pytest.raises(CheckDigitError) as excinfo:
        validate_mynumber(value)
    assert excinfo.value.code == code
    assert excinfo.value.message == message
    assert value not in repr(excinfo.value)
    assert "1234" not in str(excinfo.value)


# 法人番号 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", CORPORATE_NUMBER_EXAMPLES)
def test_corporate_number_spec_examples(number: str) -> None:
    """東京都 and 国税庁 validate; the check digit is the first digit."""
    assert is_valid_corporate_number(number) is True
    assert validate_corporate_number(number) == number
    assert corporate_number_check_digit(number[1:]) == int(number[0])


def test_corporate_number_single_digit_changes_of_examples() -> None:
    """Every single-digit change is rejected except a 0 turned into 9 in the base digits.

    Each base digit is weighted 1 or 2 mod 9, so only a change by 9 (0 <-> 9) keeps the sum.
    """
    accepted = {
        number: [m for m in single_digit_changes(number) if is_valid_corporate_number(m)]
        for number in CORPORATE_NUMBER_EXAMPLES
    }
    assert accepted == {
        "8000020130001": [
            "8900020130001",
            "8090020130001",
            "8009020130001",
            "8000920130001",
            "8000029130001",
            "8000020139001",
            "8000020130901",
            "8000020130091",
        ],
        "7000012050002": [
            "7900012050002",
            "7090012050002",
            "7009012050002",
            "7000912050002",
            "7000012950002",
            "7000012059002",
            "7000012050902",
            "7000012050092",
        ],
    }


@given(base=digit_strings(12))
def test_corporate_number_prepended_check_digit_validates(base: str) -> None:
    """Any 12 digits behind the computed check digit form a valid 法人番号; 0 is never a check."""
    check = corporate_number_check_digit(base)
    assert 1 <= check <= 9
    assert is_valid_corporate_number(str(check) + base) is True


@given(base=digit_strings(12), position=st.integers(0, 12), offset=st.integers(1, 9))
def test_corporate_number_single_digit_change_fails_unless_0_and_9(
    base: str, position: int, offset: int
) -> None:
    """A changed digit is caught unless it is a base digit swapped between 0 and 9."""
    number = str(corporate_number_check_digit(base)) + base
    changed = replace_digit(number, position, offset)
    blind_spot = position > 0 and {number[position], changed[position]} == {"0", "9"}
    assert is_valid_corporate_number(changed) is blind_spot


def test_validate_corporate_number_normalises_input() -> None:
    """全角 digits and spaces are accepted."""
    assert validate_corporate_number("８　０００－０２０１－３０００１") == "8000020130001"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("800002013000", "corporate_number_format"),
        ("800002013000x", "corporate_number_format"),
        ("9000020130001", "corporate_number_check_digit"),
        ("0000020130001", "corporate_number_check_digit"),
    ],
)
def test_validate_corporate_number_errors(value: str, code: str) -> None:
    """Malformed numbers and wrong check digits are refused with their codes."""
    with pytest.raises(CheckDigitError) as excinfo:
        validate_corporate_number(value)
    assert excinfo.value.code == code
    assert is_valid_corporate_number(value) is False


# Damm -------------------------------------------------------------------------------------------


def test_damm_reference_example() -> None:
    """572 gets check digit 4 (the example of Damm's description); 5724 validates."""
    assert damm_check_digit("572") == 4
    assert is_valid_damm("5724") is True
    assert is_valid_damm("5727") is False


@pytest.mark.parametrize("digits", ["", "12a", "１２", "²"])
def test_damm_check_digit_takes_ascii_digits(digits: str) -> None:
    """The computing function refuses anything but one or more ASCII digits."""
    with pytest.raises(CheckDigitError) as excinfo:
        damm_check_digit(digits)
    assert excinfo.value.code == "damm_format"


@pytest.mark.parametrize("value", ["", "0", "4", "57a4", "５７２x"])
def test_is_valid_damm_refuses_short_or_non_digit_input(value: str) -> None:
    """A number needs at least one digit before its check digit."""
    assert is_valid_damm(value) is False


def test_is_valid_damm_accepts_full_width_and_grouping() -> None:
    """Receipt numbers typed in 全角 or with hyphens are accepted."""
    assert is_valid_damm("５７２４") is True
    assert is_valid_damm(" 57-24 ") is True


def test_damm_every_single_digit_change_and_adjacent_swap_of_example_is_rejected() -> None:
    """No single-digit change of 12345678906 validates, nor any swap of adjacent digits."""
    number = "1234567890" + str(damm_check_digit("1234567890"))
    assert number == "12345678906"
    changes = single_digit_changes(number)
    assert len(changes) == 99
    assert [m for m in changes if is_valid_damm(m)] == []
    swaps = [number[:i] + number[i + 1] + number[i] + number[i + 2 :] for i in range(10)]
    assert [s for s in swaps if is_valid_damm(s)] == []


@given(base=st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_damm_appended_check_digit_validates(base: str) -> None:
    """Any digits plus their Damm check digit validate."""
    assert is_valid_damm(base + str(damm_check_digit(base))) is True


@given(
    base=st.text(alphabet="0123456789", min_size=1, max_size=20),
    data=st.data(),
    offset=st.integers(1, 9),
)
def test_damm_single_digit_change_always_fails(base: str, data: st.DataObject, offset: int) -> None:
    """Every single-digit error is caught, including one in the check digit."""
    number = base + str(damm_check_digit(base))
    position = data.draw(st.integers(0, len(number) - 1))
    assert is_valid_damm(replace_digit(number, position, offset)) is False


@given(base=st.text(alphabet="0123456789", min_size=1, max_size=20), data=st.data())
def test_damm_adjacent_transposition_always_fails(base: str, data: st.DataObject) -> None:
    """Swapping two different adjacent digits, the check digit included, is caught."""
    number = base + str(damm_check_digit(base))
    i = data.draw(st.integers(0, len(number) - 2))
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    assert is_valid_damm(swapped) is (swapped == number)
