"""Normalisation of Japanese input: width, kana, spaces, hyphens and the 長音.

Residents type the same name, address or number in many ways: 全角 or 半角 digits, 半角 katakana
from old systems, an ideographic space between family and given name, and any of a dozen
dash-like characters for both the hyphen of a phone number and the 長音 of a katakana word.
:func:`normalize_text` turns all of these into one stored form; :func:`normalize_for_search`
builds a match key on top of it.

Unicode NFKC is deliberately not applied to stored text. Besides the width folding wanted here,
it rewrites characters whose form carries meaning: ① becomes 1, ㈱ becomes (株), ㍻ becomes 平成,
… becomes ..., ～ becomes ~, ￥ becomes ¥ (which cp932 cannot encode), and CJK compatibility
ideographs such as 神 (U+FA19) become their unified forms, losing the glyph a person's registered
name uses. Only the foldings listed in :func:`normalize_text` are applied; the search key, which
is never displayed, does use NFKC.
"""

import functools
import re
import unicodedata
from typing import Final

__all__ = [
    "is_katakana",
    "normalize_digits",
    "normalize_for_search",
    "normalize_text",
    "to_halfwidth_katakana",
    "to_hiragana",
    "to_katakana",
]

_PROLONGED_SOUND_MARK: Final = "\u30fc"  # ー
_WAVE_DASH: Final = "\uff5e"  # ～ FULLWIDTH TILDE, see _build_width_table
_DAKUTEN: Final = "\u3099"  # combining voiced sound mark
_HANDAKUTEN: Final = "\u309a"  # combining semi-voiced sound mark
_KATAKANA_MIDDLE_DOT: Final = "\u30fb"  # ・
_HIRAGANA_TO_KATAKANA_OFFSET: Final = 0x60
_FULLWIDTH_ASCII_OFFSET: Final = 0xFEE0

# Characters used for a hyphen or a 長音 in real input: IMEs offer most of them as candidates for
# the "-" key, and text pasted from Word or PDFs brings the rest. ー itself is absent because it is
# certainly a 長音 after kana and is treated separately (see _normalize_hyphens).
_DASHES: Final = frozenset(
    "-"  # HYPHEN-MINUS
    "\u2010"  # ‐ HYPHEN
    "\u2011"  # ‑ NON-BREAKING HYPHEN
    "\u2012"  # ‒ FIGURE DASH
    "\u2013"  # – EN DASH
    "\u2014"  # — EM DASH
    "\u2015"  # ― HORIZONTAL BAR (the Japanese ダッシュ)
    "\u2043"  # ⁃ HYPHEN BULLET
    "\u2212"  # − MINUS SIGN (what Shift_JIS 0x817C decodes to outside cp932)
    "\u2500"  # ─ BOX DRAWINGS LIGHT HORIZONTAL (an IME candidate for ー)
    "\u2e3a"  # ⸺ TWO-EM DASH
    "\u2e3b"  # ⸻ THREE-EM DASH
    "\ufe58"  # ﹘ SMALL EM DASH
    "\ufe63"  # ﹣ SMALL HYPHEN-MINUS
    "\uff0d"  # － FULLWIDTH HYPHEN-MINUS
)
_HYPHEN_LIKE: Final = _DASHES | {_PROLONGED_SOUND_MARK, "\uff70"}  # plus ー and ｰ

# Invisible characters that arrive through copy and paste and make equal strings compare unequal.
# Zero-width joiners and variation selectors are kept: emoji and 異体字 (IVS) need them.
_INVISIBLE: Final = (
    "\u00ad"  # SOFT HYPHEN
    "\u200b"  # ZERO WIDTH SPACE
    "\u2060"  # WORD JOINER
    "\ufeff"  # ZERO WIDTH NO-BREAK SPACE (a BOM pasted mid-text)
)

# Every character str.isspace() accepts (ideographic space, NBSP, tabs, line breaks, ...); re's
# \s uses the same definition. Line breaks are included: normalize_text is for single-line values.
_WHITESPACE_RUN: Final = re.compile(r"\s+")

_HALFWIDTH_DIGITS: Final = frozenset("0123456789")


def _build_width_table() -> dict[int, str | None]:
    """Return the str.translate table of the character-by-character foldings."""
    table: dict[int, str | None] = {}
    for code in range(0xFF01, 0xFF5F):  # ！ .. ～, the full-width forms of ASCII ! .. ~
        table[code] = chr(code - _FULLWIDTH_ASCII_OFFSET)
    # Ranges such as 9:00～17:00 use a wave dash, which reaches Unicode as U+FF5E from Windows
    # (cp932) and as U+301C from JIS-based systems, for the same Shift_JIS bytes 0x8160. U+FF5E is
    # kept because cp932, the encoding of Excel CSV files, decodes 0x8160 to it: a value exported
    # and read back comes out unchanged. ASCII ~ would read as a tilde, not a range.
    table[0xFF5E] = _WAVE_DASH
    table[0x301C] = _WAVE_DASH
    for code in range(0xFF61, 0xFFA0):  # ｡ .. ﾟ, half-width katakana and punctuation
        table[code] = unicodedata.normalize("NFKC", chr(code))
    # ﾞ and ﾟ are joined to the preceding kana by _compose_voiced_marks, which needs to see them.
    del table[0xFF9E], table[0xFF9F]
    for char in _INVISIBLE:
        table[ord(char)] = None
    return table


_WIDTH_TABLE: Final = _build_width_table()

# The written forms of a voiced mark, mapped to the combining mark used to compose.
_VOICED_MARKS: Final = {
    "\uff9e": _DAKUTEN,  # ﾞ
    "\u309b": _DAKUTEN,  # ゛
    _DAKUTEN: _DAKUTEN,
    "\uff9f": _HANDAKUTEN,  # ﾟ
    "\u309c": _HANDAKUTEN,  # ゜
    _HANDAKUTEN: _HANDAKUTEN,
}
# A half-width mark that cannot be joined becomes the full-width spacing mark: a combining mark
# would silently attach to whatever precedes it, such as a space or a Latin letter.
_SPACING_MARKS: Final = {"\uff9e": "\u309b", "\uff9f": "\u309c"}


def _is_kana(char: str) -> bool:
    """Tell whether ``char`` is hiragana or katakana (including ー, marks and ヽヾ, not ・)."""
    code = ord(char)
    return (
        0x3041 <= code <= 0x309F
        or (0x30A1 <= code <= 0x30FF and code != 0x30FB)
        or 0x31F0 <= code <= 0x31FF
    )


def _build_composition_table() -> dict[str, str]:
    """Map kana + combining mark to the precomposed character, where Unicode has one.

    Taken from NFC over the kana blocks rather than NFC over the whole text: NFC also replaces
    CJK compatibility ideographs, which names need.
    """
    table: dict[str, str] = {}
    for code in [*range(0x3041, 0x30A0), *range(0x30A1, 0x3100)]:
        for mark in (_DAKUTEN, _HANDAKUTEN):
            pair = chr(code) + mark
            composed = unicodedata.normalize("NFC", pair)
            if len(composed) == 1:
                table[pair] = composed
    return table


_COMPOSITIONS: Final = _build_composition_table()


def _compose_voiced_marks(text: str) -> str:
    """Join ﾞﾟ, ゛゜ and the combining marks to the preceding kana (ｶﾞ -> ガ, ﾜﾞ -> ヷ)."""
    if not any(char in _VOICED_MARKS for char in text):
        return text
    out: list[str] = []
    for char in text:
        mark = _VOICED_MARKS.get(char)
        if mark is not None and out:
            composed = _COMPOSITIONS.get(out[-1] + mark)
            if composed is not None:
                out[-1] = composed
                continue
        # Combining marks that cannot compose stay combining: Ainu katakana such as ㇷ゚ use them.
        out.append(_SPACING_MARKS.get(char, char))
    return "".join(out)


def _normalize_hyphens(text: str) -> str:
    """Write each hyphen-like character as ー after kana and as ASCII ``-`` elsewhere.

    ー (and ｰ, already widened) is a 長音 by definition; it only stands for a hyphen when typed
    outside a kana word, as in 078ー331ー8181. Any other dash after kana is a 長音 too (カ-ド),
    except before a digit: "メゾン-101" is a building and a room number, not メゾンー101.
    """
    if not any(char in _HYPHEN_LIKE for char in text):
        return text
    out: list[str] = []
    last = len(text) - 1
    for index, char in enumerate(text):
        if char == _PROLONGED_SOUND_MARK or char in _DASHES:
            # The output so far, not the input, decides: a run such as カ-- is read left to right.
            after_kana = bool(out) and _is_kana(out[-1])
            before_digit = index < last and text[index + 1] in _HALFWIDTH_DIGITS
            if char == _PROLONGED_SOUND_MARK:
                long_vowel = after_kana
            else:
                long_vowel = after_kana and not before_digit
            char = _PROLONGED_SOUND_MARK if long_vowel else "-"
        out.append(char)
    return "".join(out)


def normalize_text(s: str) -> str:
    """Return the stored form of a single-line text value typed by a person.

    - 全角 ASCII letters, digits and symbols become 半角 (ＡＢＣ１２３ -> ABC123), except the
      wave dash: ～ and 〜 both become ～ (U+FF5E).
    - 半角 katakana and punctuation become 全角, with ﾞ/ﾟ joined to the kana before them
      (ｶﾞ -> ガ, ﾊﾟ -> パ, ｳﾞ -> ヴ); ゛/゜ written after a kana are joined the same way.
    - Every kind of whitespace, line breaks included, becomes one ASCII space; runs collapse and
      the ends are trimmed. Zero-width spaces, word joiners, soft hyphens and stray BOMs go.
    - Hyphen-like characters become ー after kana (ｶｰﾄﾞ, カ−ド -> カード) and ``-`` elsewhere
      (０７８－３３１－８１８１ -> 078-331-8181); see :func:`_normalize_hyphens` for the digit rule.
    - Everything else is kept, notably ①, ㈱, ㍻, ￥ and CJK compatibility ideographs.

    The function is idempotent.
    """
    # Forms and imports normalise the same short values many times (blank checks, cleaning,
    # search columns): short ones are remembered.
    if len(s) <= _CACHED_LENGTH:
        return _normalize_short_text(s)
    return _normalize_text(s)


_CACHED_LENGTH: Final = 128


def _normalize_text(s: str) -> str:
    text = s.translate(_WIDTH_TABLE)
    text = _compose_voiced_marks(text)
    text = _WHITESPACE_RUN.sub(" ", text).strip()
    return _normalize_hyphens(text)


_normalize_short_text: Final = functools.lru_cache(maxsize=8192)(_normalize_text)


def _build_digit_table() -> dict[int, str | None]:
    """Return the str.translate table of normalize_digits, whitespace aside."""
    table: dict[int, str | None] = {ord("０") + n: str(n) for n in range(10)}
    for char in _HYPHEN_LIKE | set(_INVISIBLE):
        table[ord(char)] = None
    return table


_DIGIT_TABLE: Final = _build_digit_table()


def normalize_digits(s: str) -> str:
    """Return ``s`` with 全角 digits made 半角 and whitespace and hyphen-like characters removed.

    For codes and phone numbers typed with grouping: "０７８－３３１－８１８１" -> "0783318181",
    "1234 5678 9018" -> "123456789018". Other characters are kept so that validation can refuse
    them instead of a silent deletion changing the number.
    """
    text = s.translate(_DIGIT_TABLE)
    return _WHITESPACE_RUN.sub("", text)


_TO_KATAKANA: Final = {
    **{code: chr(code + _HIRAGANA_TO_KATAKANA_OFFSET) for code in range(0x3041, 0x3097)},
    0x309D: "\u30fd",  # ゝ -> ヽ
    0x309E: "\u30fe",  # ゞ -> ヾ
}
_TO_HIRAGANA: Final = {ord(kata): chr(hira) for hira, kata in _TO_KATAKANA.items()}


def to_katakana(s: str) -> str:
    """Return ``s`` with hiragana replaced by katakana (ひらがな -> ヒラガナ, ゔ -> ヴ, ゝ -> ヽ).

    ゟ (より) has no katakana counterpart and is kept, as is everything that is not hiragana.
    """
    return s.translate(_TO_KATAKANA)


def to_hiragana(s: str) -> str:
    """Return ``s`` with katakana replaced by hiragana (カタカナ -> かたかな, ヶ -> ゖ).

    Katakana without a hiragana counterpart (ヷヸヹヺ, ヿ, the small Ainu letters) is kept
    rather than decomposed, so that ``to_katakana(to_hiragana(s)) == s``. ー and ・ are shared
    by both scripts and kept.
    """
    return s.translate(_TO_HIRAGANA)


def is_katakana(s: str, *, allow_space: bool = True) -> bool:
    """Tell whether ``s`` is written in 全角 katakana only, as a フリガナ field requires.

    Accepted: the letters ァ..ヺ, with ー, ・, ヽ, ヾ and, when ``allow_space``, ASCII and
    ideographic spaces between them. At least one letter is required, so "", " " and "ー・" are
    not katakana (as ``str.isalpha("")`` is False).
    """
    has_letter = False
    for char in s:
        code = ord(char)
        if 0x30A1 <= code <= 0x30FA:
            has_letter = True
        elif char in " \u3000":
            if not allow_space:
                return False
        elif not 0x30FB <= code <= 0x30FE:  # ・ ー ヽ ヾ
            return False
    return has_letter


def _build_halfwidth_table() -> dict[int, str]:
    """Invert the half-width katakana block, adding voiced kana as base + ﾞ/ﾟ."""
    table: dict[int, str] = {}
    for code in range(0xFF61, 0xFFA0):
        full = unicodedata.normalize("NFKC", chr(code))
        table[ord(full)] = chr(code)  # includes the combining marks -> ﾞ, ﾟ
    table[0x309B] = "\uff9e"  # ゛
    table[0x309C] = "\uff9f"  # ゜
    for code in range(0x30A1, 0x3100):
        decomposed = unicodedata.normalize("NFD", chr(code))
        base, marks = decomposed[0], decomposed[1:]
        if marks and ord(base) in table and code not in table:
            table[code] = table[ord(base)] + "".join(table[ord(mark)] for mark in marks)
    return table


_HALFWIDTH_TABLE: Final = _build_halfwidth_table()


def to_halfwidth_katakana(s: str) -> str:
    """Return ``s`` with kana written in 半角 katakana, as bank transfer files require.

    Hiragana is converted to katakana first. Voiced kana become two characters (ガ -> ｶﾞ,
    パ -> ﾊﾟ, ヴ -> ｳﾞ); 。「」、・ become ｡｢｣､･. Kana with no half-width form (ヰ, ヱ, ヮ, ヵ, ヶ,
    ヸ, ヹ) and all other characters are kept: replacing ヰ by ｲ is a bank's rule, applied (or
    refused) where the transfer file is written. Call :func:`normalize_text` first for 半角 ASCII
    and spaces.
    """
    return to_katakana(s).translate(_HALFWIDTH_TABLE)


# The key ignores what a person searching does not distinguish: spaces, ・ between the parts of a
# foreign name (ジョン・スミス), letter case, and 長音 against hyphen (メゾンー101, メゾン-101).
_SEARCH_SEPARATORS: Final = re.compile(rf"[\s{_KATAKANA_MIDDLE_DOT}]+")
_SEARCH_FOLD: Final = {
    **{code: chr(code + 0x20) for code in range(ord("A"), ord("Z") + 1)},
    **dict.fromkeys(map(ord, _HYPHEN_LIKE), "-"),
}


def normalize_for_search(s: str) -> str:
    """Return the key under which ``s`` is searched, never to be displayed.

    :func:`normalize_text`, then NFKC (a key may lose ① vs 1 and ㈱ vs (株)), hiragana folded to
    katakana, whitespace and ・ removed, ASCII lower-cased and ー written as ``-``:
    "ﾔﾏﾀﾞ　ﾀﾛｳ", "やまだ たろう" and "ヤマダタロウ" all give "ヤマダタロウ".

    Katakana is the folded form because every hiragana has a katakana counterpart but not the
    reverse (ヷヸヹヺ have no hiragana), and because フリガナ is collected in katakana.
    The function is idempotent.
    """
    text = unicodedata.normalize("NFKC", normalize_text(s))
    text = to_katakana(text)
    # NFKC turns ゛ into a space and a combining mark, so separators are removed after it, and NFC
    # last joins the marks that the removal or the katakana fold (わ + ゙ -> ヷ) brought next to a
    # letter; otherwise normalize_text would join them on a second pass and the key would change.
    # Lower-casing comes before NFC too: T + ̈ has no precomposed form but t + ̈ does (ẗ).
    text = _SEARCH_SEPARATORS.sub("", text).translate(_SEARCH_FOLD)
    return unicodedata.normalize("NFC", text)
