"""Which language a resident wrote in, from the characters alone.

Residents write Japanese or, now and then, English; a question is taken as English when it
has Latin letters and hardly any kana or kanji (「How do I get a 住民票?」 is English, a
Japanese sentence naming 「PCリサイクル」 or 「LINE」 is not). Other languages are not told
apart: they are answered as Japanese questions are.
"""

from __future__ import annotations

import re
from typing import Final, Literal

__all__ = ["question_language"]

_LATIN: Final = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]")
_JAPANESE: Final = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)
_LATIN_WORD: Final = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]{2,}")


def question_language(text: str) -> Literal["ja", "en"]:
    """``"en"`` when ``text`` is written in English (two Latin words, few Japanese characters)."""
    latin = len(_LATIN.findall(text))
    japanese = len(_JAPANESE.findall(text))
    words = len(_LATIN_WORD.findall(text))
    if words >= 2 and latin > 3 * japanese:
        return "en"
    return "ja"
