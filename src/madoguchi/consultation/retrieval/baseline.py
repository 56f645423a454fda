"""A character-bigram baseline: TF-IDF cosine over the bigrams of the normalised text."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from madoguchi.consultation.retrieval.index import IndexedEntry
from madoguchi.consultation.retrieval.text import normalize_query

__all__ = ["BigramBaseline"]


def _bigrams(text: str) -> Counter[str]:
    chars = normalize_query(text).replace(" ", "")
    if len(chars) < 2:
        return Counter([chars]) if chars else Counter()
    return Counter(chars[i : i + 2] for i in range(len(chars) - 1))


class BigramBaseline:
    """What a plain substring-style search would find, for comparison."""

    def __init__(self, entries: Sequence[IndexedEntry]) -> None:
        self.ids = [e.id for e in entries]
        grams = [_bigrams(" ".join(e.phrasings)) for e in entries]
        frequency: Counter[str] = Counter()
        for counts in grams:
            frequency.update(counts.keys())
        n = len(entries)
        self._idf = {g: math.log((n + 1) / (df + 1)) + 1 for g, df in frequency.items()}
        self._vectors = [self._weigh(counts) for counts in grams]

    def _weigh(self, counts: Counter[str]) -> dict[str, float]:
        vector = {g: c * self._idf.get(g, 0.0) for g, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {g: v / norm for g, v in vector.items()}

    def search(self, text: str, limit: int = 3) -> list[int]:
        query = self._weigh(_bigrams(text))
        scored = [
            (sum(w * vector.get(g, 0.0) for g, w in query.items()), entry_id)
            for entry_id, vector in zip(self.ids, self._vectors, strict=True)
        ]
        scored.sort(key=lambda pair: -pair[0])
        return [entry_id for score, entry_id in scored[:limit] if score > 0]
