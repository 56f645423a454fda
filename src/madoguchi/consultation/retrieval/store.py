"""The per-process cache of search indexes, one per municipality, and the embedding cache.

A request asks :func:`index_for`; it compares the municipality's knowledge-base version (one
indexed read) with the index it holds and rebuilds under a per-municipality lock when the
version moved. Vectors of phrasings already embedded come from memory or the database, so a
rebuild after one edit embeds one entry, and other app servers reuse what this one computed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Final

import numpy as np
from django.conf import settings

from madoguchi.consultation.models import EmbeddingCache, SynonymGroup, TermCache
from madoguchi.consultation.retrieval.embedding import Embedder, Vectors, embedders
from madoguchi.consultation.retrieval.index import (
    KnowledgeIndex,
    terms_given,
    terms_known,
    terms_of,
)
from madoguchi.consultation.retrieval.text import LexicalTerms, SynonymTable, terms_version
from madoguchi.consultation.selectors import faq_entries_for_index, knowledge_version
from madoguchi.tenants.models import Municipality

__all__ = [
    "cached_vectors",
    "index_for",
    "index_store",
    "terms_prepared_meanwhile",
    "vectors_prepare",
]

logger = logging.getLogger(__name__)

_MEMORY_VECTORS: Final = 60_000
_DB_CHUNK: Final = 500
_EMBED_BATCH: Final = 64


class _VectorMemory:
    """Recently used vectors by (model, digest), bounded."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Vectors | None:
        with self._lock:
            vector = self._items.get(key)
            if vector is not None:
                self._items.move_to_end(key)
            return vector

    def put(self, key: tuple[str, str], vector: Vectors) -> None:
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > _MEMORY_VECTORS:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_memory = _VectorMemory()


def _digest(text: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


def cached_vectors(embedder: Embedder, texts: Sequence[str], kind: str) -> Vectors:
    """Vectors for ``texts``, embedding only those neither in memory nor in the database."""
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    digests = [_digest(text, kind) for text in texts]
    missing: dict[str, list[int]] = {}
    for position, digest in enumerate(digests):
        vector = _memory.get((embedder.name, digest))
        if vector is not None:
            out[position] = vector
        else:
            missing.setdefault(digest, []).append(position)
    wanted = list(missing)
    for start in range(0, len(wanted), _DB_CHUNK):
        chunk = wanted[start : start + _DB_CHUNK]
        rows = EmbeddingCache.objects.filter(model=embedder.name, digest__in=chunk)
        for digest, blob in rows.values_list("digest", "vector"):
            vector = np.frombuffer(bytes(blob), dtype=np.float32)
            if vector.shape != (embedder.dim,):
                continue
            _memory.put((embedder.name, digest), vector)
            for position in missing.pop(digest, []):
                out[position] = vector
    todo = list(missing)
    for start in range(0, len(todo), _EMBED_BATCH):
        chunk = todo[start : start + _EMBED_BATCH]
        batch_texts = [texts[missing[d][0]] for d in chunk]
        if kind == "passage":
            vectors = embedder.embed_passages(batch_texts)
        else:
            vectors = embedder.embed_queries(batch_texts)
        for digest, vector in zip(chunk, vectors, strict=True):
            _memory.put((embedder.name, digest), vector)
            for position in missing[digest]:
                out[position] = vector
        EmbeddingCache.objects.bulk_create(
            [
                EmbeddingCache(model=embedder.name, digest=d, vector=v.astype(np.float32).tobytes())
                for d, v in zip(chunk, vectors, strict=True)
            ],
            ignore_conflicts=True,
        )
    return out


def _uncached(embedder: Embedder, texts: Sequence[str], kind: str) -> list[tuple[str, str]]:
    """(digest, text) of the distinct texts with a vector neither in memory nor in the database."""
    wanted: dict[str, str] = {}
    for text in texts:
        digest = _digest(text, kind)
        if digest not in wanted and _memory.get((embedder.name, digest)) is None:
            wanted[digest] = text
    digests = list(wanted)
    for start in range(0, len(digests), _DB_CHUNK):
        chunk = digests[start : start + _DB_CHUNK]
        rows = EmbeddingCache.objects.filter(model=embedder.name, digest__in=chunk)
        for digest in rows.values_list("digest", flat=True):
            wanted.pop(digest, None)
    return list(wanted.items())


def _embed_chunks(
    embedder: Embedder, chunks: list[tuple[str, list[str]]], threads: int
) -> Iterator[Vectors]:
    """The vectors of each (kind, texts) chunk, in order; on a thread per core when the
    embedder allows it (its unlocked call reads every text as a phrasing, as both kinds are)."""
    unlocked: Callable[[Sequence[str]], Vectors] | None = getattr(embedder, "embed_unlocked", None)
    if unlocked is None or threads <= 1 or len(chunks) <= 1:
        for kind, texts in chunks:
            yield (
                embedder.embed_passages(texts)
                if kind == "passage"
                else embedder.embed_queries(texts)
            )
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="embed") as pool:
        yield from pool.map(unlocked, [texts for _kind, texts in chunks])


def vectors_prepare(
    embedder: Embedder,
    texts: Sequence[tuple[str, str]],
    *,
    progress: Callable[[int, int], None] | None = None,
    threads: int | None = None,
    batch: int = 32,
) -> int:
    """Embed and store the vectors of (text, kind) pairs not cached yet; return how many.

    For index builds, which run in the background: distinct texts only, those already cached
    (in memory or in the database, from any app server) skipped, the rest in batches on
    ``threads`` threads (``MADOGUCHI_CONSULTATION_BUILD_THREADS``), each batch stored as it
    comes. ``progress(done, total)`` is called before the first batch and after each one, with
    ``total`` the distinct texts and ``done`` counting the cached ones from the start.
    """
    threads = settings.CONSULTATION_BUILD_THREADS if threads is None else threads
    by_kind: dict[str, list[str]] = {}
    for text, kind in texts:
        by_kind.setdefault(kind, []).append(text)
    missing = {kind: _uncached(embedder, group, kind) for kind, group in by_kind.items()}
    total = sum(len(dict.fromkeys(group)) for group in by_kind.values())
    done = total - sum(len(m) for m in missing.values())
    if progress is not None:
        progress(done, total)
    # Each kind longest first, in chunks of texts of about the same length: the model pads the
    # texts it reads together to the longest, and the build's mixed chunks of 32 padded 13 % of
    # the tokens at 5,000 entries (characters, not tokens, to avoid tokenising twice; the
    # model groups a chunk's texts by their tokens again). Longest first, the last chunks are
    # the shortest, so no thread is left alone long at the end; both kinds go to one pool.
    chunks: list[tuple[str, list[tuple[str, str]]]] = []
    for kind, pairs in missing.items():
        ordered = sorted(pairs, key=lambda pair: len(pair[1]), reverse=True)
        chunks += [(kind, ordered[at : at + batch]) for at in range(0, len(ordered), batch)]
    vectors_of = _embed_chunks(
        embedder, [(kind, [t for _d, t in chunk]) for kind, chunk in chunks], threads
    )
    for (_kind, chunk), vectors in zip(chunks, vectors_of, strict=True):
        EmbeddingCache.objects.bulk_create(
            [
                EmbeddingCache(model=embedder.name, digest=d, vector=v.astype(np.float32).tobytes())
                for (d, _t), v in zip(chunk, vectors, strict=True)
            ],
            ignore_conflicts=True,
        )
        for (digest, _text), vector in zip(chunk, vectors, strict=True):
            _memory.put((embedder.name, digest), np.asarray(vector, dtype=np.float32))
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return sum(len(m) for m in missing.values())


def _terms_digest(text: str) -> str:
    return hashlib.sha256(f"{terms_version()}\0{text}".encode()).hexdigest()


def _terms_prefetch(texts: Sequence[str]) -> list[str]:
    """Give the index the stored terms of ``texts`` it lacks; return the texts stored nowhere.

    Another app server (or this one after a restart) then indexes without SudachiPy, which
    took about 80 % of building 5,000 entries with the vectors already stored.
    """
    wanted = {_terms_digest(t): t for t in texts if terms_known(t) is None}
    digests = list(wanted)
    for start in range(0, len(digests), _DB_CHUNK):
        chunk = digests[start : start + _DB_CHUNK]
        for digest, stored in TermCache.objects.filter(digest__in=chunk).values_list(
            "digest", "terms"
        ):
            try:
                terms = LexicalTerms.from_json(stored)
            except ValueError:
                continue  # a broken row: worked out again (and left as it is)
            terms_given(wanted.pop(digest), terms)
    return list(wanted.values())


@contextmanager
def terms_prepared_meanwhile(texts: Sequence[str]) -> Iterator[None]:
    """Work out the lexical terms of ``texts`` on a thread while the block runs, then store them.

    An index build from nothing embeds on a thread per core and then tokenised every text with
    SudachiPy on one (14 s of CPU at 5,000 entries), with the other core idle. Begun beside the
    embedding, the terms are ready when the embedding ends, and the index that follows finds
    them in memory. Terms stored by any app server are read, not worked out again; those worked
    out here are stored for the others, as :func:`build_index` does. Only the calling thread
    uses the database.
    """
    unknown = _terms_prefetch(list(dict.fromkeys(texts)))
    stop = threading.Event()

    def work_out() -> None:
        for text in unknown:
            if stop.is_set():  # the block failed: nothing will use them
                return
            terms_of(text)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-terms") as pool:
        worked_out = pool.submit(work_out)
        try:
            yield
        except BaseException:
            stop.set()
            raise
        worked_out.result()
    _terms_store(unknown)


def _terms_store(texts: Sequence[str]) -> None:
    """Store the terms of ``texts`` (worked out by the build just done) for other servers."""
    rows = [TermCache(digest=_terms_digest(t), terms=terms_of(t).to_json()) for t in texts]
    TermCache.objects.bulk_create(rows, batch_size=_DB_CHUNK, ignore_conflicts=True)


class IndexStore:
    """Indexes by municipality id; an index is immutable, so readers need no lock."""

    def __init__(self) -> None:
        self._indexes: dict[int, KnowledgeIndex] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, municipality_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(municipality_id, threading.Lock())

    def get(self, municipality: Municipality) -> KnowledgeIndex:
        embedder = embedders.current()
        version = knowledge_version(municipality=municipality)
        index = self._indexes.get(municipality.pk)
        if index is not None and index.version == version and index.built_for is embedder:
            return index
        with self._lock_for(municipality.pk):
            index = self._indexes.get(municipality.pk)
            if index is not None and index.version == version and index.built_for is embedder:
                return index
            index = build_index(municipality=municipality, version=version, embedder=embedder)
            self._indexes[municipality.pk] = index
            return index

    def clear(self, *, vectors: bool = True) -> None:
        """Forget every index (and, unless told otherwise, the vectors kept in memory)."""
        with self._guard:
            self._indexes.clear()
        if vectors:
            _memory.clear()


def build_index(
    *, municipality: Municipality, version: int, embedder: Embedder | None
) -> KnowledgeIndex:
    """A fresh index of the municipality's published entries and synonyms."""
    entries = faq_entries_for_index(municipality=municipality)
    synonyms = SynonymTable.from_groups(
        g.terms for g in SynonymGroup.objects.filter(municipality=municipality)
    )
    texts = list(dict.fromkeys(t for e in entries for t in (*e.phrasings, e.answer)))
    unknown = _terms_prefetch(texts)
    vectors_for = None
    if embedder is not None:
        bound = embedder

        def vectors_for(texts: Sequence[str], kind: str) -> Vectors:
            return cached_vectors(bound, texts, kind)

    try:
        index = KnowledgeIndex(
            entries=entries,
            synonyms=synonyms,
            embedder=embedder,
            vectors_for=vectors_for,
            version=version,
        )
        _terms_store(unknown)
        return index
    except Exception:
        if embedder is None:
            raise
        # A model that loaded but fails while embedding must not take the assistant down.
        logger.warning("embedding failed while indexing: answering lexically only")
        logger.debug("embedding failure", exc_info=True)
        index = KnowledgeIndex(entries=entries, synonyms=synonyms, embedder=None, version=version)
        index.built_for = embedder
        return index


index_store = IndexStore()


def index_for(municipality: Municipality) -> KnowledgeIndex:
    """The current search index of the municipality's knowledge base."""
    return index_store.get(municipality)
