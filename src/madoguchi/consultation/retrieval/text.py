"""Japanese text for retrieval: normalisation, SudachiPy tokens without function words, synonyms.

Tokens are SudachiPy's normalised forms, so 問合せ/問い合わせ, ｶｰﾄﾞ/カード and 申込み/申し込み
meet. Split mode A keeps 申請 and 方法 apart, so "申請方法" finds "申請の方法"; the compounds of
mode C (住民票, 保険料) are added as well, which rewards the exact term when both sides use it.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from madoguchi.core.japanese import normalize_text

__all__ = ["SynonymTable", "content_tokens", "normalize_query"]

# Parts of speech that carry no topic: particles, auxiliaries, symbols, interjections.
_SKIPPED_POS: Final = frozenset(
    {"助詞", "助動詞", "補助記号", "記号", "空白", "感動詞", "接続詞", "代名詞", "連体詞", "接頭辞"}
)
# Normalised forms too common in questions to tell entries apart.
_STOP_FORMS: Final = frozenset(
    {
        "為る",
        "有る",
        "居る",
        "成る",
        "出来る",
        "下さる",
        "思う",
        "言う",
        "良い",
        "いい",
        "貰う",
        "呉れる",
        "頂く",
        "教える",
        "知る",
        "分かる",
        "事",
        "物",
        "方",
        "為",
        "様",
        "所",
        "場合",
        "どう",
        "何",
        "何処",
        "何時",
        "幾ら",
        "お願い",
        "御願い",
        "願う",
        "ます",
        "です",
        "今",
        "ちょっと",
        "一寸",
        "もう",
        "本当",
        "欲しい",
        "行う",
    }
)


def normalize_query(text: str) -> str:
    """The text as compared: widths and kana folded (ｶｰﾄﾞ → カード), NFKC, lower case."""
    return unicodedata.normalize("NFKC", normalize_text(text)).lower()


class _Tokenizers(threading.local):
    """One SudachiPy tokenizer per thread over one shared dictionary (about 90 MB)."""

    def __init__(self) -> None:
        from sudachipy import SplitMode

        dictionary = _dictionary()
        self.mode_a: Any = dictionary.tokenizer(mode=SplitMode.A)
        self.mode_c: Any = dictionary.tokenizer(mode=SplitMode.C)


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    from sudachipy import Dictionary

    return Dictionary(dict="core")


_TOKENIZERS: _Tokenizers | None = None
_TOKENIZERS_LOCK = threading.Lock()


def _tokenizers() -> _Tokenizers:
    global _TOKENIZERS
    if _TOKENIZERS is None:
        with _TOKENIZERS_LOCK:
            if _TOKENIZERS is None:
                _TOKENIZERS = _Tokenizers()
    return _TOKENIZERS


# SudachiPy refuses input past ~49,000 bytes; questions and FAQ phrasings are far shorter.
_MAX_CHARS: Final = 4000


def _keep(morpheme: Any) -> str | None:
    pos = morpheme.part_of_speech()
    if pos[0] in _SKIPPED_POS:
        return None
    form = str(morpheme.normalized_form()).lower()
    if not form.strip() or form in _STOP_FORMS:
        return None
    if len(form) == 1 and form.isascii() and not form.isdigit():
        return None
    return form


def content_tokens(text: str, *, compounds: bool = True) -> list[str]:
    """The content words of ``text`` as normalised forms, in order, duplicates kept."""
    normalized = normalize_query(text)[:_MAX_CHARS]
    if not normalized:
        return []
    tokenizers = _tokenizers()
    tokens = [form for m in tokenizers.mode_a.tokenize(normalized) if (form := _keep(m))]
    if compounds:
        seen = set(tokens)
        tokens.extend(
            form
            for m in tokenizers.mode_c.tokenize(normalized)
            if (form := _keep(m)) and form not in seen
        )
    return tokens


@dataclass(frozen=True, slots=True)
class SynonymTable:
    """Groups of equivalent terms; a query using one term also looks for the others."""

    groups: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_groups(cls, groups: Iterable[Sequence[str]]) -> SynonymTable:
        cleaned = []
        for group in groups:
            terms = tuple(dict.fromkeys(t for t in (normalize_query(x) for x in group) if t))
            if len(terms) >= 2:
                cleaned.append(terms)
        return cls(tuple(cleaned))

    def expansions(self, normalized_query: str) -> list[str]:
        """The other terms of every group one of whose terms occurs in the query."""
        extra: list[str] = []
        for group in self.groups:
            if any(term in normalized_query for term in group):
                extra.extend(term for term in group if term not in normalized_query)
        return extra

    def expand_tokens(self, text: str) -> list[str]:
        """Content tokens of ``text`` plus those of the synonyms it triggers."""
        tokens = content_tokens(text)
        for term in self.expansions(normalize_query(text)):
            tokens.extend(content_tokens(term))
        return tokens
