"""An immutable per-municipality search index: BM25 over SudachiPy tokens plus e5 vectors.

Built once per knowledge-base version and then only read, so one instance is shared by every
request of a process without locks. Scores are fused as chosen on the development half of the
evaluation set (see docs/consultation.md for the figures of each variant):

- ``dense``: cosine similarity to the closest phrasing (question or alternative) of an entry,
  averaged with ANSWER_WEIGHT × the similarity to the entry's answer (a passage), which catches
  questions that name what the answer lists (ソファー → 家具, デイサービス → 介護サービス);
- ``lexical``: BM25 over question, alternatives and answer, divided by the best score;
- ``fused``: dense + LEXICAL_WEIGHT × lexical. Adding raw BM25 scores (unbounded) to cosines
  (all between 0.8 and 1 for Japanese e5) lets lexical noise override the model, which is why
  naive mixing does worse than e5 alone; divided by the best score and weighted lightly, BM25
  only decides among entries the model finds about equally close.
"""

from __future__ import annotations

import datetime
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Final

import numpy as np
from django.utils import timezone
from numpy.typing import NDArray

from madoguchi.consultation.language import question_language
from madoguchi.consultation.retrieval.bm25 import Bm25, Counted, IdArray, TermIds, term_ids
from madoguchi.consultation.retrieval.embedding import Embedder, Vectors, query_vector
from madoguchi.consultation.retrieval.text import (
    KanaSpellings,
    LexicalTerms,
    SynonymTable,
    colloquial_expansions,
    lexical_terms,
    normalize_query,
    romaji_as_kana,
)

__all__ = [
    "Fusion",
    "Hit",
    "IndexedEntry",
    "KnowledgeIndex",
    "SearchResult",
    "clear_token_cache",
    "terms_given",
    "terms_known",
    "terms_of",
    "texts_to_embed",
]

logger = logging.getLogger(__name__)

LEXICAL_WEIGHT: Final = 0.03
# BM25 over each kind of term of text.LexicalTerms, added with these weights (chosen on the
# development half; docs/consultation.md): an exact word counts fully, a word met only through
# its reading, its Sudachi synonym group or its character bigrams counts less.
READING_WEIGHT: Final = 0.5
SYNONYM_WEIGHT: Final = 0.5
GRAM_WEIGHT: Final = 0.2
# Terms a colloquial phrase of the question stands for, below the question's own words.
COLLOQUIAL_WEIGHT: Final = 0.5
_KINDS: Final = ("words", "readings", "synonyms", "grams")
ANSWER_WEIGHT: Final = 0.75
# Confidence: the best fused score mapped onto 0..1 between these points, mixed half and half
# with the lead over the runner-up (chosen with the threshold on the development half of the
# demo evaluation set), and halved when no word of the question occurs in the knowledge base.
_SCORE_FLOOR: Final = 0.865
_SCORE_CEIL: Final = 0.955
_MARGIN_FULL: Final = 0.04
_MARGIN_SHARE: Final = 0.5
# Lexical confidence of anything but an entry's own phrasing or a clear case stays below this.
_LEXICAL_CEIL: Final = 0.9
# A clear case without the model: every content word of the question is a word of the first
# entry's question or alternatives, and its BM25 leads the runner-up's by this share at least
# (chosen on the development halves of both evaluation sets: no wrong answer among their 279
# questions; docs/consultation.md).
LEXICAL_CLEAR: Final = 0.95
_LEXICAL_CLEAR_LEAD: Final = 0.1
_MAX_QUERY_CHARS: Final = 500
# The model's cost grows with the question's length; past this the meaning is in the words
# BM25 sees anyway, and the latency of a rambling message stays bounded.
_MAX_EMBEDDED_QUERY_CHARS: Final = 160
# The model reads the first 60 characters of an answer (about its first sentence, which
# should answer the entry's question): whole answers (up to 400) were half of the tokens of
# a 5,000-entry build, and the first 60 ranked as well on both evaluation sets (confidence
# points 0.005 higher, chosen on their development halves); BM25 reads the whole answer.
_MAX_ANSWER_CHARS: Final = 60

VectorSource = Callable[[Sequence[str], str], Vectors]  # (texts, "query" | "passage")


class Fusion(StrEnum):
    """How the two halves are combined; all but FUSED are kept to report what was tried."""

    FUSED = "fused"
    DENSE = "dense"  # phrasings and answer, no BM25
    E5_PHRASINGS = "e5-phrasings"  # e5 on question and alternatives only
    NAIVE = "naive"  # e5 on phrasings + raw BM25 score
    LEXICAL = "lexical"
    RRF = "rrf"  # reciprocal rank fusion, k = 60


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """What the index needs of an FAQ entry (plain data, so benchmarks need no database)."""

    id: int
    question: str
    alternatives: tuple[str, ...] = ()
    answer: str = ""
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.alternatives)


@dataclass(frozen=True, slots=True)
class Hit:
    entry_id: int
    score: float
    dense: float | None
    lexical: float


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[Hit, ...]
    confidence: float
    mode: str  # "hybrid" or "lexical"
    keywords: tuple[str, ...] = field(default=())

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


_NO_DAY: Final = -1
_FAR_DAY: Final = 10**7


def _ordinal(day: datetime.date | None, default: int) -> int:
    return day.toordinal() if day is not None else default


def texts_to_embed(entries: Sequence[IndexedEntry]) -> tuple[list[str], list[str]]:
    """The phrasings (embedded as queries) and answers (as passages) an index embeds."""
    phrasings = [_normalized(p) for e in entries for p in _embedded_phrasings(e)]
    answers = [_normalized(e.answer)[:_MAX_ANSWER_CHARS] for e in entries]
    return phrasings, answers


class KnowledgeIndex:
    """Search over one municipality's entries as they were at ``version``."""

    def __init__(
        self,
        *,
        entries: Sequence[IndexedEntry],
        synonyms: SynonymTable,
        embedder: Embedder | None,
        vectors_for: VectorSource | None = None,
        version: int = 0,
        answer_in_lexical: bool = True,
    ) -> None:
        self.version = version
        self.synonyms = synonyms
        self.embedder = embedder
        self.built_for = embedder  # the embedder asked for, even if indexing fell back
        self.entry_ids: NDArray[np.int64] = np.array([e.id for e in entries], dtype=np.int64)
        self._valid_from = np.array([_ordinal(e.valid_from, _NO_DAY) for e in entries])
        self._valid_until = np.array([_ordinal(e.valid_until, _FAR_DAY) for e in entries])
        self._size = len(entries)
        # Each entry's own phrasings as residents may type them (a menu item, a copied title).
        # Normalised through the per-text cache: normalising 28,000 phrasings twice again took
        # about a quarter of the CPU of a rebuild after one edit at 5,000 entries.
        self._phrasing_owner = {
            normalized: e.id for e in entries for p in e.phrasings if (normalized := _normalized(p))
        }
        # The words of each entry's phrasings, for the lexical fallback's clear cases.
        self._phrasing_words = {e.id: _phrasing_words(e.phrasings) for e in entries}

        # One BM25 index per kind of term, so that each has its own document frequencies. The
        # terms of each entry (phrasings and answer) come counted from a cache by its texts, so
        # a rebuild after one edit tokenises and counts that entry's texts only.
        per_entry = [
            _entry_terms((*e.phrasings, e.answer) if answer_in_lexical else e.phrasings)
            for e in entries
        ]
        self._spellings = _spellings(per_entry)
        self._bm25: dict[str, Bm25] = {}
        if entries:
            empty = int(term_ids.intern([""])[0])
            for k, kind in enumerate(_KINDS):
                self._bm25[kind] = Bm25(
                    [c.kinds[k] for c in per_entry], empty=empty, k1=1.2, b=0.75
                )

        self._phrase_vectors: Vectors | None = None
        self._answer_vectors: Vectors | None = None
        if embedder is not None and entries:
            embed = vectors_for or _direct(embedder)
            texts, answers = texts_to_embed(entries)
            owners = np.array([i for i, e in enumerate(entries) for _ in _embedded_phrasings(e)])
            self._phrase_vectors = np.ascontiguousarray(embed(texts, "query"), dtype=np.float32)
            # Phrasings are grouped by entry, so a maximum per entry is one reduceat.
            self._phrase_starts = np.flatnonzero(np.r_[True, np.diff(owners) != 0])
            self._answer_vectors = np.ascontiguousarray(embed(answers, "passage"), np.float32)

    def __len__(self) -> int:
        return self._size

    @property
    def mode(self) -> str:
        return "hybrid" if self._phrase_vectors is not None else "lexical"

    def lexical_scores(self, text: str) -> tuple[NDArray[np.float32], tuple[str, ...]]:
        """BM25 of the question's terms (all kinds, weighted) and its words, synonyms included."""
        normalized = normalize_query(text)
        terms = lexical_terms(text)
        for term in self.synonyms.expansions(normalized):
            terms += _terms_of_term(term)
        if kana := romaji_as_kana(normalized):
            terms += lexical_terms(kana)
        colloquial = LexicalTerms()
        for term in colloquial_expansions(normalized):
            colloquial += _terms_of_term(term)
        tokens = terms.words + colloquial.words
        scores = np.zeros(self._size, dtype=np.float32)
        if not self._bm25:
            return scores, tokens
        scores += self._word_scores(terms)
        scores += COLLOQUIAL_WEIGHT * self._word_scores(colloquial)
        if scores.max() > 0:
            # Bigrams refine among entries a word already found; alone they would make every
            # question seem to know a word of the knowledge base.
            scores += GRAM_WEIGHT * self._kind_scores("grams", list(dict.fromkeys(terms.grams)))
        return scores, tokens

    def _word_scores(self, terms: LexicalTerms) -> NDArray[np.float32]:
        """Words, readings and synonym groups: the kinds that say a word of the question."""
        scores = self._kind_scores("words", terms.words)
        scores += READING_WEIGHT * self._kind_scores("readings", terms.readings)
        scores += SYNONYM_WEIGHT * self._kind_scores("synonyms", terms.synonyms)
        return scores

    def _kind_scores(self, kind: str, terms: Sequence[str]) -> NDArray[np.float32]:
        return self._bm25[kind].scores(term_ids.known(terms))

    def dense_scores(self, text: str, *, answers: bool = True) -> NDArray[np.float32] | None:
        if self._phrase_vectors is None or self._answer_vectors is None or not self.embedder:
            return None
        query = query_vector(self.embedder, normalize_query(text)[:_MAX_EMBEDDED_QUERY_CHARS])
        phrasing = np.maximum.reduceat(self._phrase_vectors @ query, self._phrase_starts)
        if not answers:
            return phrasing.astype(np.float32)
        answer = self._answer_vectors @ query
        combined = (phrasing + ANSWER_WEIGHT * answer) / (1 + ANSWER_WEIGHT)
        return combined.astype(np.float32)

    def search(
        self,
        text: str,
        *,
        limit: int = 3,
        today: datetime.date | None = None,
        fusion: Fusion = Fusion.FUSED,
    ) -> SearchResult:
        """The best ``limit`` entries valid on ``today`` for the question, with a confidence."""
        text = text[:_MAX_QUERY_CHARS]
        if self._size == 0 or not normalize_query(text):
            return SearchResult((), 0.0, self.mode)
        asked = text
        text = self._spellings.restore(normalize_query(text))
        lexical, tokens = self.lexical_scores(text)
        top_lexical = float(lexical.max())
        lexical_norm = lexical / top_lexical if top_lexical > 0 else lexical
        dense = None
        if fusion != Fusion.LEXICAL:
            try:
                answers = fusion not in {Fusion.E5_PHRASINGS, Fusion.NAIVE}
                dense = self.dense_scores(text, answers=answers)
            except Exception:  # the model failing mid-query must not stop the answer
                logger.warning("embedding the question failed: answering lexically")
        scores = self._fuse(fusion, dense, lexical_norm)
        if fusion == Fusion.NAIVE and dense is not None:
            scores = dense.astype(np.float64) + lexical

        day = (today or timezone.localdate()).toordinal()
        valid = (self._valid_from <= day) & (day <= self._valid_until)
        scores = np.where(valid, scores, -np.inf)
        if dense is None and top_lexical <= 0:
            return SearchResult((), 0.0, "lexical", tokens)
        order = np.argsort(-scores, kind="stable")[:limit]
        hits = tuple(
            Hit(
                entry_id=int(self.entry_ids[i]),
                score=float(scores[i]),
                dense=float(dense[i]) if dense is not None else None,
                lexical=float(lexical_norm[i]),
            )
            for i in order
            if np.isfinite(scores[i])
        )
        mode = "hybrid" if dense is not None else "lexical"
        if dense is None:
            exact = self._phrasing_owner.get(normalize_query(asked))
            if hits and exact == hits[0].entry_id:
                confidence = 1.0
            elif self._lexical_clear(hits, text):
                confidence = LEXICAL_CLEAR
            else:
                confidence = self._lexical_guess(hits)
        else:
            confidence = self._confidence(hits, top_lexical > 0)
        return SearchResult(hits, confidence, mode, tokens)

    def _fuse(
        self,
        fusion: Fusion,
        dense: NDArray[np.float32] | None,
        lexical_norm: NDArray[np.float32],
    ) -> NDArray[np.float64]:
        if dense is None or fusion == Fusion.LEXICAL:
            return lexical_norm.astype(np.float64)
        if fusion in {Fusion.DENSE, Fusion.E5_PHRASINGS}:
            return dense.astype(np.float64)
        if fusion == Fusion.RRF:
            ranks_dense = np.empty(self._size)
            ranks_dense[np.argsort(-dense)] = np.arange(self._size)
            ranks_lex = np.empty(self._size)
            ranks_lex[np.argsort(-lexical_norm)] = np.arange(self._size)
            rrf: NDArray[np.float64] = 1 / (60 + ranks_dense) + 1 / (60 + ranks_lex)
            return rrf
        fused: NDArray[np.float64] = dense.astype(np.float64) + LEXICAL_WEIGHT * lexical_norm
        return fused

    def _confidence(self, hits: tuple[Hit, ...], any_word_known: bool) -> float:
        """How sure the hybrid search is of its first entry: its score and its lead.

        The best fused score mapped onto 0..1 between _SCORE_FLOOR and _SCORE_CEIL, mixed with
        the lead over the runner-up (_MARGIN_FULL counts fully), halved when no word of the
        question occurs in the knowledge base. Answering thresholds are calibrated on it
        (``consultation.calibration``).
        """
        if not hits:
            return 0.0
        best = hits[0]
        runner_up = hits[1] if len(hits) > 1 else None
        lead = best.score - runner_up.score if runner_up is not None else _MARGIN_FULL
        level = (best.score - _SCORE_FLOOR) / (_SCORE_CEIL - _SCORE_FLOOR)
        value = (1 - _MARGIN_SHARE) * _clip(level) + _MARGIN_SHARE * _clip(lead / _MARGIN_FULL)
        if not any_word_known:
            value /= 2
        return _clip(value) if math.isfinite(value) else 0.0

    def _lexical_clear(self, hits: tuple[Hit, ...], text: str) -> bool:
        """Whether the first entry's phrasings hold every content word of the question and
        its BM25 leads clearly (「粗大ごみを出したい」, 「粗大ごみを出すにはどうすれば…」).
        """
        if not hits or hits[0].lexical <= 0:
            return False
        runner_up = hits[1].lexical if len(hits) > 1 else 0.0
        if 1.0 - runner_up < _LEXICAL_CLEAR_LEAD:
            return False
        words = set(lexical_terms(text).words)
        return bool(words) and words <= self._phrasing_words[hits[0].entry_id]

    @staticmethod
    def _lexical_guess(hits: tuple[Hit, ...]) -> float:
        """Without the model: how clearly the best entry leads, kept below _LEXICAL_CEIL.

        Word overlap alone gives the wrong first entry with a clear lead too often (a quarter
        of the questions of the evaluation sets at the old threshold), so it never reaches the
        lexical answering threshold: the assistant offers the candidates instead. It still
        orders the 「もしかして」 list and tells an unknown question (0) from a vague one.
        """
        if not hits or hits[0].lexical <= 0:
            return 0.0
        lead = 1.0 - (hits[1].lexical if len(hits) > 1 else 0.0)
        return _LEXICAL_CEIL * (0.5 + 0.5 * _clip(lead / 0.5))


@lru_cache(maxsize=4096)
def _terms_of_term(term: str) -> LexicalTerms:
    """The terms of a synonym or standard term (a small set, so tokenized once)."""
    return lexical_terms(term)


# Normalising and tokenising (SudachiPy) every text took nearly all of a rebuild's time; an
# edit changes a few texts, so those of the others are kept (pure functions of the text, and
# LexicalTerms is immutable; tens of MB at 5,000 entries).
class _TermMemory:
    """Terms of indexed texts by text, bounded (LRU); filled from the database too."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, LexicalTerms] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> LexicalTerms | None:
        with self._lock:
            terms = self._items.get(text)
            if terms is not None:
                self._items.move_to_end(text)
            return terms

    def put(self, text: str, terms: LexicalTerms) -> None:
        with self._lock:
            self._items[text] = terms
            self._items.move_to_end(text)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_term_memory = _TermMemory(100_000)


def _terms(text: str) -> LexicalTerms:
    terms = _term_memory.get(text)
    if terms is None:
        terms = lexical_terms(text)
        _term_memory.put(text, terms)
    return terms


def terms_known(text: str) -> LexicalTerms | None:
    """The terms of ``text`` if this process worked them out or was given them."""
    return _term_memory.get(text)


def terms_given(text: str, terms: LexicalTerms) -> None:
    """Take ``terms`` as those of ``text`` (read from the database, see ``store``)."""
    _term_memory.put(text, terms)


def terms_of(text: str) -> LexicalTerms:
    """The terms of an indexed text, worked out once per process."""
    return _terms(text)


@dataclass(frozen=True, slots=True)
class _EntryTerms:
    """An entry's terms as the BM25 indexes and the kana restoration take them."""

    kinds: tuple[Counted, ...]  # per kind of term (``_KINDS``)
    spellings: IdArray  # ids of its (reading, written form) pairs, in order (``_spelling_ids``)


_spelling_ids = TermIds()


@lru_cache(maxsize=20_000)
def _entry_terms(texts: tuple[str, ...]) -> _EntryTerms:
    every = [_terms(t) for t in texts]
    kinds = tuple(
        term_ids.counted(w for terms in every for w in getattr(terms, kind)) for kind in _KINDS
    )
    pairs = [f"{kana}\0{surface}" for terms in every for kana, surface in terms.spellings]
    return _EntryTerms(kinds, _spelling_ids.intern(pairs))


def _spellings(entries: Sequence[_EntryTerms]) -> KanaSpellings:
    """The kana spellings of all entries, counted with numpy (200,000 pairs at 5,000 entries)."""
    pairs = np.concatenate([e.spellings for e in entries]) if entries else np.zeros(0, np.int64)
    if not len(pairs):
        return KanaSpellings.from_pairs(())
    distinct, first, counts = np.unique(pairs, return_index=True, return_counts=True)
    order = np.argsort(first)
    return KanaSpellings.from_counts(
        (_pair(_spelling_ids.term(int(distinct[i]))), int(counts[i])) for i in order
    )


def _pair(key: str) -> tuple[str, str]:
    kana, surface = key.split("\0", 1)
    return kana, surface


@lru_cache(maxsize=20_000)
def _phrasing_words(phrasings: tuple[str, ...]) -> frozenset[str]:
    return frozenset(w for p in phrasings for w in _terms(p).words)


def _embedded_phrasings(entry: IndexedEntry) -> tuple[str, ...]:
    """The phrasings the model reads: the question, the alternatives not in English, and the
    first English one (the entry's English question, which the English text puts first).

    English alternatives were 13,000 of the 28,000 phrasings of the 5,000-entry benchmark and
    almost half of the tokens it embedded (19 a phrasing against 17 for Japanese ones); the
    model is multilingual, so an English question still finds them through the English
    question, the Japanese phrasings and the answer, and its English words meet every English
    phrasing in the lexical index (docs/consultation.md has the evaluation before and after).
    """
    english = [a for a in entry.alternatives if _english(a)]
    return (
        entry.question,
        *(a for a in entry.alternatives if a not in english or a == english[0]),
    )


@lru_cache(maxsize=100_000)
def _english(text: str) -> bool:
    return question_language(text) == "en"


@lru_cache(maxsize=100_000)
def _normalized(text: str) -> str:
    return normalize_query(text)


def clear_token_cache() -> None:
    """Forget the terms of indexed texts (a new process starts like this)."""
    _term_memory.clear()
    _entry_terms.cache_clear()
    _phrasing_words.cache_clear()
    _normalized.cache_clear()
    _english.cache_clear()


def _clip(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def _direct(embedder: Embedder) -> VectorSource:
    def embed(texts: Sequence[str], kind: str) -> Vectors:
        if kind == "passage":
            return embedder.embed_passages(texts)
        return embedder.embed_queries(texts)

    return embed
