"""The numpy voice encoder against resemblyzer's own embeddings (``tests/data/voice``)."""

from __future__ import annotations

import os
import pickle
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from mina.audio import pcm16_to_float32
from mina.speakers import encoder as voice
from mina.speakers.encoder import (
    VoiceEncoder,
    VoiceWeightsIntegrityError,
    VoiceWeightsUnavailableError,
)
from tests.speechdata import SPEECH_DIR

REFERENCE = Path(__file__).parent / "data" / "voice" / "reference.npz"
MIN_COSINE = 0.9999


def read_clip(name: str) -> np.ndarray:
    with wave.open(str(SPEECH_DIR / f"{name}.wav"), "rb") as handle:
        return pcm16_to_float32(handle.readframes(handle.getnframes()))


@pytest.fixture(scope="module")
def encoder() -> VoiceEncoder:
    return VoiceEncoder.load()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


def test_loads_the_weights_without_torch_or_resemblyzer(encoder: VoiceEncoder) -> None:
    assert VoiceEncoder.load() is encoder  # once per process
    assert "torch" not in sys.modules
    assert "resemblyzer" not in sys.modules
    state = voice.read_model_state(voice.default_weights_path().read_bytes())
    assert state["lstm.weight_ih_l0"].shape == (1024, 40)
    assert state["lstm.weight_hh_l2"].shape == (1024, 256)
    assert state["linear.weight"].shape == (256, 256)
    assert all(array.dtype == np.float32 for array in state.values())


def test_mel_spectrogram_matches_librosa(reference: dict[str, np.ndarray]) -> None:
    audio = read_clip(str(reference["window_clips"][0]))
    start, end = reference["window_bounds"][0]
    mel = voice.mel_spectrogram(audio[start:end] * voice.volume_gain(audio))
    expected = reference["first_window_mel"]
    assert mel.dtype == np.float32 and mel.shape == expected.shape == (151, 40)
    np.testing.assert_allclose(mel, expected, rtol=1e-4, atol=1e-5 * float(expected.max()))


@pytest.fixture(scope="module")
def utterances(encoder: VoiceEncoder, reference: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``embed_utterance`` of each reference input, by name."""
    embeddings = {}
    for name in reference["utterance_names"].tolist():
        clip, _, cut = name.partition("[:")
        audio = read_clip(clip)
        if cut:  # a short excerpt, padded to one partial
            audio = audio[: int(cut.rstrip("]"))]
        embeddings[name] = encoder.embed_utterance(audio)
    return embeddings


def test_utterances_match_resemblyzer(
    utterances: dict[str, np.ndarray], reference: dict[str, np.ndarray]
) -> None:
    for name, expected in zip(reference["utterance_names"], reference["utterances"], strict=True):
        embedding = utterances[str(name)]
        assert embedding.dtype == np.float32 and embedding.shape == (256,)
        assert float(embedding @ expected) >= MIN_COSINE, name


def test_windows_match_resemblyzer(encoder: VoiceEncoder, reference: dict[str, np.ndarray]) -> None:
    clips = reference["window_clips"]
    for clip in dict.fromkeys(clips.tolist()):  # one call per clip, in order of appearance
        rows = np.flatnonzero(clips == clip)
        windows = [(int(s), int(e)) for s, e in reference["window_bounds"][rows]]
        embeddings = encoder.embed_windows(read_clip(clip), windows)
        assert embeddings.dtype == np.float32 and embeddings.shape == (len(rows), 256)
        np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
        cosines = np.sum(embeddings * reference["windows"][rows], axis=1)
        assert cosines.min() >= MIN_COSINE, (clip, cosines)


def test_same_speaker_is_closer_than_another(utterances: dict[str, np.ndarray]) -> None:
    """The LibriVox clips are one reader; jfk.wav is President Kennedy."""
    reader = np.stack([e for name, e in utterances.items() if name.startswith("sense_and")])
    kennedy = utterances["jfk"]
    same = reader @ reader.T
    least_same = same[~np.eye(len(reader), dtype=bool)].min()
    most_different = (reader @ kennedy).max()
    assert least_same > most_different + 0.1, (least_same, most_different)


def test_quiet_audio_is_raised_to_the_same_level(encoder: VoiceEncoder) -> None:
    audio = read_clip("jfk")
    windows = [(0, 24_000), (24_000, 48_000)]
    quiet = encoder.embed_windows(audio * np.float32(0.01), windows)
    quieter = encoder.embed_windows(audio * np.float32(0.001), windows)
    assert np.sum(quiet * quieter, axis=1).min() >= MIN_COSINE


def test_empty_short_and_silent_input(encoder: VoiceEncoder) -> None:
    assert encoder.embed_windows(np.zeros(0, np.float32), []).shape == (0, 256)
    with pytest.raises(ValueError, match="no audio"):
        encoder.embed_utterance(np.zeros(0, np.float32))
    silence = np.zeros(16_000, np.float32)
    for bad in [(0, 0), (5, 3), (-1, 100), (0, 16_001)]:
        with pytest.raises(ValueError, match="empty or outside"):
            encoder.embed_windows(silence, [(0, 100), bad])
    with pytest.raises(ValueError, match="pairs"):
        encoder.embed_windows(silence, [(0, 1, 2)])  # type: ignore[list-item]
    # silence and a single sample still give unit vectors (from the network's biases)
    embeddings = encoder.embed_windows(silence, [(0, 16_000), (0, 1)])
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(encoder.embed_utterance(silence[:1])) == pytest.approx(1.0, abs=1e-5)


def test_a_damaged_weights_file_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "pretrained.pt"
    data = bytearray(voice.default_weights_path().read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(VoiceWeightsIntegrityError, match="make install") as raised:
        VoiceEncoder.load(damaged)
    assert str(damaged) in str(raised.value)
    assert raised.value.expected == voice.WEIGHTS_SHA256


def test_missing_weights_say_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(VoiceWeightsUnavailableError, match="make install"):
        VoiceEncoder.load(tmp_path / "absent.pt")
    monkeypatch.setattr(voice.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(VoiceWeightsUnavailableError, match="resemblyzer.*make install"):
        voice.default_weights_path()


class _Payload:
    """Unpickles into a call of os.system, which must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_the_unpickler_refuses_anything_but_tensors(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Payload(marker), protocol=2)
    header = b"".join(
        pickle.dumps(part, protocol=2)
        for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True})
    )
    for checkpoint in (payload, header + payload):  # in place of the header, or of the state
        with pytest.raises(pickle.UnpicklingError, match="refused .*system"):
            voice.read_model_state(checkpoint)
    assert not marker.exists()
