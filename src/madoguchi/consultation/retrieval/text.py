"""Japanese text for retrieval: normalisation, SudachiPy tokens without function words, synonyms.

Tokens are SudachiPy's normalised forms, so 問合せ/問い合わせ, ｶｰﾄﾞ/カード and 申込み/申し込み
meet. Split mode A keeps 申請 and 方法 apart, so "申請方法" finds "申請の方法"; the compounds of
mode C (住民票, 保険料) are added as well, which rewards the exact term when both sides use it.

``lexical_terms`` adds what lets other wordings meet (see docs/consultation.md, "Recall"):

- readings: the kana reading of each content word, so ごみ/ゴミ/塵 and 粗大ごみ/そだいごみ meet;
- synonym groups: the ids of the synonym groups SudachiDict's core dictionary gives each word
  (the groups of Sudachi's maintained synonym dictionary), so でかい/大きい, スマホ/スマートフォン,
  PC/パソコン and 保育園/保育所 meet without any list of ours;
- reading bigrams: character bigrams of the reading of the whole text, so a misspelt or
  mis-segmented word (住民表, ごみしゅうしゅうび, りさい証明) still shares most of its pieces;
- for questions only: romaji words written as kana (gomi → ごみ) and the colloquial phrases of
  ``data/colloquial.tsv`` (いつ振り込まれる → 支給日) added as the terms an FAQ would use.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from madoguchi.core.japanese import normalize_text

__all__ = [
    "KanaSpellings",
    "LexicalTerms",
    "SynonymTable",
    "colloquial_expansions",
    "content_tokens",
    "lexical_terms",
    "normalize_query",
    "romaji_as_kana",
    "terms_version",
]

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


# Bump when lexical_terms gives other terms for the same text (stored terms are keyed by it).
TERMS_VERSION: Final = 1


@lru_cache(maxsize=1)
def terms_version() -> str:
    """The version of the term rules and of the SudachiPy dictionary that produced terms."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        dictionary = version("sudachidict-core")
        sudachi = version("sudachipy")
    except PackageNotFoundError:
        dictionary = sudachi = "unknown"
    return f"{TERMS_VERSION}:{sudachi}:{dictionary}"


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
    return list(lexical_terms(text, compounds=compounds).words)


@dataclass(frozen=True, slots=True)
class LexicalTerms:
    """What the lexical index matches of a text, one kind per BM25 index."""

    words: tuple[str, ...] = ()  # normalised forms (mode A, then mode C compounds)
    readings: tuple[str, ...] = ()  # kana readings of the same words
    synonyms: tuple[str, ...] = ()  # Sudachi synonym group ids of the same words
    grams: tuple[str, ...] = ()  # character bigrams of the reading of the whole text
    # (hiragana reading, written form) of words written with kanji or katakana, from which an
    # index learns how its own words are spelt (see ``KanaSpellings``)
    spellings: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            [self.words, self.readings, self.synonyms, self.grams, self.spellings],
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> LexicalTerms:
        """The terms :meth:`to_json` wrote; ValueError when ``text`` is not such a record."""
        try:
            words, readings, synonyms, grams, spellings = json.loads(text)
            # Written by to_json (lists of strings); 30,000 records are read at once.
            return cls(
                tuple(words),
                tuple(readings),
                tuple(synonyms),
                tuple(grams),
                tuple((kana, surface) for kana, surface in spellings),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError("not a record of lexical terms") from exc

    def __add__(self, other: LexicalTerms) -> LexicalTerms:
        return LexicalTerms(
            self.words + other.words,
            self.readings + other.readings,
            self.synonyms + other.synonyms,
            self.grams + other.grams,
            self.spellings + other.spellings,
        )


# Morphemes that end a run of reading bigrams (a bigram never spans punctuation or spaces).
_GRAM_BREAKS: Final = frozenset({"補助記号", "記号", "空白"})


def lexical_terms(text: str, *, compounds: bool = True) -> LexicalTerms:
    """Words, readings, synonym groups and reading bigrams of ``text``."""
    normalized = normalize_query(text)[:_MAX_CHARS]
    if not normalized:
        return LexicalTerms()
    tokenizers = _tokenizers()
    words: list[str] = []
    readings: list[str] = []
    synonyms: list[str] = []
    grams: list[str] = []
    spellings: list[tuple[str, str]] = []
    run: list[str] = []
    for morpheme in tokenizers.mode_a.tokenize(normalized):
        if morpheme.part_of_speech()[0] in _GRAM_BREAKS:
            grams.extend(_bigrams("".join(run)))
            run = []
        else:
            run.append(_spoken(morpheme))
        if form := _keep(morpheme):
            words.append(form)
            readings.append(_reading(morpheme))
            synonyms.extend(str(g) for g in morpheme.synonym_group_ids())
            spellings.extend(_spelling(morpheme))
    grams.extend(_bigrams("".join(run)))
    if compounds:
        seen = set(words)
        for morpheme in tokenizers.mode_c.tokenize(normalized):
            if (form := _keep(morpheme)) and form not in seen:
                words.append(form)
                readings.append(_reading(morpheme))
                synonyms.extend(str(g) for g in morpheme.synonym_group_ids())
                spellings.extend(_spelling(morpheme))
    return LexicalTerms(
        tuple(words), tuple(readings), tuple(synonyms), tuple(grams), tuple(spellings)
    )


# A written form worth restoring holds a kanji or a katakana letter; its reading is spelt in
# hiragana as a resident writes it, and short readings (か, もの) are too ambiguous to trust.
_WRITTEN: Final = re.compile(r"[\u4e00-\u9fff\u3005\u30a1-\u30fa]")
_MIN_SPELLING: Final = 3


def _spelling(morpheme: Any) -> list[tuple[str, str]]:
    if morpheme.part_of_speech()[0] in _INFLECTED_POS:
        return []
    surface = str(morpheme.surface())
    reading = str(morpheme.reading_form())
    if not _WRITTEN.search(surface) or not reading.strip():
        return []
    import jaconv

    kana = str(jaconv.kata2hira(reading))
    if len(kana) < _MIN_SPELLING or kana == surface or not _HIRAGANA_RUN.fullmatch(kana):
        return []
    return [(kana, surface)]


_HIRAGANA_RUN: Final = re.compile(r"[\u3041-\u3096\u30fc]+")


def _inflection_mask(normalized: str) -> tuple[list[bool], set[int]]:
    """Kana no restored word may cover, and the places where SudachiPy starts a morpheme."""
    mask = [False] * (len(normalized) + 1)
    bounds = {len(normalized)}
    morphemes = list(_tokenizers().mode_a.tokenize(normalized))
    for n, morpheme in enumerate(morphemes):
        bounds.add(morpheme.begin())
        pos = morpheme.part_of_speech()[0]
        following = morphemes[n + 1].part_of_speech()[0] if n + 1 < len(morphemes) else ""
        # 出し: its kana are an inflection; たい, ます: auxiliaries; かかり(ます): a verb.
        if (
            _WRITTEN.search(str(morpheme.surface())) is not None
            or pos == "助動詞"
            or (pos in _INFLECTED_POS and following == "助動詞")
        ):
            for k in range(morpheme.begin(), morpheme.end()):
                mask[k] = True
    return mask, bounds


@dataclass(frozen=True, slots=True)
class KanaSpellings:
    """Words of a knowledge base by their hiragana reading, to restore a question typed in kana.

    Residents type こくみんけんこうほけんのかにゅう or まいなんばーかーど where the FAQ writes
    国民健康保険 and マイナンバーカード; SudachiPy then cuts the kana into other words and the
    embedding model finds them far from the kanji. Each run of hiragana in the question is read
    left to right, and the longest reading of a word of this knowledge base (three kana or
    more) starting at each place is written as the knowledge base writes it. Only the
    knowledge base's own words are used, so a reading with several spellings in Japanese has
    the one this municipality's FAQ uses; what is already written in kanji is never changed.
    """

    by_reading: dict[str, str]
    longest: int

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> KanaSpellings:
        counts: dict[tuple[str, str], int] = {}
        for pair in pairs:
            counts[pair] = counts.get(pair, 0) + 1
        return cls.from_counts(counts.items())

    @classmethod
    def from_counts(cls, counted: Iterable[tuple[tuple[str, str], int]]) -> KanaSpellings:
        """From ((reading, written form), count), in the order the pairs first occur."""
        counts: dict[str, dict[str, int]] = {}
        for (kana, surface), count in counted:
            forms = counts.setdefault(kana, {})
            forms[surface] = forms.get(surface, 0) + count
        # The spelling the knowledge base uses most for each reading.
        by_reading = {kana: max(forms, key=lambda f: forms[f]) for kana, forms in counts.items()}
        return cls(by_reading, max(map(len, by_reading), default=0))

    def restore(self, normalized: str) -> str:
        """``normalized`` with the knowledge base's words written as it writes them.

        A restored word starts and ends where SudachiPy cuts the question, and never covers
        the kana inflection of a written word (出し), an auxiliary (たい, ます) or a verb
        before one (かかり|ます): 「出したい」 does not become 「出死体」, nor 「していただく」
        「指定ただく」.
        """
        if not self.by_reading or not _HIRAGANA_RUN.search(normalized):
            return normalized
        normalized = normalized[:_MAX_CHARS]
        protected, bounds = _inflection_mask(normalized)
        out: list[str] = []
        i = 0
        while i < len(normalized):
            match = None
            if _HIRAGANA_RUN.match(normalized[i]):
                for length in range(min(self.longest, len(normalized) - i), _MIN_SPELLING - 1, -1):
                    piece = normalized[i : i + length]
                    if (
                        piece in self.by_reading
                        and i in bounds
                        and i + length in bounds
                        and not any(protected[i : i + length])
                    ):
                        match = piece
                        break
            if match is None:
                out.append(normalized[i])
                i += 1
            else:
                out.append(self.by_reading[match])
                i += len(match)
        return "".join(out)


# Inflected words: the reading is of the inflected surface (捨て → ステ), so their normalised
# form (捨てる) stands for them instead.
_INFLECTED_POS: Final = frozenset({"動詞", "形容詞", "助動詞"})


def _reading(morpheme: Any) -> str:
    """The katakana reading, or the normalised form for inflected words and words without one."""
    if morpheme.part_of_speech()[0] in _INFLECTED_POS:
        return str(morpheme.normalized_form()).lower()
    return _spoken(morpheme)


def _spoken(morpheme: Any) -> str:
    """The reading of the morpheme as written, or its normalised form when it has none."""
    reading = str(morpheme.reading_form())
    return reading if reading.strip() else str(morpheme.normalized_form()).lower()


def _bigrams(reading: str) -> list[str]:
    # Long-vowel marks vary (ボックス/ボツクス are rare, but ソファー/ソファ are common).
    reading = reading.replace("ー", "")
    if len(reading) < 2:
        return [reading] if reading else []
    return [reading[i : i + 2] for i in range(len(reading) - 1)]


# A word of Hepburn or kunrei romaji, syllable by syllable (a doubled consonant is っ).
_ROMAJI_WORD: Final = re.compile(
    r"(?:(?:[kgsztdnhbpmrj]|ch|sh|ts|[kgnhbpmrc]y|[sz]y)?[aiueo]|y[auo]|w[ao]|fu|n(?![aiueoy])|"
    r"([kgstdhbpfjmcr])(?=\1))+"
)
_LATIN_WORD: Final = re.compile(r"[a-z]+")


def romaji_as_kana(normalized: str) -> str:
    """The romaji words of a question written in hiragana (gomi no dashikata → ごみ の だしかた).

    Only words that read as whole romaji syllables of three letters or more are converted, so
    PC, mynumber or wifi are left alone; the empty string when there is none.
    """
    import jaconv

    words = [
        w for w in _LATIN_WORD.findall(normalized) if len(w) >= 3 and _ROMAJI_WORD.fullmatch(w)
    ]
    return " ".join(str(jaconv.alphabet2kana(w)) for w in words)


@lru_cache(maxsize=1)
def _colloquial_table() -> tuple[tuple[re.Pattern[str], str], ...]:
    text = resources.files("madoguchi.consultation.data").joinpath("colloquial.tsv")
    rows = []
    for line in text.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, standard = line.split("\t", 1)
        rows.append((re.compile(normalize_query(pattern.strip())), standard.strip()))
    return tuple(rows)


def colloquial_expansions(normalized: str) -> list[str]:
    """The standard terms of the colloquial phrases found in a normalised question."""
    return [standard for pattern, standard in _colloquial_table() if pattern.search(normalized)]


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
