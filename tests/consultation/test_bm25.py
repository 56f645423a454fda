"""The index's own BM25 gives bm25s's scores, and a rebuild after an edit re-reads one text."""

from __future__ import annotations

import random
from collections.abc import Iterable

import bm25s
import numpy as np
import pytest
from numpy.typing import NDArray

from madoguchi.consultation.demo_data import DEMO_SYNONYMS
from madoguchi.consultation.evaluation import demo_index_entries
from madoguchi.consultation.retrieval import index as index_module
from madoguchi.consultation.retrieval.bm25 import Bm25, TermIds, counted
from madoguchi.consultation.retrieval.index import IndexedEntry, KnowledgeIndex
from madoguchi.consultation.retrieval.text import SynonymTable

WORDS = [f"w{n}" for n in range(40)]


def _bm25s_scores(documents: list[list[str]], query: list[str]) -> NDArray[np.float32]:
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index([d or [""] for d in documents], show_progress=False)
    known = [t for t in query if t in model.vocab_dict]
    if not known:
        return np.zeros(len(documents), dtype=np.float32)
    return np.asarray(model.get_scores(known), dtype=np.float32)


@pytest.mark.parametrize("seed", range(6))
def test_scores_are_those_of_bm25s(seed: int) -> None:
    rng = random.Random(seed)
    documents = [
        [rng.choice(WORDS[: rng.randint(3, 40)]) for _ in range(rng.choice([0, 1, 3, 12, 40]))]
        for _ in range(rng.randint(1, 60))
    ]
    ids = TermIds()
    index = Bm25([counted(ids.intern(d)) for d in documents], empty=int(ids.intern([""])[0]))
    for _ in range(20):
        # Duplicates count twice, unknown words count nothing (as in bm25s).
        query = [rng.choice([*WORDS, "unknown"]) for _ in range(rng.randint(1, 6))]
        expected = _bm25s_scores(documents, query)
        got = index.scores(ids.known(query))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_an_index_of_nothing_scores_nothing() -> None:
    ids = TermIds()
    index = Bm25([], empty=int(ids.intern([""])[0]))
    assert index.scores(ids.known(["a"])).shape == (0,)


def test_the_demo_faq_ranks_as_with_bm25s() -> None:
    entries, _codes = demo_index_entries()
    index = KnowledgeIndex(
        entries=entries, synonyms=SynonymTable.from_groups(DEMO_SYNONYMS), embedder=None
    )
    documents = []
    for entry in entries:
        terms = index_module.LexicalTerms()
        for text in (*entry.phrasings, entry.answer):
            terms += index_module.lexical_terms(text)
        documents.append(list(terms.words))
    for question in ["粗大ごみを出したい", "住民票の写しがほしい", "マイナンバーカードをなくした"]:
        words = index_module.lexical_terms(question).words
        expected = _bm25s_scores(documents, list(words))
        np.testing.assert_allclose(
            index._kind_scores("words", words), expected, rtol=1e-6, atol=1e-7
        )


def test_a_rebuild_after_one_edit_reads_the_terms_of_that_entry_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bm25s turned every term of every entry into an id again on each rebuild (about 3 s of
    CPU at 5,000 entries); now only the edited entry's terms are looked up."""
    entries = [
        IndexedEntry(id=1, question="粗大ごみの出し方", answer="粗大ごみは申込制です。"),
        IndexedEntry(id=2, question="住民票の写しの取り方", answer="窓口かコンビニで取れます。"),
    ]
    index_module.clear_token_cache()
    KnowledgeIndex(entries=entries, synonyms=SynonymTable(), embedder=None)
    interned: list[list[str]] = []
    real = index_module.term_ids.intern

    def counting(terms: Iterable[str]) -> NDArray[np.int64]:
        batch = list(terms)
        interned.append(batch)
        return real(batch)

    monkeypatch.setattr(index_module.term_ids, "intern", counting)
    edited = IndexedEntry(id=2, question="住民票の写しの取り方", answer="窓口で取れます。")

    rebuilt = KnowledgeIndex(entries=[entries[0], edited], synonyms=SynonymTable(), embedder=None)

    changed = index_module.lexical_terms("住民票の写しの取り方") + index_module.lexical_terms(
        "窓口で取れます。"
    )
    assert {t for batch in interned for t in batch} == {
        "",
        *changed.words,
        *changed.readings,
        *changed.synonyms,
        *changed.grams,
    }
    best = rebuilt.search("窓口で取れます").best
    assert best is not None
    assert best.entry_id == 2
