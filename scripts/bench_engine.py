"""Measure the whisper engine on this machine: load time, WER and RTF per clip, buffer latency.

    .venv/bin/python scripts/bench_engine.py [--model tiny.en] [--threads 1 2] [--split tuning]

Buffers of 5/10/15 s are cut from all clips joined end to end, at several offsets, and each is
decoded with the streaming settings (beam 1, no fallback): the cost of one streaming step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mina.audio import decode_file  # noqa: E402
from mina.engines.base import join_words  # noqa: E402
from mina.engines.whisper import (  # noqa: E402
    WhisperEngine,
    resolve_model,
    sha256_file,
)
from tests.speechdata import load_clips, word_error_rate  # noqa: E402


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _timed_load(model: str, data_dir: Path | None, threads: int, workers: int) -> WhisperEngine:
    spec = resolve_model(model, data_dir=data_dir)
    start = time.perf_counter()
    digest = sha256_file(spec.path / "model.bin")
    hashed = time.perf_counter() - start
    start = time.perf_counter()
    engine = WhisperEngine(spec, cpu_threads=threads, num_workers=workers)
    _out(
        f"load {model} cpu_threads={threads} num_workers={workers}: sha256 {hashed:.2f} s "
        f"({digest[:8]}), model {time.perf_counter() - start:.2f} s (verification cached)"
    )
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--split", choices=["tuning", "evaluation"], default=None)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    clips = load_clips(args.split)
    audio = {clip.name: decode_file(clip.wav) for clip in clips}
    joined = np.concatenate([audio[clip.name] for clip in load_clips()])

    for threads in args.threads:
        engine = _timed_load(args.model, args.data_dir, threads, 1)
        engine.transcribe(joined[: 16000 * 3])  # warm up
        _out(f"\n## {args.model}, cpu_threads={threads}")
        _out("| clip | split | s | file WER | file RTF | stream WER | stream RTF |")
        _out("|---|---|---|---|---|---|---|")
        totals = {"dur": 0.0, "file": 0.0, "stream": 0.0}
        for clip in clips:
            samples = audio[clip.name]
            duration = samples.size / 16000
            start = time.perf_counter()
            text = " ".join(s.text for s in engine.transcribe_file(samples))
            file_s = time.perf_counter() - start
            start = time.perf_counter()
            stream_text = join_words(engine.transcribe(samples))
            stream_s = time.perf_counter() - start
            totals["dur"] += duration
            totals["file"] += file_s
            totals["stream"] += stream_s
            _out(
                f"| {clip.name[-4:]} | {clip.split} | {duration:.1f} | "
                f"{word_error_rate(clip.reference, text):.3f} | {file_s / duration:.3f} | "
                f"{word_error_rate(clip.reference, stream_text):.3f} | "
                f"{stream_s / duration:.3f} |"
            )
        _out(
            f"| all | | {totals['dur']:.1f} | | {totals['file'] / totals['dur']:.3f} | | "
            f"{totals['stream'] / totals['dur']:.3f} |"
        )
        _out("\n| buffer | median s | max s | calls |")
        _out("|---|---|---|---|")
        for length in (5, 10, 15):
            times = []
            size = length * 16000
            offsets = range(0, joined.size - size, 16000 * 3)
            for _ in range(args.repeats):
                for offset in offsets:
                    start = time.perf_counter()
                    engine.transcribe(joined[offset : offset + size])
                    times.append(time.perf_counter() - start)
            _out(
                f"| {length} s | {statistics.median(times):.2f} | {max(times):.2f} | {len(times)} |"
            )

    _out("\n## two streams at once (10 s buffers, 8 calls each)")
    _out("| cpu_threads x num_workers | wall s | per call s |")
    _out("|---|---|---|")
    buffers = [joined[o : o + 160000] for o in range(0, joined.size - 160000, 16000 * 3)][:8]
    for threads, workers in ((2, 1), (1, 2)):
        engine = _timed_load(args.model, args.data_dir, threads, workers)
        engine.transcribe(buffers[0])

        def run(engine: WhisperEngine = engine) -> None:
            for buffer in buffers:
                engine.transcribe(buffer)

        start = time.perf_counter()
        runners = [threading.Thread(target=run) for _ in range(2)]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        wall = time.perf_counter() - start
        _out(f"| {threads} x {workers} | {wall:.2f} | {wall / (2 * len(buffers)):.2f} |")


if __name__ == "__main__":
    main()
