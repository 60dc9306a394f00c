"""all-mpnet-base-v2's network in numpy, written from Hugging Face's ``MPNetModel`` apart from
``mina/semantic/mpnet.py``'s ONNX graph, for the tests to compare the two (and what
``bench semantic`` measured first: the same vectors)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mina.semantic import mpnet


def _erf(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The error function to 1.5e-7 (Abramowitz and Stegun 7.1.26), for the exact GELU."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
    erf: npt.NDArray[np.float32] = sign * (1.0 - (poly + 0.254829592) * t * np.exp(-x * x))
    return erf


def _layer_norm(x: Any, weight: Any, bias: Any) -> Any:
    centred = x - x.mean(-1, keepdims=True)
    variance = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(variance + mpnet.LAYER_NORM_EPS) * weight + bias


def embed(weights: dict[str, Any], tokenizer: Any, texts: list[str]) -> npt.NDArray[np.float32]:
    """Mean-pooled, unit vectors, one text at a time (no padding)."""
    out = []
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        hidden = hidden_states(weights, ids)[0]
        pooled = hidden.mean(axis=0)
        out.append(pooled / np.linalg.norm(pooled))
    return np.array(out, dtype=np.float32)


def hidden_states(w: dict[str, Any], ids: npt.NDArray[np.int64]) -> Any:
    rows, length = ids.shape
    heads, size = mpnet.HEADS, mpnet.DIMENSIONS // mpnet.HEADS
    positions = np.arange(length)[None, :] + mpnet.PAD_ID + 1
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][positions]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    bias = w["encoder.relative_attention_bias.weight"][mpnet.relative_buckets(length)]
    bias = bias.transpose(2, 0, 1)[None]
    for layer in range(mpnet.LAYERS):
        p = f"encoder.layer.{layer}."

        def dense(z: Any, name: str, p: str = p) -> Any:
            return z @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def split(z: Any) -> Any:
            return z.reshape(rows, length, heads, size).transpose(0, 2, 1, 3)

        q = split(dense(x, "attention.attn.q"))
        k = split(dense(x, "attention.attn.k"))
        v = split(dense(x, "attention.attn.v"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(rows, length, mpnet.DIMENSIONS)
        x = _layer_norm(
            dense(context, "attention.attn.o") + x,
            w[p + "attention.LayerNorm.weight"],
            w[p + "attention.LayerNorm.bias"],
        )
        inner = dense(x, "intermediate.dense")
        inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
        x = _layer_norm(
            dense(inner, "output.dense") + x,
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
        )
    return x
