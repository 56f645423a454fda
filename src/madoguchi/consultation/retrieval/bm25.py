"""BM25 over documents given as arrays of term ids, built with a few numpy operations.

The index used bm25s, which turns every term of every document into an id in Python each time
it indexes: at 5,000 entries that was most of a rebuild after one edit (about 3 s of CPU for
the four kinds of terms). Here each text's terms are turned into ids once
(:data:`term_ids`, process-wide; the ids never change) and an index is counted, weighted and
laid out as a term-major sparse matrix with vectorised numpy, so a rebuild costs tens of
milliseconds. The scores are those of bm25s's default ("lucene": idf ``log(1 + (N - df +
0.5) / (df + 0.5))``, term frequency ``tf / (k1 × (1 - b + b × dl / avgdl) + tf)``, float32
scores, a query term counted as often as it occurs); ``tests/consultation/test_bm25.py``
compares the two.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["Bm25", "Counted", "IdArray", "TermIds", "counted", "term_ids"]

IdArray = NDArray[np.int64]


class TermIds:
    """Terms to integers, for the life of the process (a term keeps its id)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._terms: list[str] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def intern(self, terms: Iterable[str]) -> IdArray:
        """The ids of ``terms`` (new terms get the next free ids, in order)."""
        ids = self._ids
        with self._lock:
            # Ids are dense and given in insertion order, which the dict keeps.
            out = [ids.setdefault(term, len(ids)) for term in terms]
        return np.array(out, dtype=np.int64)

    def counted(self, terms: Iterable[str]) -> Counted:
        """A document's terms as :class:`Bm25` takes them: distinct ids and their counts."""
        counts = Counter(terms)
        return self.intern(counts), np.fromiter(counts.values(), np.int64, len(counts))

    def known(self, terms: Iterable[str]) -> list[int]:
        """The ids of those of ``terms`` that any text indexed so far holds, in order."""
        ids = self._ids
        return [i for term in terms if (i := ids.get(term)) is not None]

    def term(self, term_id: int) -> str:
        with self._lock:
            if len(self._terms) < len(self._ids):
                self._terms.extend(list(self._ids)[len(self._terms) :])
            return self._terms[term_id]


term_ids = TermIds()

Counted = tuple[IdArray, IdArray]  # a document's distinct term ids (ascending) and their counts


def counted(ids: IdArray) -> Counted:
    """A document's term ids as distinct ids and counts (what :class:`Bm25` takes)."""
    distinct, counts = np.unique(ids, return_counts=True)
    return distinct.astype(np.int64), counts.astype(np.int64)


class Bm25:
    """An immutable BM25 index of documents given as :func:`counted` term ids (an empty one
    counts as one term that no question holds, as bm25s's placeholder did)."""

    def __init__(
        self,
        documents: Sequence[Counted],
        *,
        empty: int,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        n_docs = len(documents)
        self.num_docs = n_docs
        placeholder = (np.array([empty], dtype=np.int64), np.ones(1, dtype=np.int64))
        docs = [d if len(d[0]) else placeholder for d in documents]
        if n_docs == 0:
            self._vocab: IdArray = np.zeros(0, dtype=np.int64)
            self._indptr: IdArray = np.zeros(1, dtype=np.int64)
            self._docs: IdArray = np.zeros(0, dtype=np.int64)
            self._data: NDArray[np.float32] = np.zeros(0, dtype=np.float32)
            return
        ids = np.concatenate([d[0] for d in docs])
        tf = np.concatenate([d[1] for d in docs]).astype(np.float64)
        sizes = np.array([len(d[0]) for d in docs], dtype=np.int64)
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), sizes)
        lengths = np.add.reduceat(tf, np.r_[0, np.cumsum(sizes)[:-1]])
        # Term-major: one sort of the (term, document) pairs, each pair once per document.
        order = np.argsort(ids * n_docs + doc_of)
        ids, tf, doc = ids[order], tf[order], doc_of[order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        df = np.diff(np.r_[starts, len(ids)])
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        saturation = tf / (k1 * ((1 - b) + b * lengths[doc] / lengths.mean()) + tf)
        self._vocab = ids[starts]
        self._indptr = np.r_[starts, len(ids)].astype(np.int64)
        self._docs = doc
        self._data = (np.repeat(idf, df).astype(np.float64) * saturation).astype(np.float32)

    def columns(self, ids: Sequence[int]) -> list[int]:
        """The columns of the ids this index holds, in order, duplicates kept."""
        if not ids or not len(self._vocab):
            return []
        wanted = np.asarray(ids, dtype=np.int64)
        places = np.minimum(np.searchsorted(self._vocab, wanted), len(self._vocab) - 1)
        return [int(p) for p, hit in zip(places, self._vocab[places] == wanted, strict=True) if hit]

    def scores(self, ids: Sequence[int]) -> NDArray[np.float32]:
        """The BM25 score of every document for a query of these term ids."""
        out = np.zeros(self.num_docs, dtype=np.float32)
        for column in self.columns(ids):
            start, end = self._indptr[column], self._indptr[column + 1]
            # A document occurs once per column, so plain fancy-index addition is exact.
            out[self._docs[start:end]] += self._data[start:end]
        return out
