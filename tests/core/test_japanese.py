"""Tests for madoguchi.core.japanese."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from madoguchi.core.japanese import (
    is_katakana,
    normalize_digits,
    normalize_for_search,
    normalize_text,
    to_halfwidth_katakana,
    to_hiragana,
    to_katakana,
)

HYPHEN_LIKE = (
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2500\u2e3a\u2e3b\ufe58\ufe63\uff0dｰー"
)
WHITESPACE = " \t\n\r\u00a0\u2002\u2003\u3000\u202f\u205f"
INVISIBLE = "\u00ad\u200b\u2060\ufeff"
VOICED_MARKS = "ﾞﾟ゛゜\u3099\u309a"
HALFWIDTH_KANA = "".join(chr(c) for c in range(0xFF61, 0xFFA0))
FULLWIDTH_ASCII = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097)) + "ゝゞ"
KATAKANA_BLOCK = "".join(chr(c) for c in range(0x30A1, 0x3100))
KATAKANA_LETTERS = "".join(chr(c) for c in range(0x30A1, 0x30FB))  # ァ..ヺ

# Arbitrary text, weighted towards the characters the rules treat specially so that the
# properties meet kana next to marks, dashes next to digits, and runs of spaces.
special_chars = st.sampled_from(
    HYPHEN_LIKE
    + WHITESPACE
    + INVISIBLE
    + VOICED_MARKS
    + HALFWIDTH_KANA
    + FULLWIDTH_ASCII
    + HIRAGANA
    + KATAKANA_BLOCK
    + "0123456789〜①㈱神"
)
japanese_text = st.text(st.one_of(special_chars, st.characters()))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ｶｰﾄﾞ", "カード"),
        ("ﾏｲﾅﾝﾊﾞｰ", "マイナンバー"),
        ("ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ガギグゲゴ"),
        ("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ"),
        ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"),
        ("ﾜﾞｦﾞ", "ヷヺ"),
        ("ｺﾝﾆﾁﾊ｡｢ﾃｽﾄ｣､ｼﾞｮﾝ･ｽﾐｽ", "コンニチハ。「テスト」、ジョン・スミス"),
        ("ＡＢＣ１２３", "ABC123"),
        ("ａｂｃ＠ｅｘａｍｐｌｅ．ｊｐ", "abc@example.jp"),
        ("（株）", "(株)"),
    ],
)
def test_normalize_text_width(raw: str, expected: str) -> None:
    """全角 ASCII becomes 半角; 半角 katakana becomes 全角 with ﾞ/ﾟ joined to their kana."""
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("山田\u3000\u3000太郎", "山田 太郎"),
        ("\t 山田\u00a0太郎 \u3000", "山田 太郎"),
        ("山田\r\n太郎", "山田 太郎"),
        ("山\u200b田\ufeff太\u00ad郎", "山田太郎"),
        ("\u3000\u3000", ""),
        ("", ""),
    ],
)
def test_normalize_text_spaces(raw: str, expected: str) -> None:
    """Every kind of whitespace becomes one ASCII space, trimmed; invisible characters go."""
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "078-331-8181",
        "０７８－３３１－８１８１",
        "078‐331‐8181",  # U+2010 HYPHEN
        "078−331−8181",  # U+2212 MINUS SIGN
        "078–331–8181",  # EN DASH
        "078—331—8181",  # EM DASH
        "078―331―8181",  # HORIZONTAL BAR
        "078ー331ー8181",  # 長音 typed in a number
        "０７８ｰ３３１ｰ８１８１",  # half-width 長音
        "078─331─8181",  # box drawing, an IME candidate
    ],
)
def test_normalize_text_phone_number_dashes(raw: str) -> None:
    """Any dash between digits is the ASCII hyphen."""
    assert normalize_text(raw) == "078-331-8181"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("カ-ド", "カード"),
        ("カ−ド", "カード"),
        ("ｶｰﾄﾞ", "カード"),
        ("す-ぱ-", "すーぱー"),  # after hiragana too
        ("らーめん", "らーめん"),
        ("カ--", "カーー"),
        ("メゾン－１０１", "メゾン-101"),  # a dash before a digit stays a hyphen
        ("コーヒー2杯", "コーヒー2杯"),  # but a real ー is kept there
        ("ー1", "-1"),  # ー after no kana
        ("山田ー太郎", "山田-太郎"),
        ("A-B", "A-B"),
        ("カ -ド", "カ -ド"),  # a space breaks the word
    ],
)
def test_normalize_text_long_vowel(raw: str, expected: str) -> None:
    """Hyphen-like characters become ー after kana and ``-`` elsewhere."""
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("①②", "①②"),
        ("㈱山田", "㈱山田"),
        ("㍻", "㍻"),
        ("\ufa19", "\ufa19"),  # CJK compatibility ideograph 神, which NFC/NFKC would replace
        ("￥1,000", "￥1,000"),
        ("…", "…"),
        ("9:00〜17:00", "9:00～17:00"),
        ("9:00～17:00", "9:00～17:00"),
        ("~user", "~user"),
    ],
)
def test_normalize_text_keeps_what_nfkc_would_change(raw: str, expected: str) -> None:
    """Characters whose form carries meaning are kept; the wave dash is unified to U+FF5E."""
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﾞ", "゛"),  # a lone half-width mark becomes the spacing full-width mark
        ("Aﾟ", "A゜"),
        ("カ゛", "ガ"),  # a spacing mark after a kana is joined
        ("か\u3099", "が"),
        ("う゛", "ゔ"),
        ("ガﾞ", "ガ゛"),
        ("ㇷ\u309a", "ㇷ\u309a"),  # Ainu: the combining mark stays combining
    ],
)
def test_normalize_text_voiced_marks(raw: str, expected: str) -> None:
    """Voiced marks join the preceding kana where Unicode has a precomposed character."""
    assert normalize_text(raw) == expected


@given(japanese_text)
@example("カ-ー1")
@example("カ\u3000ﾞ")
@example("ｶ\u200bﾞ-1")
def test_normalize_text_is_idempotent(text: str) -> None:
    """Normalising twice gives the same result as once."""
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(japanese_text)
def test_normalize_text_output_is_clean(text: str) -> None:
    """No 全角 ASCII (but ～), 半角 katakana, invisible characters or stray whitespace remain."""
    result = normalize_text(text)
    assert not any(0xFF01 <= ord(c) <= 0xFF5D for c in result)
    assert not any(0xFF61 <= ord(c) <= 0xFF9F for c in result)
    assert not any(c in INVISIBLE or c == "〜" for c in result)
    assert all(c == " " or not c.isspace() for c in result)
    assert result == result.strip()
    assert "  " not in result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ひらがな", "ヒラガナ"),
        ("ゔぁ", "ヴァ"),
        ("ゝゞ", "ヽヾ"),
        ("ゕゖ", "ヵヶ"),
        ("ゟ", "ゟ"),
        ("らーめん、山田", "ラーメン、山田"),
    ],
)
def test_to_katakana(raw: str, expected: str) -> None:
    """Hiragana becomes katakana; everything else is kept."""
    assert to_katakana(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("カタカナ", "かたかな"),
        ("ヴァ", "ゔぁ"),
        ("ヵヶ", "ゕゖ"),
        ("ヷヸヹヺ", "ヷヸヹヺ"),  # no hiragana counterpart
        ("ラーメン・A", "らーめん・A"),
    ],
)
def test_to_hiragana(raw: str, expected: str) -> None:
    """Katakana becomes hiragana where hiragana has the letter."""
    assert to_hiragana(raw) == expected


@given(st.text(st.sampled_from(KATAKANA_BLOCK + "abc 山")))
def test_to_katakana_undoes_to_hiragana(text: str) -> None:
    """Katakana survives a trip through hiragana."""
    assert to_katakana(to_hiragana(text)) == text


@given(st.text(st.sampled_from(HIRAGANA + "ー abc 山")))
def test_to_hiragana_undoes_to_katakana(text: str) -> None:
    """Hiragana survives a trip through katakana."""
    assert to_hiragana(to_katakana(text)) == text


@pytest.mark.parametrize(
    ("text", "allow_space", "expected"),
    [
        ("ヤマダ タロウ", True, True),
        ("ヤマダ\u3000タロウ", True, True),
        ("ヤマダ タロウ", False, False),
        ("ジョン・スミス", False, True),
        ("ヴァイオリン", False, True),
        ("ヤマダたろう", True, False),
        ("ﾔﾏﾀﾞ", True, False),
        ("ヤマダ1", True, False),
        ("ミスヾ", False, True),
        ("", True, False),
        (" ", True, False),
        ("ー・", True, False),
    ],
)
def test_is_katakana(text: str, allow_space: bool, expected: bool) -> None:
    """Only 全角 katakana, ー, ・ and (optionally) spaces, with at least one katakana."""
    assert is_katakana(text, allow_space=allow_space) is expected


@given(st.text(st.sampled_from(KATAKANA_LETTERS + "ー・ \u3000"), min_size=1))
def test_is_katakana_accepts_any_katakana_with_a_letter(text: str) -> None:
    """Katakana letters with ー, ・ and spaces are katakana as soon as one letter is present."""
    has_letter = any(c in KATAKANA_LETTERS for c in text)
    assert is_katakana(text) is has_letter
    assert is_katakana(text + "あ") is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("マイナンバー", "ﾏｲﾅﾝﾊﾞｰ"),
        ("パピプペポ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"),
        ("ヴァ", "ｳﾞｧ"),
        ("ヷヺ", "ﾜﾞｦﾞ"),
        ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("ッ、。「」・", "ｯ､｡｢｣･"),
        ("ヰヱヮヵヶヸヹ", "ヰヱヮヵヶヸヹ"),  # no half-width form: kept for the caller to refuse
        ("山田\u3000A", "山田\u3000A"),
    ],
)
def test_to_halfwidth_katakana(raw: str, expected: str) -> None:
    """Kana become 半角 katakana with ﾞ/ﾟ as separate characters."""
    assert to_halfwidth_katakana(raw) == expected


@given(st.text(st.sampled_from(KATAKANA_LETTERS)))
def test_halfwidth_katakana_round_trip_of_letters(text: str) -> None:
    """Katakana letters come back exactly from 半角 through normalize_text."""
    assert normalize_text(to_halfwidth_katakana(text)) == text


@given(st.text(st.sampled_from(KATAKANA_BLOCK + " ")))
def test_halfwidth_katakana_round_trip_of_any_katakana(text: str) -> None:
    """With ー, ・ and spaces as well, 半角 text normalises to what the 全角 text normalises to."""
    assert normalize_text(to_halfwidth_katakana(text)) == normalize_text(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﾔﾏﾀﾞ　ﾀﾛｳ", "ヤマダタロウ"),
        ("やまだ たろう", "ヤマダタロウ"),
        ("ヤマダタロウ", "ヤマダタロウ"),
        ("ジョン・スミス", "ジョンスミス"),
        ("ＡＢＣ　Def", "abcdef"),
        ("メゾンー101", "メゾン-101"),
        ("メゾン－１０１", "メゾン-101"),
        ("カード", "カ-ド"),
        ("①㈱", "1(株)"),
        ("9:00〜17:00", "9:00~17:00"),
        ("わ゛", "ヷ"),
    ],
)
def test_normalize_for_search(raw: str, expected: str) -> None:
    """The key ignores width, kana script, case, spaces, ・ and 長音 against hyphen."""
    assert normalize_for_search(raw) == expected


@given(japanese_text)
@example("カ・\u3099")
@example("カ ゛")
@example("T¨")
def test_normalize_for_search_is_idempotent(text: str) -> None:
    """A key is its own key, so keys can be compared with normalised queries."""
    key = normalize_for_search(text)
    assert normalize_for_search(key) == key


@given(japanese_text)
def test_normalize_for_search_output_is_folded(text: str) -> None:
    """Keys hold no whitespace, no upper-case ASCII, no hiragana letters and no ー."""
    key = normalize_for_search(text)
    assert not any(c.isspace() for c in key)
    assert not any("A" <= c <= "Z" for c in key)
    assert not any(0x3041 <= ord(c) <= 0x3096 for c in key)
    assert "ー" not in key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("０７８－３３１－８１８１", "0783318181"),
        ("078ー331ー8181", "0783318181"),
        ("1234 5678 9018", "123456789018"),
        ("\u3000１２３\u200b４\t", "1234"),
        ("12a４", "12a4"),
        ("①", "①"),
    ],
)
def test_normalize_digits(raw: str, expected: str) -> None:
    """全角 digits become 半角; whitespace and hyphens go; other characters are kept."""
    assert normalize_digits(raw) == expected


@given(japanese_text)
def test_normalize_digits_removes_separators(text: str) -> None:
    """No whitespace, hyphen-like character or 全角 digit survives."""
    result = normalize_digits(text)
    assert not any(c.isspace() or c in HYPHEN_LIKE or "０" <= c <= "９" for c in result)
