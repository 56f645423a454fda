"""How well the assistant finds the right entry, on evaluation sets of resident-style questions.

An evaluation set is a FAQ and questions naming the entry each should reach (or ``-`` when the
FAQ cannot answer it), each with a kind of wording. Rows alternate between a development half
(may be looked at when choosing parameters) and a held-out half (only reported). Two sets ship:

- ``demo``: the demo FAQ of 神戸市 (package data) with ``tests/consultation/evaluation.tsv``;
- ``second``: the FAQ of 東浜市, a fictional city the retrieval was never tuned on, in the CSV
  format of ``madoguchi consultation import`` (``tests/consultation/data/``).

Indexes are built straight from the files, so no database is needed beyond Django's settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from django.utils.translation import gettext as _

from madoguchi.consultation.csvio import decode_csv, parse_rows
from madoguchi.consultation.demo_data import DEMO_PROFILES, DEMO_SYNONYMS, demo_faq_rows
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.retrieval.baseline import BigramBaseline
from madoguchi.consultation.retrieval.embedding import Embedder
from madoguchi.consultation.retrieval.index import Fusion, IndexedEntry, KnowledgeIndex
from madoguchi.consultation.retrieval.text import SynonymTable
from madoguchi.consultation.services import clean_faq_data, faq_data_errors

__all__ = [
    "ALL_KINDS",
    "OUT_OF_SCOPE",
    "EvalQuery",
    "EvalSet",
    "Found",
    "Run",
    "Tally",
    "baseline_run",
    "breakdown",
    "csv_set",
    "demo_index_entries",
    "demo_set",
    "load_queries",
    "retrieval_run",
    "tally",
]

OUT_OF_SCOPE = "-"
ALL_KINDS = "all"
DEMO_QUESTIONS = Path("tests/consultation/evaluation.tsv")
SECOND_FAQ = Path("tests/consultation/data/higashihama_faq.csv")
SECOND_QUESTIONS = Path("tests/consultation/data/higashihama_questions.tsv")


@dataclass(frozen=True, slots=True)
class EvalQuery:
    expected: str
    kind: str
    text: str
    half: str  # "dev" or "held-out"

    @property
    def in_scope(self) -> bool:
        return self.expected != OUT_OF_SCOPE


@dataclass(frozen=True, slots=True)
class EvalSet:
    """A FAQ as the index sees it and the questions asked of it."""

    name: str
    faq: str  # where the entries came from, for the report
    entries: tuple[IndexedEntry, ...]
    codes: dict[int, str]  # entry id -> code
    synonyms: SynonymTable
    queries: tuple[EvalQuery, ...]


@dataclass(frozen=True, slots=True)
class Found:
    """What the search gave for one question: entry codes best first, and the confidence."""

    query: EvalQuery
    codes: tuple[str, ...]
    confidence: float

    @property
    def right(self) -> bool:
        return bool(self.codes) and self.codes[0] == self.query.expected


@dataclass(frozen=True, slots=True)
class Run:
    method: str
    mode: str  # "hybrid", "lexical" or "baseline"
    found: tuple[Found, ...]
    build_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts over some questions at one answering threshold.

    ``confident_wrong`` counts the questions given a wrong first answer with a confidence at or
    above the threshold, out-of-scope ones answered at all included; its rate is over every
    question counted (``questions``), the others over the in-scope ones.
    """

    questions: int = 0
    in_scope: int = 0
    top1: int = 0
    top3: int = 0
    answered: int = 0  # in-scope questions answered (confidence ≥ threshold)
    answered_right: int = 0
    confident_wrong: int = 0
    out_of_scope: int = 0
    refused: int = 0  # out-of-scope questions below the threshold

    def rate(self, count: int, *, of_all: bool = False) -> float:
        total = self.questions if of_all else self.in_scope
        return count / total if total else 0.0


def load_queries(path: Path) -> list[EvalQuery]:
    """Rows ``expected<TAB>kind<TAB>query``; ``#`` starts a comment."""
    queries: list[EvalQuery] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ValueError(f"{path}:{number}: expected 'code<TAB>kind<TAB>question'")
        expected, kind, text = parts
        half = "dev" if len(queries) % 2 == 0 else "held-out"
        queries.append(EvalQuery(expected.strip(), kind.strip(), text.strip(), half))
    return queries


def _checked(
    name: str,
    faq: str,
    rows: Sequence[IndexedEntry],
    codes: dict[int, str],
    synonyms: SynonymTable,
    queries: Sequence[EvalQuery],
) -> EvalSet:
    unknown = sorted({q.expected for q in queries if q.in_scope} - set(codes.values()))
    if unknown:
        raise ValueError(f"{name}: questions name codes the FAQ lacks: {', '.join(unknown[:5])}")
    return EvalSet(name, faq, tuple(rows), codes, synonyms, tuple(queries))


def demo_index_entries() -> tuple[list[IndexedEntry], dict[int, str]]:
    rows = demo_faq_rows(DEMO_PROFILES["kobe"])
    entries = [
        IndexedEntry(
            id=i,
            question=row["question"],
            # English phrasings indexed as the assistant indexes them (selectors).
            alternatives=(
                *row["alternatives"],
                *(p for p in (row["question_en"], *row["alternatives_en"]) if p),
            ),
            answer=row["answer"],
        )
        for i, row in enumerate(rows, start=1)
    ]
    return entries, {i: row["code"] for i, row in enumerate(rows, start=1)}


def demo_set(questions: Path = DEMO_QUESTIONS) -> EvalSet:
    """The demo FAQ of 神戸市 with its synonyms, and ``questions``."""
    entries, codes = demo_index_entries()
    synonyms = SynonymTable.from_groups(DEMO_SYNONYMS)
    return _checked("demo", "demo FAQ (神戸市)", entries, codes, synonyms, load_queries(questions))


def csv_set(name: str, faq: Path, questions: Path) -> EvalSet:
    """A FAQ in the import CSV format (no synonyms, as a new municipality has) and questions.

    Raises ConsultationError listing the broken rows when the CSV would not import.
    """
    rows, errors = parse_rows(decode_csv(faq.read_bytes()))
    cleaned = []
    for line, raw in rows:
        data = clean_faq_data(raw)
        # Departments belong to a municipality; the evaluation has none to check them against.
        for message in faq_data_errors(replace(data, department_code=""), departments={}):
            errors.append(_("%(row)d行目：%(message)s") % {"row": line, "message": message})
        cleaned.append(data)
    if errors:
        raise ConsultationError(ConsultationErrorCode.CSV_INVALID, errors[0], errors)
    entries: list[IndexedEntry] = []
    codes: dict[int, str] = {}
    for i, data in enumerate(cleaned, start=1):
        if not data.is_published or data.code in codes.values():
            continue
        entries.append(IndexedEntry(i, data.question, data.alternatives, data.answer))
        codes[i] = data.code
    return _checked(name, str(faq), entries, codes, SynonymTable(), load_queries(questions))


def retrieval_run(
    eval_set: EvalSet, *, embedder: Embedder | None, fusion: Fusion = Fusion.FUSED
) -> Run:
    """Every question of the set searched as the assistant searches."""
    started = time.perf_counter()
    index = KnowledgeIndex(entries=eval_set.entries, synonyms=eval_set.synonyms, embedder=embedder)
    build = time.perf_counter() - started
    found = []
    for query in eval_set.queries:
        result = index.search(query.text, fusion=fusion)
        codes = tuple(eval_set.codes[h.entry_id] for h in result.hits)
        found.append(Found(query, codes, result.confidence))
    return Run(f"retrieval ({index.mode}, {fusion.value})", index.mode, tuple(found), build)


def baseline_run(eval_set: EvalSet) -> Run:
    """The character-bigram baseline (no confidence: it never refuses)."""
    baseline = BigramBaseline(list(eval_set.entries))
    found = tuple(
        Found(q, tuple(eval_set.codes[i] for i in baseline.search(q.text)), 0.0)
        for q in eval_set.queries
    )
    return Run("character-bigram baseline", "baseline", found)


def tally(found: Iterable[Found], *, threshold: float) -> Tally:
    """Counts over ``found`` when the assistant answers at ``threshold`` or above."""
    t = dict.fromkeys(Tally.__slots__, 0)
    for f in found:
        t["questions"] += 1
        confident = f.confidence >= threshold and bool(f.codes)
        if not f.query.in_scope:
            t["out_of_scope"] += 1
            t["refused"] += not confident
            t["confident_wrong"] += confident
            continue
        t["in_scope"] += 1
        t["top1"] += f.right
        t["top3"] += f.query.expected in f.codes[:3]
        t["answered"] += confident
        t["answered_right"] += confident and f.right
        t["confident_wrong"] += confident and not f.right
    return Tally(**t)


def breakdown(found: Sequence[Found], *, threshold: float) -> dict[tuple[str, str], Tally]:
    """Tallies per (half, kind), with ``ALL_KINDS`` for each half as a whole."""
    kinds = sorted({f.query.kind for f in found}, key=_kind_order)
    table: dict[tuple[str, str], Tally] = {}
    for half in ("dev", "held-out"):
        subset = [f for f in found if f.query.half == half]
        table[(half, ALL_KINDS)] = tally(subset, threshold=threshold)
        for kind in kinds:
            table[(half, kind)] = tally(
                [f for f in subset if f.query.kind == kind], threshold=threshold
            )
    return table


_KIND_ORDER = ("para", "colloq", "typo", "long", "polite", "syn", "plain", "kana", "width")


def _kind_order(kind: str) -> tuple[int, str]:
    if kind == "out":
        return (len(_KIND_ORDER) + 1, kind)
    return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), kind)
