"""``bench diarization`` with stand-in diarizers defined here: a perfect one that answers with
the reference turns, and one that hears a single speaker throughout."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import diarization
from bench.__main__ import BENCHMARKS
from bench.diarization import (
    contract_problems,
    diarize_items,
    emit_summaries,
    emit_targets,
    in_child,
    in_process,
)
from bench.speakers import Item
from bench.speakers.audio import SAMPLE_RATE


@dataclass(frozen=True)
class Turn:
    start_ms: int
    end_ms: int
    speaker: int


def one_speaker(
    audio: np.ndarray, *, speakers: int | None = None, encoder: object = None
) -> list[Turn]:
    """Everything one speaker: what a diarizer that cannot tell voices apart would say."""
    return [Turn(0, int(len(audio) * 1000 / SAMPLE_RATE), 0)]


CHUNK_S = 20.0  # read by the chunked measurement, as it reads mina.speakers.diarize's
chunk_sizes: list[int] = []


def diarize_chunks(
    chunks: Iterable[np.ndarray], *, speakers: int | None = None, encoder: object = None
) -> list[Turn]:
    """``one_speaker`` over audio that arrives in chunks."""
    total = 0
    for chunk in chunks:
        chunk_sizes.append(len(chunk))
        total += len(chunk)
    return [Turn(0, int(total * 1000 / SAMPLE_RATE), 0)]


def broken(audio: np.ndarray, *, speakers: int | None = None, encoder: object = None) -> list[Turn]:
    raise RuntimeError("no model here")


def perfect(items: list[Item]) -> Callable[..., list[Turn]]:
    """A diarizer that knows every item by its samples and answers with its reference turns."""
    by_audio = {_digest(item.audio()): item for item in items}

    def diarize(
        audio: np.ndarray, *, speakers: int | None = None, encoder: object = None
    ) -> list[Turn]:
        item = by_audio[_digest(audio)]
        numbers: dict[str, int] = {}
        return [
            Turn(
                round(t.start_s * 1000),
                round(t.end_s * 1000),
                numbers.setdefault(t.speaker, len(numbers)),
            )
            for t in item.turns
        ]

    return diarize


def _digest(audio: np.ndarray) -> str:
    return hashlib.sha256(audio.tobytes()).hexdigest()


def test_registered_as_a_benchmark() -> None:
    assert "diarization" in BENCHMARKS


def test_perfect_diarizer_scores_zero(
    speaker_items: list[Item], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = diarize_items(speaker_items, in_process(perfect(speaker_items)), tmp_path)
    assert len(results) == 2 * len(speaker_items)
    for result in results:
        assert result.score.der == pytest.approx(0, abs=1e-9), result.name
        assert result.score.speaker_count_error == 0
        overlapping = result.kind == "real"  # the AMI annotation has overlapping turns
        assert bool(result.problems) == overlapping, (result.name, result.problems)
    out = capsys.readouterr().out
    assert "with the right count given" in out and "count left to the diarizer" in out
    assert "mix2_jfk_FEE078" in out and "   0.0%" in out


def test_one_speaker_diarizer_in_a_child_process(
    speaker_items: list[Item], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = next(i for i in speaker_items if i.name == "mix2_jfk_FEE078")
    measure = in_child(f"{__name__}:one_speaker", timeout_s=120)
    results = diarize_items([item], measure, tmp_path)
    for result in results:
        assert not result.failed
        assert result.score.hypothesis_speakers == 1
        assert result.score.speaker_count_error == -1
        # every pause is false alarm, the speaker who is not mapped is all confusion
        assert 0.3 < result.score.der < 0.8
        assert result.score.missed_s == 0 and result.score.false_alarm_s > 0
        assert result.measurement.peak_rss_mb > 10
        assert result.measurement.before_rss_mb <= result.measurement.peak_rss_mb
        assert result.measurement.cpu_s >= 0 and result.cpu_s_per_min >= 0
        assert result.problems == ()
    emit_summaries(results)
    figures = emit_targets(results, [])
    out = capsys.readouterr().out
    assert "tuning, mix" in out and "count right 0/1" in out
    assert "target <= 10%: NOT met" in out
    assert "two hours: not measured" in out
    assert figures["clear_voices_hint_tuning"] == pytest.approx(results[0].score.der)


def test_a_failing_diarizer_is_reported_not_fatal(
    speaker_items: list[Item], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = next(i for i in speaker_items if i.name == "ami_dev00")
    results = diarize_items(
        [item], in_child(f"{__name__}:broken", timeout_s=120), tmp_path, ["auto"]
    )
    assert results[0].failed
    assert "no model here" in results[0].measurement.error
    emit_summaries(results)
    assert "failed: exit 1: RuntimeError: no model here" in capsys.readouterr().out


def test_contract_problems() -> None:
    assert contract_problems([(0, 1000, 0), (1000, 2000, 1), (2500, 3000, 0)], 3.0) == []
    assert contract_problems([(0, 1000, 1), (1000, 2000, 0)], 3.0) == [
        "speakers not numbered 0..N-1 by first appearance"
    ]
    assert "turns overlap or are out of order" in contract_problems(
        [(0, 1500, 0), (1000, 2000, 1)], 3.0
    )
    assert "turn outside the audio" in contract_problems([(0, 4000, 0)], 3.0)
    assert "empty turn" in contract_problems([(1000, 1000, 0)], 3.0)


def test_long_meetings_report_time_and_memory(
    speaker_items: list[Item],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench.speakers import long

    original = long.write_long_meeting

    def short(path: Path, *, minutes: float, pools: Any, seed: int) -> Any:
        return original(path, minutes=minutes / 60, pools=pools, seed=seed)  # 1 and 2 minutes

    monkeypatch.setattr(long, "write_long_meeting", short)
    results = diarization.diarize_long(in_process(one_speaker), tmp_path)
    assert [r.score.reference_speakers for r in results] == [3, 4]
    assert all(r.measurement.cpu_s >= 0 for r in results)
    out = capsys.readouterr().out
    assert "long_1min_3spk" in out and "peak RSS" in out
    assert list(tmp_path.iterdir()) == []  # the long audio does not stay behind


def test_long_meetings_can_be_read_in_chunks(speaker_items: list[Item], tmp_path: Path) -> None:
    item = next(i for i in speaker_items if i.name == "espeak2_budget_call")  # about 2 min
    path = tmp_path / "audio.pcm"
    item.pcm.astype("<i2").tofile(path)
    chunked = in_child(f"{__name__}:one_speaker", chunked=True, timeout_s=120)(path, None)
    assert chunked.how == "chunks"
    assert chunked.turns == [(0, int(item.duration_s * 1000), 0)]
    whole = in_child(f"{__name__}:one_speaker", timeout_s=120)(path, None)
    assert whole.how == "whole" and whole.turns == chunked.turns
    assert list(diarization.read_chunks(path, CHUNK_S))[0].size == CHUNK_S * SAMPLE_RATE


def test_run_says_so_when_the_diarizer_is_missing(
    speaker_items: list[Item], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BENCH_DIARIZER", "mina.no_such_package.diarize:diarize")
    monkeypatch.setenv("BENCH_DIARIZATION_SPLIT", "evaluation")
    diarization.run()
    out = capsys.readouterr().out
    assert "mina.no_such_package.diarize is not there yet" in out
    assert "ami_dev01" in out and "ami_dev00" not in out  # the material of that split


def test_run_writes_its_figures(
    speaker_items: list[Item],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BENCH_DIARIZER", f"{__name__}:one_speaker")
    monkeypatch.setenv("BENCH_DIARIZATION_SPLIT", "tuning")
    monkeypatch.setattr(diarization, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(
        diarization,
        "load_items",
        lambda split: [
            i
            for i in speaker_items
            if i.split == split and i.name in ("ami_dev00", "mix2_jfk_MEO069")
        ],
    )
    diarization.run()
    document = json.loads(next(tmp_path.glob("diarization-*.json")).read_text())
    assert document["diarizer"] == f"{__name__}:one_speaker"
    assert {r["name"] for r in document["results"]} == {"ami_dev00", "mix2_jfk_MEO069"}
    assert {r["mode"] for r in document["results"]} == {"hint", "auto"}
    assert all(r["found_speakers"] == 1 for r in document["results"])
    out = capsys.readouterr().out
    assert "real two-person conversation (ami_dev00)" in out


def test_live_labels_as_a_diarizer(speaker_items: list[Item], tmp_path: Path) -> None:
    """``bench.live_speakers`` scores the labels a live recording shows, with the real voice
    encoder, on a mix of two people: two speakers, keeping diarize's promise."""
    item = next(i for i in speaker_items if i.name == "mix2_jfk_FEE078")
    (result,) = diarize_items(
        [item], in_child("bench.live_speakers:diarize", timeout_s=120), tmp_path, ["auto"]
    )
    assert not result.failed and result.problems == ()
    assert result.score.hypothesis_speakers == 2
    assert result.score.der < 0.25, result.score  # one speaker throughout: over 0.3
