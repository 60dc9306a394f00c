"""The more accurate embedding model (``MINA_EMBEDDING_MODEL=mpnet``): all-mpnet-base-v2 from its
five installed packages, its checks, and search by meaning and Ask with it end to end on SQLite
and PostgreSQL, next to passages another model made."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.paraphrase import load_meetings, load_questions
from mina.models import Passage, utcnow
from mina.semantic import mpnet
from mina.semantic.model import EmbeddingModelError, load_encoder
from mina.semantic.mpnet import MpnetEncoder
from mina.settings import Settings
from tests import mpnet_reference
from tests.meetingdata import Said, add_meeting, principal_of

ADA = "ada@example.com"


@pytest.fixture(scope="module")
def encoder() -> MpnetEncoder:
    loaded = load_encoder("mpnet")
    assert isinstance(loaded, MpnetEncoder)
    return loaded


def test_vectors_match_the_numpy_network(encoder: MpnetEncoder) -> None:
    """The ONNX graph against the same network written in numpy (tests/mpnet_reference.py),
    one text at a time there, batched with padding here."""
    from tokenizers import Tokenizer

    parts = mpnet.archive_parts()
    weights = mpnet.safetensors(mpnet.read_checked(parts, mpnet.MODEL_MEMBER, mpnet.MODEL_SHA256))
    tokenizer = Tokenizer.from_str(
        mpnet.read_checked(parts, mpnet.TOKENIZER_MEMBER, mpnet.TOKENIZER_SHA256).decode()
    )
    tokenizer.no_padding()  # the file pads to 128 tokens
    texts = [
        "Yes.",
        "We agreed to move hosting to the cheaper provider next quarter.",
        "Priya will send the revised budget to finance by Friday, and Tom checks the numbers.",
    ]
    expected = mpnet_reference.embed(weights, tokenizer, texts)
    cosines = (encoder.embed(texts) * expected).sum(axis=1)
    assert cosines.min() > 0.99999, cosines


def test_shape_dtype_unit_norm_and_order(encoder: MpnetEncoder) -> None:
    texts = ["Yes.", "We agreed to ship on Friday. " * 3, "Who owns the follow-up?"] * 7
    vectors = encoder.embed(texts)
    assert vectors.shape == (21, mpnet.DIMENSIONS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    alone = np.stack([encoder.embed([text])[0] for text in texts[:3]])
    # batched with other lengths (padding) or alone: the same vectors
    np.testing.assert_allclose(vectors[:3], alone, atol=1e-5)
    assert np.array_equal(vectors, encoder.embed(texts))
    assert encoder.embed([]).shape == (0, mpnet.DIMENSIONS)


def test_a_long_text_is_cut_without_error(encoder: MpnetEncoder) -> None:
    long_text = "the quarterly budget review covered hosting costs " * 100
    vectors = encoder.embed([long_text, long_text + " and something else entirely"])
    assert np.isfinite(vectors).all()
    assert float(vectors[0] @ vectors[1]) > 0.9999  # both cut to their first 384 tokens


def test_meaning_outranks_shared_topic(encoder: MpnetEncoder) -> None:
    """A paraphrase is nearer than a sentence on the same subject, which is nearer than an
    unrelated one."""
    question, paraphrase, same_topic, unrelated = encoder.embed(
        [
            "what did we decide about server costs?",
            "We agreed to move hosting to the cheaper provider next quarter.",
            "The servers were slow on Tuesday afternoon.",
            "Someone left their umbrella in the meeting room.",
        ]
    )
    assert question @ paraphrase > question @ same_topic > question @ unrelated
    assert question @ unrelated < 0.2


def test_paraphrase_questions_find_their_lines(encoder: MpnetEncoder) -> None:
    """Questions sharing no content word with their answer, over two meetings' lines: the
    answering line is among the five nearest for most (MiniLM: fewer on the same lines)."""
    meetings = {m.id: m for m in load_meetings() if m.id in ("budget-review", "office-move")}
    lines = [(key, i, s.text) for key, m in meetings.items() for i, s in enumerate(m.segments)]
    vectors = encoder.embed([text for _, _, text in lines])
    questions = [q for q in load_questions() if q.meeting in meetings]
    found = 0
    for q, v in zip(questions, encoder.embed([q.question for q in questions]), strict=True):
        top = np.argsort(-(vectors @ v))[:5]
        found += any(lines[t][0] == q.meeting and lines[t][1] in q.answers for t in top)
    assert found / len(questions) >= 0.5, f"{found} of {len(questions)}"


def test_relative_position_buckets() -> None:
    buckets = mpnet.relative_buckets(300)  # [query position, key position]
    assert buckets[0, 0] == 0
    assert buckets[13, 10] == 3 and buckets[10, 13] == 16 + 3  # earlier keys, then later
    assert buckets[7, 0] == 7 and buckets[8, 0] == 8  # exact below 8, then logarithmic
    assert buckets[20, 0] == 10 and buckets[299, 0] == 15  # 20 away: 10; far: the last one
    assert buckets[0, 299] == 31
    assert (np.diff(buckets[0]) >= 0).all()  # farther never means a nearer bucket


def test_the_parts_read_as_one_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    paths = []
    for n, (start, end) in enumerate([(0, 1000), (1000, 1001), (1001, 10240)]):
        paths.append(tmp_path / f"part{n}")
        paths[-1].write_bytes(data[start:end])
    with mpnet._Joined(paths) as joined:
        assert joined.read() == data
        joined.seek(995)
        assert joined.read(10) == data[995:1005]
        joined.seek(-3, 2)
        assert joined.read() == data[-3:]


def _copied_parts(tmp_path: Path, damage: bool) -> list[Path]:
    parts = []
    for source in mpnet.archive_parts():
        parts.append(tmp_path / source.name)
        shutil.copyfile(source, parts[-1])
    if damage:  # a byte in the middle of the compressed model.safetensors
        with parts[2].open("r+b") as handle:
            handle.seek(1000)
            byte = handle.read(1)
            handle.seek(1000)
            handle.write(bytes([byte[0] ^ 0x01]))
    return parts


def test_a_damaged_archive_is_refused(tmp_path: Path) -> None:
    parts = _copied_parts(tmp_path, damage=True)
    with pytest.raises(EmbeddingModelError, match="reinstall") as error:
        mpnet.read_checked(parts, mpnet.MODEL_MEMBER, mpnet.MODEL_SHA256)
    assert "make install-mpnet" in str(error.value)


def test_a_changed_file_fails_its_integrity_check(tmp_path: Path) -> None:
    parts = _copied_parts(tmp_path, damage=False)
    tokenizer = mpnet.read_checked(parts, mpnet.TOKENIZER_MEMBER, mpnet.TOKENIZER_SHA256)
    archive = tmp_path / "changed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(mpnet.TOKENIZER_MEMBER, tokenizer.replace(b'"<s>"', b'"<S>"'))
    with pytest.raises(EmbeddingModelError, match="failed its integrity check") as error:
        mpnet.read_checked([archive], mpnet.TOKENIZER_MEMBER, mpnet.TOKENIZER_SHA256)
    assert mpnet.TOKENIZER_SHA256 in str(error.value)


def test_a_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mpnet, "PACKAGES", (*mpnet.PACKAGES[:4], "no-such-mpnet-part"))
    with pytest.raises(EmbeddingModelError, match="no-such-mpnet-part") as error:
        MpnetEncoder()
    assert "make install-mpnet" in str(error.value)


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(EmbeddingModelError, match="minilm, mpnet"):
        load_encoder("word2vec")


# end to end: the app and the CLI with MINA_EMBEDDING_MODEL=mpnet


@pytest.fixture
def mpnet_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embedding_model": "mpnet"})


@pytest.fixture
def mpnet_client(mpnet_settings: Settings) -> Any:
    from mina.web.app import create_app

    with TestClient(create_app(mpnet_settings)) as client:
        yield client


def _meeting(db: Session, settings: Settings, key: str) -> Any:
    source = next(m for m in load_meetings() if m.id == key)
    return add_meeting(
        db,
        principal=principal_of(db, ADA),
        audio_dir=settings.audio_dir,
        title=source.title,
        started_at=utcnow(),
        said=[
            Said(s.text, i * 4000, i * 4000 + 3500, s.speaker)
            for i, s in enumerate(source.segments)
        ],
        audio_s=1.0,
    )


def test_search_and_ask_use_the_configured_model_only(
    mpnet_client: TestClient,
    db: Session,
    mpnet_settings: Settings,
    cli_env: dict[str, str],
    ada_token: str,
) -> None:
    """Passages another model made are not searched (their vectors do not compare) until
    ``mina embed --all --missing`` embeds their meetings again with the configured model."""
    from click.testing import CliRunner

    from mina.cli import main
    from mina.semantic.job import embed_meeting_now

    office = _meeting(db, mpnet_settings, "office-move")
    budget = _meeting(db, mpnet_settings, "budget-review")
    embed_meeting_now(db, meeting=office, model="mpnet")
    embed_meeting_now(db, meeting=budget, model="minilm")
    db.commit()
    models = dict(db.execute(select(Passage.meeting_id, Passage.model).distinct()).all())
    assert models == {office.id: "mpnet", budget.id: "minilm"}
    headers = {"Authorization": f"Bearer {ada_token}"}

    def found(question: str) -> set[int]:
        answer = mpnet_client.get(
            "/api/search", params={"q": question, "mode": "semantic"}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return {item["meeting_id"] for item in answer.json()["items"]}

    office_q = next(q for q in load_questions() if q.meeting == "office-move")
    budget_q = next(q for q in load_questions() if q.meeting == "budget-review")
    assert office.id in found(office_q.question)
    assert budget.id not in found(budget_q.question)  # MiniLM's vectors: not searched

    asked = mpnet_client.post("/api/ask", json={"question": office_q.question}, headers=headers)
    assert asked.status_code == 200, asked.text
    citations = asked.json()["citations"]
    assert asked.json()["found"] and citations[0]["meeting_id"] == office.id

    env = {**cli_env, "MINA_EMBEDDING_MODEL": "mpnet"}
    done = CliRunner().invoke(main, ["embed", "--all", "--missing"], env=env)
    assert done.exit_code == 0, done.output
    assert "embedded for 1 meetings" in done.output  # the budget review, not the office move
    db.expire_all()
    models = dict(db.execute(select(Passage.meeting_id, Passage.model).distinct()).all())
    assert models == {office.id: "mpnet", budget.id: "mpnet"}
    assert budget.id in found(budget_q.question)  # the running server caught up
