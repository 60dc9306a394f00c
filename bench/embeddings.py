"""Sentence embeddings: load time, memory and passages/s of the semantic-search encoder.

``mina/semantic/model.py`` (all-MiniLM-L6-v2, int8 weights, onnxruntime), in a fresh process so
that the memory it adds is its own. The passages are a meeting as the speech model heard it: the
insight benchmark's recognised transcripts (``bench/insights/transcripts``, tiny.en on espeak-ng
speech), all of them in turn and again until there are 900 segments, the segments of one hour;
plus one passage per speaker turn (consecutive segments of one speaker, joined), the speaker
windows: about 1,400 passages in all, what semantic search embeds after Stop.

Printed: the CPU, load time (hash checks, session creation) and the resident memory it adds;
passages/s and CPU s per 1,000 passages at batch sizes 1, 8 and 32 with 1 and 2 onnxruntime
threads (length-sorted, as ``embed`` does, the best of ``BENCH_EMBED_REPEATS`` runs, default 3);
the same without sorting across batches; then the 1-hour meeting in CPU and wall seconds with
the defaults. Then the same load, query and 1-hour figures for all-mpnet-base-v2
(``MINA_EMBEDDING_MODEL=mpnet``) beside MiniLM's, when its packages are installed
(``BENCH_EMBED_MPNET=0`` skips it): one search's query, and what one Ask embeds (30
statements of its 12 passages; the question is the search's query, and the passages' vectors
come from the index). Figures are from a shared machine: compare them
only with a run beside them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.insights.material import load_scripts, recognised
from bench.server import machine_description
from bench.stats import emit
from mina.semantic.model import BATCH, BATCH_TOKENS, MAX_TOKENS, EmbeddingModelError, Encoder

SEGMENTS = 900  # one hour of a meeting, about 4 s a segment
BATCH_SIZES = (1, 8, 32)
THREADS = (1, 2)
LONG = 64  # passages cut at 256 tokens: a long monologue's windows


def meeting_passages() -> list[str]:
    """An hour's segments and its speaker windows, in meeting order."""
    segments: list[tuple[str, str]] = []
    scripts = load_scripts()
    while len(segments) < SEGMENTS:
        for script in scripts:
            for segment in recognised(script).meeting.segments:
                segments.append((f"{script.name}/{segment.speaker}", segment.text.strip()))
    segments = segments[:SEGMENTS]
    windows: list[list[str]] = []
    previous = None
    for speaker, text in segments:
        if speaker != previous:
            windows.append([])
            previous = speaker
        windows[-1].append(text)
    return [text for _, text in segments] + [" ".join(window) for window in windows]


def _rss_mib() -> float:
    """The resident memory now (not the peak)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _time(call: object, repeats: int) -> tuple[float, float]:
    """The best (CPU s, wall s) of ``repeats`` calls, best by wall time."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        call()  # type: ignore[operator]
        took = (time.process_time() - cpu, time.perf_counter() - wall)
        best = min(best, took, key=lambda pair: pair[1])
    return best


def measure() -> None:
    """The figures, in this process (``run`` starts a fresh one for it)."""
    repeats = int(os.environ.get("BENCH_EMBED_REPEATS", "2"))
    passages = meeting_passages()
    emit(f"machine   {machine_description()}, load average {os.getloadavg()[0]:.2f}")
    before = _rss_mib()
    cpu, wall = time.process_time(), time.perf_counter()

    default = Encoder()
    loaded = (time.process_time() - cpu, time.perf_counter() - wall)
    default.embed(["warm up"])
    emit(
        f"load      {loaded[1]:.2f} s wall, {loaded[0]:.2f} CPU s (imports, SHA-256 checks, "
        f"session); resident memory +{_rss_mib() - before:.0f} MiB, {_rss_mib():.0f} MiB in all"
    )
    words = sum(len(text.split()) for text in passages)
    emit(
        f"passages  {len(passages)} ({SEGMENTS} segments and {len(passages) - SEGMENTS} speaker "
        f"windows), {words / len(passages):.1f} words on average"
    )
    emit("threads  batch        sorted  passages/s  CPU s/1k passages")
    for threads in THREADS:
        for batch in BATCH_SIZES:
            encoder = Encoder(threads=threads, batch_size=batch, batch_tokens=None)
            _row(encoder, threads, f"{batch}", "yes", passages, repeats)
            if batch > 1:
                _row(encoder, threads, f"{batch}", "no", passages, repeats, chunk=batch)
        encoder = Encoder(threads=threads)
        _row(encoder, threads, f"{BATCH}, {BATCH_TOKENS} tok", "yes", passages, repeats)

    long = [" ".join(passages[i : i + 40]) for i in range(0, 40 * LONG, 40)]
    for label, encoder in (
        (f"batch {BATCH}", Encoder(batch_size=BATCH, batch_tokens=None)),
        (f"batch {BATCH} and at most {BATCH_TOKENS} tokens (default)", default),
    ):
        before = _rss_mib()
        cpu_s, wall_s = _time(lambda e=encoder: e.embed(long), repeats)
        emit(
            f"long      {LONG} passages of {MAX_TOKENS} tokens, {label}: {cpu_s:.2f} CPU s, "
            f"resident memory +{_rss_mib() - before:.0f} MiB"
        )

    cpu_s, wall_s = _time(lambda: default.embed(passages), repeats)
    emit(
        f"meeting   1 hour ({len(passages)} passages), defaults (1 thread, batch {BATCH}, "
        f"at most {BATCH_TOKENS} tokens, sorted): {cpu_s:.2f} CPU s, {wall_s:.2f} s wall"
    )
    if os.environ.get("BENCH_EMBED_MPNET", "1") != "0":
        _mpnet(default, passages, repeats)


def _mpnet(minilm: Encoder, passages: list[str], repeats: int) -> None:
    """all-mpnet-base-v2 beside MiniLM: load, a query, an Ask, the hour (defaults, 1 thread)."""
    from mina.semantic.mpnet import MpnetEncoder

    before = _rss_mib()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        mpnet = MpnetEncoder()
    except EmbeddingModelError as exc:
        emit(f"mpnet     not measured: {exc}")
        return
    emit(
        f"mpnet     load {time.perf_counter() - wall:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} CPU s (archive, SHA-256, graph, session); resident "
        f"memory +{_rss_mib() - before:.0f} MiB"
    )
    query = ["what did we decide about the hosting costs?"]
    asked = [p.split(".")[0] for p in passages[:30]]
    for name, encoder in (("minilm", minilm), ("mpnet", mpnet)):
        encoder.embed(query)
        one = min(_time(lambda e=encoder: e.embed(query), 1)[1] for _ in range(20))
        _, ask_s = _time(lambda e=encoder: e.embed(asked), repeats)
        emit(
            f"{name:<9} one query {one * 1000:.0f} ms; one Ask's {len(asked)} statements "
            f"{ask_s:.2f} s (1 thread)"
        )
    cpu_s, wall_s = _time(lambda: mpnet.embed(passages), 1)
    emit(
        f"mpnet     1 hour ({len(passages)} passages), 1 thread: {cpu_s:.1f} CPU s, "
        f"{wall_s:.1f} s wall"
    )


def _row(
    encoder: Encoder,
    threads: int,
    batch: str,
    sorted_: str,
    passages: list[str],
    repeats: int,
    chunk: int | None = None,
) -> None:
    """One line of the table; ``chunk``: one ``embed`` call per that many, in meeting order."""
    encoder.embed(["warm up"])
    if chunk is None:
        cpu_s, wall_s = _time(lambda: encoder.embed(passages), repeats)
    else:
        chunks = [passages[i : i + chunk] for i in range(0, len(passages), chunk)]
        cpu_s, wall_s = _time(lambda: [encoder.embed(c) for c in chunks], repeats)
    emit(
        f"{threads:>7}  {batch:<11}  {sorted_:>6}  {len(passages) / wall_s:>10.0f}  "
        f"{cpu_s / len(passages) * 1000:>17.2f}"
    )


def run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.embeddings"], capture_output=True, text=True, timeout=1800
    )
    for line in done.stdout.splitlines():
        emit(line)
    if done.returncode:
        raise RuntimeError(f"bench.embeddings failed:\n{done.stderr}")


if __name__ == "__main__":
    measure()
