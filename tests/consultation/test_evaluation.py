"""The evaluation sets and the command that reports on them."""

from __future__ import annotations

from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from madoguchi.consultation.demo_data import DEMO_PROFILES, demo_faq_rows
from madoguchi.consultation.evaluation import (
    OUT_OF_SCOPE,
    EvalQuery,
    Found,
    baseline_run,
    csv_set,
    demo_set,
    load_queries,
    retrieval_run,
    tally,
)
from madoguchi.consultation.models import FaqEntry
from madoguchi.consultation.retrieval.embedding import embedders
from madoguchi.consultation.retrieval.text import normalize_query
from tests.isolation import Tenant

HERE = Path(__file__).parent
SET = HERE / "evaluation.tsv"
SECOND_FAQ = HERE / "data" / "higashihama_faq.csv"
SECOND_QUESTIONS = HERE / "data" / "higashihama_questions.tsv"
HEADER = "管理番号,分類,担当部署コード,質問,言い換え,回答,掲載開始日,掲載終了日,公開\n"


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


def test_the_second_set_covers_a_whole_faq_in_every_kind_of_wording() -> None:
    """At least 60 entries and 300 questions, every kind in both halves, no copied phrasing."""
    second = csv_set("second", SECOND_FAQ, SECOND_QUESTIONS)
    assert len(second.entries) >= 60
    assert len(set(second.codes.values())) == len(second.entries)
    assert len(second.queries) >= 300
    assert {q.expected for q in second.queries if q.in_scope} == set(second.codes.values())
    kinds = Counter((q.kind, q.half) for q in second.queries)
    for kind in ("para", "colloq", "typo", "long", "polite", "syn", "out"):
        assert kinds[(kind, "dev")] >= 10, kind
        assert kinds[(kind, "held-out")] >= 10, kind
    faq_texts = {normalize_query(t) for e in second.entries for t in e.phrasings}
    assert not [q.text for q in second.queries if normalize_query(q.text) in faq_texts]
    assert len({q.text for q in second.queries}) == len(second.queries)


def test_the_second_faq_imports_with_the_import_command(tenant_a: Tenant) -> None:
    out = StringIO()
    call_command("consultation", "import", "kobe", str(SECOND_FAQ), stdout=out)
    assert out.getvalue().strip() == "created 73, updated 0, unchanged 0"
    stored = FaqEntry.objects.get(municipality=tenant_a.municipality, code="sodai-gomi")
    assert stored.question == "粗大ごみの出し方"
    assert stored.alternatives == ["大型ごみの申込み"]


def _found(expected: str, codes: tuple[str, ...], confidence: float, kind: str = "para") -> Found:
    return Found(EvalQuery(expected, kind, "q", "dev"), codes, confidence)


def test_a_tally_counts_confident_mistakes_and_refusals_at_the_threshold() -> None:
    found = [
        _found("a", ("a", "b"), 0.9),  # right, answered
        _found("a", ("b", "a"), 0.7),  # wrong first, answered: confidently wrong
        _found("a", ("b", "a"), 0.3),  # wrong first, asked: not confidently wrong
        _found("a", ("c", "d", "e"), 0.5),  # at the threshold counts as answered
        _found(OUT_OF_SCOPE, ("a",), 0.2, "out"),  # refused
        _found(OUT_OF_SCOPE, ("a",), 0.6, "out"),  # answered: confidently wrong
    ]
    t = tally(found, threshold=0.5)
    assert (t.questions, t.in_scope, t.top1, t.top3) == (6, 4, 1, 3)
    assert (t.answered, t.answered_right, t.confident_wrong) == (3, 1, 3)
    assert (t.out_of_scope, t.refused) == (2, 1)
    assert t.rate(t.confident_wrong, of_all=True) == 0.5


def test_the_command_reports_both_sets_by_half_and_kind() -> None:
    out = StringIO()
    call_command("consultation", "evaluate", "--lexical-only", stdout=out)
    text = out.getvalue()
    assert "== set demo: demo FAQ (神戸市)" in text
    assert "== set second: tests/consultation/data/higashihama_faq.csv, 73 entries;" in text
    for method in ("retrieval (lexical, fused)", "character-bigram baseline"):
        assert text.count(f"{method} ") >= 4  # two halves of two sets
    assert "confidently wrong" in text
    assert "out-of-scope refused" in text
    rows = [line.split() for line in text.splitlines()]
    second_kinds = [r[0] for r in rows if r and r[0] in {"colloq", "long"}]
    assert second_kinds == ["colloq", "long", "colloq", "long"]  # both halves of the second set
    assert any(r[:2] == ["held-out", "all"] for r in rows)


def test_the_command_evaluates_any_faq_csv_with_its_questions(tmp_path: Path) -> None:
    faq = tmp_path / "town.csv"
    faq.write_text(
        HEADER + "gomi,ごみ,,ごみの収集日,,燃えるごみは月曜と木曜です。,,,1\n"
        "juminhyo,証明,,住民票の取り方,,市民課で1通300円です。,,,1\n",
        encoding="utf-8",
    )
    questions = tmp_path / "town.tsv"
    questions.write_text(
        "gomi\tpara\tごみの収集日を教えて\njuminhyo\tpara\t住民票の取り方\n", encoding="utf-8"
    )
    out = StringIO()
    call_command(
        "consultation", "evaluate", "--faq", str(faq), "--questions", str(questions),
        "--lexical-only", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "== set town: " in text
    assert "2 entries; 2 questions (2 in scope)" in text
    assert "retrieval (lexical, fused)           dev          1  100.0%  100.0%" in text
    assert "retrieval (lexical, fused)           held-out     1  100.0%  100.0%" in text


def test_bad_evaluation_input_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--faq and --questions go together"):
        call_command("consultation", "evaluate", "--faq", str(SECOND_FAQ))
    with pytest.raises(CommandError, match=r"missing\.tsv not found"):
        call_command("consultation", "evaluate", "--set", "demo", "--file", "missing.tsv")
    broken = tmp_path / "broken.tsv"
    broken.write_text("gomi-sodai\tpara\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"broken\.tsv:1: expected"):
        call_command("consultation", "evaluate", "--set", "demo", "--file", str(broken))
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("no-such-entry\tpara\tごみ\n", encoding="utf-8")
    with pytest.raises(CommandError, match="codes the FAQ lacks: no-such-entry"):
        call_command("consultation", "evaluate", "--set", "demo", "--file", str(unknown))
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(HEADER + "bad code,ごみ,,q,,a,,,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="2行目：管理番号は60文字以内"):
        call_command("consultation", "evaluate", "--faq", str(csv_file), "--questions", str(SET))


@pytest.mark.slow
def test_hybrid_retrieval_meets_the_quality_bar() -> None:
    """Top-1 at least 85 % on both halves of the demo set, clearly above the bigram baseline."""
    embedder = embedders.get("e5")
    assert embedder is not None
    demo = demo_set(SET)
    ours = retrieval_run(demo, embedder=embedder)
    baseline = baseline_run(demo)
    for half in ("dev", "held-out"):
        t = tally([f for f in ours.found if f.query.half == half], threshold=0.5)
        b = tally([f for f in baseline.found if f.query.half == half], threshold=0.5)
        assert t.rate(t.top1) >= 0.85, (half, t.rate(t.top1))
        assert t.rate(t.top1) >= b.rate(b.top1) + 0.10, (half, b.rate(b.top1))
        assert t.refused == t.out_of_scope
