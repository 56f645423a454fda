"""Tests for madoguchi.procedures.jdates."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.wareki import ERAS, format_wareki
from madoguchi.procedures.jdates import (
    DateParseError,
    DateParseErrorCode,
    format_japanese_date,
    parse_japanese_date,
)

FORMAT_MESSAGE = "日付は 2024-04-01 または 令和6年4月1日 の形で入力してください。"
INVALID_MESSAGE = "存在しない日付です。年・月・日を確認してください。"
HEISEI_MESSAGE = "平成は1989年1月8日から2019年4月30日までです。元号と年を確認してください。"
REIWA_MESSAGE = "令和は2019年5月1日からです。元号と年を確認してください。"
SHOWA_MESSAGE = "昭和は1926年12月25日から1989年1月7日までです。元号と年を確認してください。"
MEIJI_MESSAGE = "明治は1868年10月23日から1912年7月29日までです。元号と年を確認してください。"

FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
MEIJI_START = ERAS[-1][2]
# Era years have at most two digits (令和2024年 is refused), so 和暦 ends with 令和99年.
LAST_TWO_DIGIT_REIWA_DAY = datetime.date(2117, 12, 31)
APRIL_FIRST = datetime.date(2024, 4, 1)


def parse_error(text: str) -> DateParseError:
    with pytest.raises(DateParseError) as caught:
        parse_japanese_date(text)
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        "2024-04-01",
        "2024-4-1",
        "2024/4/1",
        "2024/04/01",
        "2024.4.1",
        "2024年4月1日",
        "2024年04月01日",
        "20240401",
        "２０２４－０４－０１",
        "２０２４年４月１日",
        "２０２４／４／１",
        " 2024 年 4 月 1 日 ",
        "2024ー04ー01",
        "令和6年4月1日",
        "令和６年４月１日",
        "令和 6年 4月 1日",
        "R6.4.1",
        "R06/04/01",
        "r6-4-1",
        "Ｒ６．４．１",
        "令和6.4.1",
        "R6年4月1日",
        "㋿6年4月1日",
    ],
)
def test_written_forms_of_the_same_day(text: str) -> None:
    """西暦 and 和暦 in every accepted spelling, 全角 or 半角, give 2024-04-01."""
    assert parse_japanese_date(text) == APRIL_FIRST


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和元年5月1日", datetime.date(2019, 5, 1)),
        ("R元.5.1", datetime.date(2019, 5, 1)),
        ("令和1年5月1日", datetime.date(2019, 5, 1)),
        ("H31.4.30", datetime.date(2019, 4, 30)),
        ("平成31年4月30日", datetime.date(2019, 4, 30)),
        ("㍻31年4月30日", datetime.date(2019, 4, 30)),
        ("平成元年1月8日", datetime.date(1989, 1, 8)),
        ("h1.1.8", datetime.date(1989, 1, 8)),
        ("S64.1.7", datetime.date(1989, 1, 7)),
        ("昭和64年1月7日", datetime.date(1989, 1, 7)),
        ("昭和元年12月25日", datetime.date(1926, 12, 25)),
        ("大正15年12月24日", datetime.date(1926, 12, 24)),
        ("T15.12.24", datetime.date(1926, 12, 24)),
        ("大正元年7月30日", datetime.date(1912, 7, 30)),
        ("明治45年7月29日", datetime.date(1912, 7, 29)),
        ("M45.7.29", datetime.date(1912, 7, 29)),
        ("明治元年10月23日", datetime.date(1868, 10, 23)),
        ("2024-02-29", datetime.date(2024, 2, 29)),
        ("1800-01-01", datetime.date(1800, 1, 1)),
    ],
)
def test_era_dates_and_boundaries(text: str, expected: datetime.date) -> None:
    """Each era's first and last day parse to the 西暦 day given by core.wareki.ERAS."""
    assert parse_japanese_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "令和",
        "きのう",
        "2024-04",
        "2024-4/1",
        "24/4/1",
        "2024/4/1/",
        "2024-04-01T00:00",
        "202441",
        "R6",
        "R6.4",
        "X6.4.1",
        "令和2024年4月1日",
        "R123.4.1",
        "平成三十一年四月三十日",
        "2024年4月1",
        "١٢٣٤-٠٤-٠١",  # Arabic-Indic digits are digits to str.isdigit, not to a resident
        "2024-04-01" + " " * 40,
    ],
)
def test_unreadable_text_is_a_format_error(text: str) -> None:
    """Text in no accepted form is refused with date_format and an example of each form."""
    error = parse_error(text)
    assert error.code == "date_format"
    assert error.message == FORMAT_MESSAGE


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29",
        "2024-04-31",
        "2024-13-01",
        "2024-00-10",
        "2024-01-00",
        "0000-01-01",
        "20230229",
        "令和6年13月1日",
        "令和6年2月30日",
        "平成31年2月29日",
        "R5.2.29",
    ],
)
def test_a_day_that_does_not_exist_is_invalid(text: str) -> None:
    """A well-formed date that is not in the calendar is date_invalid, era or not."""
    error = parse_error(text)
    assert error.code == "date_invalid"
    assert error.message == INVALID_MESSAGE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("平成32年1月1日", HEISEI_MESSAGE),
        ("平成31年5月1日", HEISEI_MESSAGE),
        ("H31.5.1", HEISEI_MESSAGE),
        ("平成元年1月7日", HEISEI_MESSAGE),
        ("平成0年1月8日", HEISEI_MESSAGE),
        ("令和1年4月30日", REIWA_MESSAGE),
        ("令和元年1月1日", REIWA_MESSAGE),
        ("R0.5.1", REIWA_MESSAGE),
        ("昭和64年1月8日", SHOWA_MESSAGE),
        ("昭和元年12月24日", SHOWA_MESSAGE),
        ("S65.1.1", SHOWA_MESSAGE),
        ("明治元年10月22日", MEIJI_MESSAGE),
        ("明治45年7月30日", MEIJI_MESSAGE),
    ],
)
def test_an_era_date_outside_its_era_is_refused(text: str, message: str) -> None:
    """An era date before the era began or after it ended names the era's first and last day."""
    error = parse_error(text)
    assert error.code == "date_era_range"
    assert error.message == message


@pytest.mark.parametrize(("index", "era"), list(enumerate(ERAS)))
def test_every_era_starts_and_ends_where_core_wareki_says(
    index: int, era: tuple[str, str, datetime.date]
) -> None:
    """An era's first day is accepted and the day before it is not; likewise its last day."""
    name, initial, start = era
    before = start - datetime.timedelta(days=1)
    assert parse_japanese_date(f"{name}元年{start.month}月{start.day}日") == start
    assert parse_japanese_date(f"{initial}1.{start.month}.{start.day}") == start
    before_year = before.year - start.year + 1  # 0 when the era began on 1 January
    assert parse_error(f"{name}{before_year}年{before.month}月{before.day}日").code == (
        "date_era_range"
    )
    if index > 0:
        last = ERAS[index - 1][2] - datetime.timedelta(days=1)
        year = last.year - start.year + 1
        after = last + datetime.timedelta(days=1)
        assert parse_japanese_date(f"{name}{year}年{last.month}月{last.day}日") == last
        assert parse_error(f"{initial}{year}.{after.month}.{after.day}").code == ("date_era_range")


def test_the_error_is_a_value_error_carrying_code_and_message() -> None:
    """DateParseError is a ValueError whose str() is the message shown to the resident."""
    error = parse_error("foo")
    assert isinstance(error, ValueError)
    assert error.code is DateParseErrorCode.FORMAT
    assert str(error) == FORMAT_MESSAGE


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (APRIL_FIRST, "2024-04-01（令和6年4月1日）"),
        (datetime.date(2019, 5, 1), "2019-05-01（令和元年5月1日）"),
        (datetime.date(1989, 1, 7), "1989-01-07（昭和64年1月7日）"),
        (datetime.date(1868, 10, 22), "1868-10-22"),
    ],
)
def test_format_japanese_date(day: datetime.date, expected: str) -> None:
    """Review pages show ISO and 和暦 side by side; before 明治, ISO only."""
    assert format_japanese_date(day) == expected


western_templates = st.sampled_from(
    [
        "{y:04d}-{m:02d}-{d:02d}",
        "{y:04d}-{m}-{d}",
        "{y:04d}/{m}/{d}",
        "{y:04d}/{m:02d}/{d:02d}",
        "{y:04d}.{m}.{d}",
        "{y:04d}年{m}月{d}日",
        "{y:04d}{m:02d}{d:02d}",
    ]
)


@given(day=st.dates(), template=western_templates, fullwidth=st.booleans())
def test_any_date_in_western_form_parses_back(
    day: datetime.date, template: str, fullwidth: bool
) -> None:
    """Every date from 0001 to 9999, written in any 西暦 form, 全角 or not, reads back as itself."""
    text = template.format(y=day.year, m=day.month, d=day.day)
    if fullwidth:
        text = text.translate(FULLWIDTH_DIGITS)
    assert parse_japanese_date(text) == day


@given(st.dates(min_value=MEIJI_START, max_value=LAST_TWO_DIGIT_REIWA_DAY))
def test_any_date_formatted_by_core_wareki_parses_back(day: datetime.date) -> None:
    """format_wareki's 令和元年5月1日 form reads back as the same day, for every day from 明治."""
    assert parse_japanese_date(format_wareki(day)) == day


@given(
    st.dates(min_value=MEIJI_START, max_value=LAST_TWO_DIGIT_REIWA_DAY),
    st.sampled_from([".", "/", "-"]),
    st.booleans(),
)
def test_any_date_in_initial_form_parses_back(
    day: datetime.date, separator: str, lower: bool
) -> None:
    """The R6.4.1 form built from ERAS' initial and start reads back as the same day."""
    name, initial, start = next(era for era in ERAS if day >= era[2])
    year = day.year - start.year + 1
    if lower:
        initial = initial.lower()
    text = f"{initial}{year:02d}{separator}{day.month:02d}{separator}{day.day:02d}"
    assert parse_japanese_date(text) == day
    assert format_wareki(day).startswith(name)
