"""Voice embeddings: CPU time per audio minute and peak memory of VoiceEncoder.embed_windows.

BENCH_VOICE_MINUTES (default 5) minutes of the speech clips, concatenated and repeated, cut
into 1.5 s windows every 0.75 s, as diarization does; run in a fresh process so that its peak
RSS is the encoder's alone. Then one minute again with numpy's default BLAS threads instead of
the encoder's one, to show what that choice saves. The figures to watch: CPU s per audio
minute (a 2-hour meeting must be diarized, all steps, in at most 10 CPU minutes) and peak RSS.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
import wave
from collections.abc import Iterator

import numpy as np

from bench.stats import emit
from mina.audio import SAMPLE_RATE, pcm16_to_float32
from mina.speakers import encoder as voice
from tests.speechdata import load_clips

WINDOW_S = 1.5
HOP_S = 0.75


def _audio(minutes: float) -> np.ndarray:
    clips = []
    for clip in load_clips():
        with wave.open(str(clip.wav), "rb") as handle:
            clips.append(pcm16_to_float32(handle.readframes(handle.getnframes())))
    once = np.concatenate(clips)
    samples = int(minutes * 60 * SAMPLE_RATE)
    return np.tile(once, -(-samples // once.size))[:samples]


def _windows(samples: int) -> list[tuple[int, int]]:
    size, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    return [(start, start + size) for start in range(0, samples - size + 1, hop)]


def _time(encoder: voice.VoiceEncoder, audio: np.ndarray) -> tuple[int, float, float]:
    windows = _windows(audio.size)
    cpu, wall = time.process_time(), time.perf_counter()
    encoder.embed_windows(audio, windows)
    return len(windows), time.process_time() - cpu, time.perf_counter() - wall


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure() -> None:
    """The figures, in this process (``run`` starts a fresh one for it)."""
    minutes = float(os.environ.get("BENCH_VOICE_MINUTES", "5"))
    audio = _audio(minutes)
    started = time.perf_counter()
    encoder = voice.VoiceEncoder.load()
    emit(f"load      {time.perf_counter() - started:6.2f} s (hash check and checkpoint read)")
    before = _rss_mib()
    count, cpu, wall = _time(encoder, audio)
    emit(
        f"windows   {minutes:g} min of audio, {count} windows of {WINDOW_S} s every {HOP_S} s: "
        f"{cpu:.1f} CPU s, {wall:.1f} s wall"
    )
    emit(
        f"per min   {cpu / minutes:6.2f} CPU s per audio minute "
        f"({cpu / minutes * 120 / 60:.1f} CPU min for a 2-hour meeting)"
    )
    emit(f"memory    peak RSS {_rss_mib():.0f} MiB ({before:.0f} MiB before embedding)")

    one_minute = audio[: 60 * SAMPLE_RATE]
    _, cpu_one, wall_one = _time(encoder, one_minute)
    threads = voice._threadpools().select(user_api="blas").info()
    default = max((lib["num_threads"] for lib in threads), default=1)
    with _default_blas_threads():
        _, cpu_many, wall_many = _time(encoder, one_minute)
    emit(
        f"threads   1 min: one BLAS thread {cpu_one:.1f} CPU s / {wall_one:.1f} s wall, "
        f"numpy's default ({default}) {cpu_many:.1f} CPU s / {wall_many:.1f} s wall"
    )


@contextlib.contextmanager
def _default_blas_threads() -> Iterator[None]:
    saved = voice._one_blas_thread
    voice._one_blas_thread = contextlib.nullcontext  # type: ignore[assignment]
    try:
        yield
    finally:
        voice._one_blas_thread = saved


def run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.voice_encoder"], capture_output=True, text=True, timeout=1800
    )
    for line in done.stdout.splitlines():
        emit(line)
    if done.returncode:
        raise RuntimeError(f"bench.voice_encoder failed:\n{done.stderr}")


if __name__ == "__main__":
    measure()
