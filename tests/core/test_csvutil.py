"""Tests for madoguchi.core.csvutil (CSV cells that spreadsheets open safely)."""

from __future__ import annotations

import csv
import decimal
import io

import pytest

from madoguchi.core.csvutil import csv_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("https://example.com","詳細")', '\'=HYPERLINK("https://example.com","詳細")'),
        ("+81 78 331 8181", "'+81 78 331 8181"),
        ("+81", "'+81"),
        ("-1", "'-1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("=", "'="),
    ],
)
def test_formula_starts_are_neutralised(value: str, expected: str) -> None:
    """Text starting with =, +, -, @, tab or CR gets a leading apostrophe."""
    assert csv_cell(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "山田 太郎",
        "078-331-8181",
        "a=1",
        " =1+1",  # not at the very start
        "'=1+1",  # already quoted
        "1+1",
        "２０２６年",
        "メモ\n=1+1",  # the formula is on the second line of the cell
    ],
)
def test_other_text_is_unchanged(value: str) -> None:
    """Text that does not start with a formula character is written as it is."""
    assert csv_cell(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (42, "42"),
        (-1, "-1"),
        (-2.5, "-2.5"),
        (1e-7, "1e-07"),
        (True, "True"),
    ],
)
def test_numbers_stay_numbers(value: float, expected: str) -> None:
    """Numbers, negative ones included, are not prefixed so spreadsheets still add them up."""
    assert csv_cell(value) == expected


def test_negative_decimal_stays_a_number() -> None:
    """A Decimal is a number too ("Numbers are written as they are")."""
    assert csv_cell(decimal.Decimal("-1500.50")) == "-1500.50"


def test_positive_decimal_is_unchanged() -> None:
    """A Decimal without a sign is written as it is."""
    assert csv_cell(decimal.Decimal("1500.50")) == "1500.50"


def test_none_is_an_empty_cell() -> None:
    """None becomes an empty cell, not the text 'None'."""
    assert csv_cell(None) == ""


def test_other_objects_are_written_as_text() -> None:
    """Any other value is converted with str() and then checked like text."""

    class Name:
        def __str__(self) -> str:
            return "=cmd|' /C calc'!A0"

    assert csv_cell(Name()) == "'=cmd|' /C calc'!A0"


def test_cells_survive_the_csv_writer() -> None:
    """Neutralised cells keep their apostrophe through csv quoting."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([csv_cell(v) for v in ["=1+1", -1, None, "a"]])
    assert out.getvalue() == "'=1+1,-1,,a\n"
