"""Top-1/top-3 accuracy of the retrieval on a set of resident-style questions.

The set (``tests/consultation/evaluation.tsv``) names the demo FAQ entry each question should
reach; rows alternate between a development half and a held-out half, and both are reported.
The demo FAQ of 神戸市 is indexed straight from the package data, so no database is needed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from madoguchi.consultation.demo_data import DEMO_PROFILES, DEMO_SYNONYMS, demo_faq_rows
from madoguchi.consultation.retrieval.baseline import BigramBaseline
from madoguchi.consultation.retrieval.embedding import Embedder
from madoguchi.consultation.retrieval.index import Fusion, IndexedEntry, KnowledgeIndex
from madoguchi.consultation.retrieval.text import SynonymTable

__all__ = ["EvalQuery", "Score", "evaluate", "load_queries"]

OUT_OF_SCOPE = "-"


@dataclass(frozen=True, slots=True)
class EvalQuery:
    expected: str
    kind: str
    text: str
    half: str  # "dev" or "held-out"


@dataclass(frozen=True, slots=True)
class Score:
    method: str
    half: str
    total: int
    top1: int
    top3: int
    # out-of-scope questions answered with confidence below the threshold / all of them
    refused: int = 0
    out_of_scope: int = 0
    confident_wrong: int = 0

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.total if self.total else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.total if self.total else 0.0


def load_queries(path: Path) -> list[EvalQuery]:
    """Rows ``expected<TAB>kind<TAB>query``; ``#`` starts a comment."""
    queries: list[EvalQuery] = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expected, kind, text = line.split("\t", 2)
        half = "dev" if len(queries) % 2 == 0 else "held-out"
        queries.append(EvalQuery(expected.strip(), kind.strip(), text.strip(), half))
    return queries


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


def evaluate(
    queries: Sequence[EvalQuery],
    *,
    embedder: Embedder | None,
    fusions: Sequence[Fusion] = (Fusion.FUSED,),
    threshold: float = 0.5,
) -> tuple[list[Score], float]:
    """Scores per method and half (the bigram baseline included) and the index build time."""
    entries, codes = demo_index_entries()
    started = time.perf_counter()
    index = KnowledgeIndex(
        entries=entries, synonyms=SynonymTable.from_groups(DEMO_SYNONYMS), embedder=embedder
    )
    build_seconds = time.perf_counter() - started
    baseline = BigramBaseline(entries)
    scores: list[Score] = []
    for half in ("dev", "held-out"):
        subset = [q for q in queries if q.half == half]
        in_scope = [q for q in subset if q.expected != OUT_OF_SCOPE]
        out = [q for q in subset if q.expected == OUT_OF_SCOPE]
        for fusion in fusions:
            top1 = top3 = wrong = refused = 0
            for q in in_scope:
                result = index.search(q.text, fusion=fusion)
                found = [codes[h.entry_id] for h in result.hits]
                top1 += bool(found) and found[0] == q.expected
                top3 += q.expected in found[:3]
                wrong += bool(found) and found[0] != q.expected and result.confidence >= threshold
            for q in out:
                refused += index.search(q.text, fusion=fusion).confidence < threshold
            name = f"retrieval ({index.mode}, {fusion.value})"
            scores.append(Score(name, half, len(in_scope), top1, top3, refused, len(out), wrong))
        top1 = top3 = 0
        for q in in_scope:
            found = [codes[i] for i in baseline.search(q.text)]
            top1 += bool(found) and found[0] == q.expected
            top3 += q.expected in found[:3]
        scores.append(Score("character-bigram baseline", half, len(in_scope), top1, top3))
    return scores, build_seconds
