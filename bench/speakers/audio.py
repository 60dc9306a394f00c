"""Sample-level helpers for the speaker material: WAV files, speech regions, levels.

Audio is 16 kHz mono int16 throughout (``np.int16`` arrays); a diarizer gets it as float32.
Speech regions are found by frame energy against the loudest frames of the same audio, which
is enough for the clean recordings and the synthetic speech used here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
PAUSE_S = 0.4  # a silence at least this long ends a reference turn
_FRAME_S = 0.02
_HOP_S = 0.01
_BELOW_LOUDEST_DB = 30.0  # frames this far below the loudest 5% are silence ...
_ABOVE_FLOOR_DB = 6.0  # ... and so are frames this close to the quietest 10%
_SHORTEST_S = 0.15  # speech bursts shorter than this are ignored
_SPEECH_DBFS = -26.0  # the level every utterance is brought to


def read_wav(path: Path) -> np.ndarray:
    """The samples of a 16 kHz mono 16-bit WAV file."""
    with wave.open(str(path), "rb") as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit, found {shape}")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm.astype("<i2").tobytes())


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 samples as float32 in [-1, 1), what a diarizer takes."""
    return pcm.astype(np.float32) / 32768.0


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.int16)


def speech_regions(pcm: np.ndarray, *, pause_s: float = PAUSE_S) -> list[tuple[float, float]]:
    """Where ``pcm`` has speech (seconds): loud frames, joined across pauses under ``pause_s``."""
    levels = _frame_db(pcm)
    if len(levels) == 0:
        return []
    threshold = max(
        np.percentile(levels, 95) - _BELOW_LOUDEST_DB, np.percentile(levels, 10) + _ABOVE_FLOOR_DB
    )
    loud = np.concatenate([[0], (levels > threshold).astype(np.int8), [0]])
    starts = np.flatnonzero(np.diff(loud) == 1)
    ends = np.flatnonzero(np.diff(loud) == -1)
    duration = len(pcm) / SAMPLE_RATE
    regions: list[tuple[float, float]] = []
    for first, last in zip(starts, ends, strict=True):
        start, end = first * _HOP_S, min(duration, last * _HOP_S + _FRAME_S - _HOP_S)
        if regions and start - regions[-1][1] < pause_s:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return [(round(float(s), 3), round(float(e), 3)) for s, e in regions if e - s >= _SHORTEST_S]


def speech_level_db(pcm: np.ndarray) -> float:
    """The RMS level (dBFS) of the loudest half of the frames: speech, not the pauses."""
    levels = _frame_db(pcm)
    if len(levels) == 0:
        return -100.0
    loud = levels[levels >= np.median(levels)]
    return float(10 * np.log10(np.mean(10 ** (loud / 10))))


def scaled(pcm: np.ndarray, gain_db: float) -> np.ndarray:
    """``pcm`` made louder by ``gain_db`` (quieter when negative), clipped to int16."""
    out = pcm.astype(np.float32) * np.float32(10 ** (gain_db / 20))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def normalised(pcm: np.ndarray) -> np.ndarray:
    """``pcm`` at the common speech level, so loudness alone tells no voices apart."""
    return scaled(pcm, _SPEECH_DBFS - speech_level_db(pcm))


def cache_dir() -> Path:
    """Where generated audio is kept between runs: BENCH_SPEAKERS_CACHE, else the user cache."""
    configured = os.environ.get("BENCH_SPEAKERS_CACHE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mina" / "bench-speakers"


def check_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"the speaker material needs {' and '.join(missing)} (make services)")


def resample_to_16k(source: Path, target: Path) -> None:
    """Convert any audio file sox reads into a 16 kHz mono 16-bit WAV, reproducibly (no dither)."""
    command = ["sox", "-D", str(source), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16"]
    subprocess.run(
        [*command, "-e", "signed-integer", str(target)], check=True, capture_output=True, timeout=60
    )


def _frame_db(pcm: np.ndarray) -> np.ndarray:
    frame, hop = int(_FRAME_S * SAMPLE_RATE), int(_HOP_S * SAMPLE_RATE)
    if len(pcm) < frame:
        return np.zeros(0)
    x = pcm.astype(np.float64) / 32768.0
    count = (len(x) - frame) // hop + 1
    power = np.lib.stride_tricks.sliding_window_view(x**2, frame)[::hop][:count].mean(axis=1)
    return np.asarray(10 * np.log10(power + 1e-10))
