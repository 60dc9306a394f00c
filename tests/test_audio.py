"""Audio helpers: PCM conversion, WAV writing, and decoding real media files made with ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from mina.audio import (
    AudioDecodeError,
    decode_file,
    float32_to_pcm16,
    iter_decode_file,
    pcm16_to_float32,
    pcm_duration_s,
    write_wav,
)
from mina.engines import join_words, load_engine
from tests.speechdata import get_clip, word_error_rate

RATE = 16000
JFK = get_clip("jfk")
JFK_SECONDS = 11.0

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True, timeout=60
    )


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The JFK clip as MP3, Ogg Opus and 8 kHz stereo WAV, plus a video-only file."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    folder = tmp_path_factory.mktemp("encoded")
    source = str(JFK.wav)
    files = {
        "mp3": folder / "jfk.mp3",
        "opus": folder / "jfk.opus",
        "wav8k": folder / "jfk-8k-stereo.wav",
        "video": folder / "silent.mp4",
    }
    _ffmpeg("-i", source, "-c:a", "libmp3lame", "-b:a", "48k", str(files["mp3"]))
    _ffmpeg("-i", source, "-c:a", "libopus", "-b:a", "24k", str(files["opus"]))
    _ffmpeg("-i", source, "-ar", "8000", "-ac", "2", str(files["wav8k"]))
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=1:size=32x32:rate=5",
        "-c:v",
        "mpeg4",
        str(files["video"]),
    )
    return files


def test_pcm16_round_trip_is_exact() -> None:
    pcm = np.arange(-32768, 32768, 7, dtype="<i2").tobytes()
    audio = pcm16_to_float32(pcm)
    assert audio.dtype == np.float32
    assert audio.min() == -1.0 and audio.max() < 1.0
    assert float32_to_pcm16(audio) == pcm


def test_float32_to_pcm16_clips() -> None:
    pcm = float32_to_pcm16(np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], np.float32))
    assert np.frombuffer(pcm, "<i2").tolist() == [-32768, -32768, 0, 16384, 32767, 32767]


def test_pcm16_rejects_half_samples() -> None:
    with pytest.raises(ValueError, match="even length"):
        pcm16_to_float32(b"\x00\x01\x02")


def test_pcm_duration() -> None:
    assert pcm_duration_s(32000) == 1.0
    assert pcm_duration_s(16000, 8000) == 1.0


def test_write_wav_from_bytes_and_floats(tmp_path: Path) -> None:
    audio = decode_file(JFK.wav)
    write_wav(tmp_path / "a.wav", float32_to_pcm16(audio))
    write_wav(tmp_path / "b.wav", audio)
    for name in ("a.wav", "b.wav"):
        with wave.open(str(tmp_path / name)) as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        assert np.array_equal(decode_file(tmp_path / name), audio)


def test_decode_wav_is_exact() -> None:
    with wave.open(str(JFK.wav)) as wav:
        pcm = wav.readframes(wav.getnframes())
    assert np.array_equal(decode_file(JFK.wav), pcm16_to_float32(pcm))


@needs_ffmpeg
@pytest.mark.parametrize("kind", ["mp3", "opus", "wav8k"])
def test_decode_compressed_and_resampled_audio(encoded: dict[str, Path], kind: str) -> None:
    original = decode_file(JFK.wav)
    audio = decode_file(encoded[kind])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size / RATE == pytest.approx(JFK_SECONDS, abs=0.03)
    loudness = float(np.sqrt(np.mean(audio**2)) / np.sqrt(np.mean(original**2)))
    assert 0.8 < loudness < 1.2


@needs_ffmpeg
def test_decode_from_an_open_file(encoded: dict[str, Path]) -> None:
    with encoded["opus"].open("rb") as handle:
        audio = decode_file(handle)
    assert audio.size / RATE == pytest.approx(JFK_SECONDS, abs=0.03)


@needs_ffmpeg
def test_iter_decode_file_gives_chunks(encoded: dict[str, Path]) -> None:
    chunks = list(iter_decode_file(encoded["mp3"], chunk_s=4.0))
    assert [c.size for c in chunks[:-1]] == [4 * RATE, 4 * RATE]
    assert 0 < chunks[-1].size <= 4 * RATE
    assert np.array_equal(np.concatenate(chunks), decode_file(encoded["mp3"]))


@needs_ffmpeg
def test_truncated_file_keeps_the_audio_before_the_damage(
    encoded: dict[str, Path], tmp_path: Path
) -> None:
    data = encoded["mp3"].read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2])
    seconds = decode_file(cut).size / RATE
    assert 4.0 < seconds < 7.0


def test_junk_bytes_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "upload.mp3"
    junk.write_bytes(np.random.default_rng(3).bytes(20000))
    with pytest.raises(AudioDecodeError, match="upload.mp3"):
        decode_file(junk)


def test_empty_and_text_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("minutes of the meeting\n" * 50, encoding="utf-8")
    for name in ("empty.wav", "notes.txt"):
        with pytest.raises(AudioDecodeError):
            decode_file(tmp_path / name)


@needs_ffmpeg
def test_file_without_audio_is_refused(encoded: dict[str, Path]) -> None:
    with pytest.raises(AudioDecodeError, match="no audio stream"):
        decode_file(encoded["video"])


@needs_ffmpeg
def test_playlists_are_refused(tmp_path: Path) -> None:
    """An uploaded playlist must not make the server read the files it names."""
    _ffmpeg("-i", str(JFK.wav), "-c:a", "aac", "-f", "hls", str(tmp_path / "list.m3u8"))
    with pytest.raises(AudioDecodeError, match="hls"):
        decode_file(tmp_path / "list.m3u8")


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode_file(tmp_path / "nowhere.wav")


@needs_ffmpeg
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mp3", "opus", "wav8k"])
def test_decoded_files_transcribe_well(encoded: dict[str, Path], kind: str) -> None:
    engine = load_engine("whisper", model="tiny.en")
    words = engine.transcribe(decode_file(encoded[kind]))
    assert word_error_rate(JFK.reference, join_words(words)) <= 0.1  # measured 0.0, 0.0, 0.045
