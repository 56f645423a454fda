"""Choosing the BM25 library: bm25s against tantivy on the same SudachiPy tokens.

    .venv/bin/python -m bench.consultation_lexical [--entries 5000]

Prints index build time and per-question latency at ``--entries`` (the demo FAQ repeated for
districts, as in consultation_benchmark), and lexical top-1 on the evaluation set over the
68-entry demo FAQ. tantivy is not a dependency of the product; the comparison runs when it is
installed (``pip install tantivy``) and is skipped otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
django.setup()

import bm25s  # noqa: E402

from bench.consultation_benchmark import knowledge_base, percentile  # noqa: E402
from madoguchi.consultation.evaluation import demo_index_entries, load_queries  # noqa: E402
from madoguchi.consultation.retrieval.index import IndexedEntry  # noqa: E402
from madoguchi.consultation.retrieval.text import content_tokens  # noqa: E402


def documents(entries: list[IndexedEntry]) -> list[list[str]]:
    docs = []
    for entry in entries:
        tokens = [t for p in entry.phrasings for t in content_tokens(p)]
        docs.append(tokens + content_tokens(entry.answer) or [""])
    return docs


class Bm25s:
    name = "bm25s"

    def __init__(self, docs: list[list[str]]) -> None:
        self.model: Any = bm25s.BM25(k1=1.2, b=0.75)
        self.model.index(docs, show_progress=False)

    def top(self, tokens: list[str]) -> int:
        known = [t for t in tokens if t in self.model.vocab_dict]
        if not known:
            return -1
        return int(self.model.get_scores(known).argmax())


class Tantivy:
    name = "tantivy"

    def __init__(self, docs: list[list[str]]) -> None:
        import tantivy

        self.tantivy: Any = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("id", stored=True, indexed=True)
        builder.add_text_field("body", tokenizer_name="whitespace")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        writer = self.index.writer(heap_size=50_000_000, num_threads=1)
        for number, tokens in enumerate(docs):
            writer.add_document(tantivy.Document(id=number, body=" ".join(tokens)))
        writer.commit()
        self.index.reload()
        self.searcher = self.index.searcher()

    def top(self, tokens: list[str]) -> int:
        if not tokens:
            return -1
        query = self.tantivy.Query.boolean_query(
            [
                (self.tantivy.Occur.Should, self.tantivy.Query.term_query(self.schema, "body", t))
                for t in tokens
            ]
        )
        hits = self.searcher.search(query, 1).hits
        if not hits:
            return -1
        return int(self.searcher.doc(hits[0][1])["id"][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    args = parser.parse_args()
    engines: list[type[Bm25s] | type[Tantivy]] = [Bm25s]
    try:
        import tantivy  # noqa: F401

        engines.append(Tantivy)
    except ImportError:
        print("tantivy is not installed: comparing nothing but bm25s")

    large = documents(knowledge_base(args.entries))
    small_entries, codes = demo_index_entries()
    small = documents(small_entries)
    evaluation = load_queries(
        Path(__file__).resolve().parent.parent / "tests/consultation/evaluation.tsv"
    )
    in_scope = [q for q in evaluation if q.expected != "-"]
    question_tokens = [content_tokens(q.text) for q in in_scope]
    for engine in engines:
        started = time.perf_counter()
        built = engine(large)
        build = time.perf_counter() - started
        latencies = []
        for tokens in question_tokens:
            started = time.perf_counter()
            built.top(tokens)
            latencies.append((time.perf_counter() - started) * 1000)
        accurate = engine(small)
        correct = sum(
            accurate.top(tokens) >= 0 and codes[accurate.top(tokens) + 1] == q.expected
            for q, tokens in zip(in_scope, question_tokens, strict=True)
        )
        print(
            f"{engine.name:<8} build {build:.2f} s at {args.entries} entries;"
            f" query p50 {statistics.median(latencies):.2f} ms,"
            f" p95 {percentile(latencies, 0.95):.2f} ms;"
            f" lexical top-1 on the evaluation set {correct / len(in_scope):.1%}"
        )


if __name__ == "__main__":
    main()
