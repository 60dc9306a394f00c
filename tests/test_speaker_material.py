"""The diarization benchmark's material (``bench/speakers``): files, licences, splits, turns."""

from __future__ import annotations

import hashlib
import re
import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bench.der import SpeakerTurn
from bench.speakers import KINDS, SPLITS, Item
from bench.speakers.audio import SAMPLE_RATE, speech_regions
from bench.speakers.dialogues import DIALOGUES
from bench.speakers.item import LEAD_S
from bench.speakers.long import long_pools, write_long_meeting
from bench.speakers.recorded import CLIPS, CONVERSATIONS, SPEAKERS_DIR, load_mixes

README = SPEAKERS_DIR / "README.md"


def _readme_rows() -> dict[str, list[str]]:
    """The README table: file cell -> the row's cells."""
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0]] = cells
    return rows


def test_every_file_is_listed_with_source_and_licence() -> None:
    rows = _readme_rows()
    listed = set()
    for cell, cells in rows.items():
        names = re.findall(r"`([^`]+)`", cell)
        stem = names[0].removesuffix(".wav")
        listed.add(names[0])
        if "`.rttm`" in cell:
            listed.add(f"{stem}.rttm")
        source, licence = cells[4], cells[5]
        assert "sdist" in source or "same" in source, cell
        assert licence == "CC BY 4.0", cell
    on_disk = {p.name for p in SPEAKERS_DIR.iterdir() if p.name != "README.md"}
    assert on_disk == listed


def test_files_are_16k_mono_pcm_and_a_few_megabytes() -> None:
    total = 0
    for path in sorted(SPEAKERS_DIR.glob("*.wav")):
        with wave.open(str(path), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            length = wav.getnframes() / SAMPLE_RATE
        listed = _readme_rows()[next(c for c in _readme_rows() if path.name in c)][1]
        assert listed == f"{length:.1f} s", path.name
        total += path.stat().st_size
    assert total < 6_000_000


def test_every_clip_and_conversation_exists() -> None:
    for clip in CLIPS:
        assert clip.path.exists(), clip
    for conversation in CONVERSATIONS:
        assert conversation.wav.exists() and conversation.rttm.exists()


def test_clips_of_the_two_splits_share_no_audio() -> None:
    spans: dict[Path, list[tuple[float, float, str]]] = {}
    for clip in CLIPS:
        spans.setdefault(clip.path, []).append((clip.start_s, clip.end_s or 1e9, clip.split))
    for path, parts in spans.items():
        assert len({split for *_, split in parts}) == 1 or all(
            a[1] <= b[0] for a, b in zip(sorted(parts), sorted(parts)[1:], strict=False)
        ), path


def test_items_have_unique_names_and_both_splits_of_each_kind(speaker_items: list[Item]) -> None:
    assert len({item.name for item in speaker_items}) == len(speaker_items)
    for kind in KINDS:
        counts = Counter(item.split for item in speaker_items if item.kind == kind)
        assert set(counts) == set(SPLITS), kind
        assert counts["evaluation"] >= counts["tuning"] / 2, kind  # roughly half held out
    assert {item.speakers for item in speaker_items if item.kind == "mix"} == {2, 3, 4}
    assert {item.speakers for item in speaker_items if item.kind == "espeak"} == {2, 3, 4}


def test_turns_are_sorted_inside_the_audio(speaker_items: list[Item]) -> None:
    for item in speaker_items:
        turns = list(item.turns)
        assert turns, item.name
        assert turns == sorted(turns, key=lambda t: (t.start_s, t.end_s)), item.name
        assert all(0 <= t.start_s < t.end_s for t in turns), item.name
        assert turns[-1].end_s <= item.duration_s + 1e-6, item.name
        assert item.pcm.dtype == np.int16 and item.audio().dtype == np.float32


def test_assembled_items_have_no_overlap_and_their_audio_fits_their_turns(
    speaker_items: list[Item],
) -> None:
    for item in speaker_items:
        if item.kind == "real":
            continue
        turns = item.turns
        assert all(a.end_s <= b.start_s for a, b in zip(turns, turns[1:], strict=False))
        assert turns[0].start_s == pytest.approx(LEAD_S, abs=0.01), item.name
        assert item.duration_s - turns[-1].end_s == pytest.approx(LEAD_S, abs=0.01), item.name


def test_speakers_take_turns_of_two_to_fifteen_seconds(speaker_items: list[Item]) -> None:
    for item in speaker_items:
        if item.kind != "mix":
            continue
        stretches = _stretches(item.turns)
        floors = Counter(speaker for *_, speaker in stretches)
        assert min(floors.values()) >= 2, item.name  # back and forth, not one after the other
        for start, end, _ in stretches:
            assert 2 <= end - start <= 15, (item.name, start, end)


def test_reference_turns_are_where_the_speech_is(speaker_items: list[Item]) -> None:
    for item in speaker_items:
        if item.kind == "real":
            continue
        inside = np.zeros(len(item.pcm), dtype=bool)
        for t in item.turns:
            inside[int(t.start_s * SAMPLE_RATE) : int(t.end_s * SAMPLE_RATE)] = True
        level = item.pcm.astype(np.float64) ** 2
        assert level[~inside].mean() < level[inside].mean() / 100, item.name  # 20 dB quieter
        found = speech_regions(item.pcm)
        covered = sum(e - s for s, e in found)
        assert covered == pytest.approx(item.speech_s, rel=0.1), item.name


def test_real_conversations_keep_their_annotation(speaker_items: list[Item]) -> None:
    dev00 = next(item for item in speaker_items if item.name == "ami_dev00")
    assert dev00.turns[0] == SpeakerTurn(1.44, 13.312, "MEE009")
    assert dev00.duration_s == pytest.approx(30.0, abs=0.01)
    tst00 = next(item for item in speaker_items if item.name == "ami_tst00")
    assert tst00.speakers == 4
    assert tst00.speech_s > tst00.duration_s  # overlapping speech, counted per speaker


def test_dialogues_have_a_same_gender_pair_in_each_split() -> None:
    for split in SPLITS:
        variants = [
            voice.name.split("+")[1][0]
            for dialogue in DIALOGUES
            if dialogue.split == split
            for voice in dialogue.cast.values()
        ]
        assert max(Counter(variants).values()) >= 2, split
    tuning = {v for d in DIALOGUES if d.split == "tuning" for v in d.cast.values()}
    evaluation = {v for d in DIALOGUES if d.split == "evaluation" for v in d.cast.values()}
    assert not {v.name for v in tuning} & {v.name for v in evaluation}


def test_mixes_are_made_the_same_way_every_time(speaker_items: list[Item]) -> None:
    again = {item.name: item for item in load_mixes()}
    for item in speaker_items:
        if item.kind == "mix":
            assert _digest(item) == _digest(again[item.name]), item.name


def test_long_meeting_generator(tmp_path: Path, speaker_items: list[Item]) -> None:
    pools = long_pools(4)
    assert len(pools) == 4
    meeting = write_long_meeting(tmp_path / "long.pcm", minutes=2, pools=pools, seed=5)
    assert meeting.samples * 2 == (tmp_path / "long.pcm").stat().st_size
    assert meeting.duration_s >= 120
    assert meeting.speakers == 4
    turns = meeting.turns
    assert all(a.end_s <= b.start_s for a, b in zip(turns, turns[1:], strict=False))
    assert turns[-1].end_s <= meeting.duration_s
    stretches = _stretches(turns)
    assert all(a[2] != b[2] for a, b in zip(stretches, stretches[1:], strict=False))
    again = write_long_meeting(tmp_path / "again.pcm", minutes=2, pools=pools, seed=5)
    assert again.turns == turns
    assert (tmp_path / "again.pcm").read_bytes() == (tmp_path / "long.pcm").read_bytes()


def _stretches(turns: tuple[SpeakerTurn, ...]) -> list[tuple[float, float, str]]:
    """Consecutive turns of the same speaker joined: who had the floor, from when to when."""
    out: list[tuple[float, float, str]] = []
    for t in turns:
        if out and out[-1][2] == t.speaker:
            out[-1] = (out[-1][0], t.end_s, t.speaker)
        else:
            out.append((t.start_s, t.end_s, t.speaker))
    return out


def _digest(item: Item) -> str:
    return hashlib.sha256(item.pcm.tobytes() + repr(item.turns).encode()).hexdigest()
