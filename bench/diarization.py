"""Speaker diarization: DER, speaker count, CPU time and peak memory on speech with known turns.

Every item of ``bench/speakers`` (mixes of recorded speakers, espeak-ng dialogues and recorded
AMI meeting excerpts, each kind in a tuning and an evaluation split) is diarized twice: with the
right number of speakers given (``speakers=N``) and with the count left to the diarizer. Each run
is a fresh process that reads the audio, calls ``diarize`` once on its first 10 s (so loading a
model is not timed) and then once on the whole item; its CPU time (all threads, and any child
processes) per minute of audio and its peak RSS are reported beside the DER (0.25 s collar,
overlap scored, ``bench/der.py``) and the speaker count found.

Targets: DER <= 10% with the right count on clearly different voices (mixes and espeak-ng
dialogues), <= 20% on real two-person conversation (the two-speaker AMI excerpts); two hours of
meeting in <= 10 CPU minutes and <= 600 MB peak RSS of the process.

BENCH_DIARIZATION_LONG=1 adds a 1 h meeting (3 speakers) and a 2 h one (4 speakers), diarized
without a count; they take minutes. They go through ``diarize_chunks`` where the diarizer's module
has it, fed from disk a chunk at a time as the diarize job does; BENCH_DIARIZATION_LONG=whole
passes the whole audio to ``diarize`` instead (2 h of float32 audio alone is 440 MiB).
BENCH_DIARIZATION_SPLIT=tuning or evaluation keeps one split. BENCH_DIARIZER=module:function
measures another function with ``diarize``'s signature.
Figures are also written to bench/results/diarization-*.json.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from bench.der import DiarizationScore, SpeakerTurn, add_scores, score_diarization
from bench.speakers import KINDS, SPLITS, Item, load_items
from bench.speakers.audio import SAMPLE_RATE
from bench.stats import emit

DIARIZER = "mina.speakers.diarize:diarize"
TARGET_CLEAR_DER = 0.10
TARGET_REAL_TWO_DER = 0.20
TARGET_TWO_HOURS_CPU_MIN = 10.0
TARGET_TWO_HOURS_RSS_MB = 600.0
WARM_UP_S = 10.0
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).parent / "results"

Mode = Literal["hint", "auto"]
MODES: tuple[Mode, ...] = ("hint", "auto")
MODE_TITLES = {
    "hint": "with the right count given (speakers=N)",
    "auto": "count left to the diarizer",
}


class TurnLike(Protocol):
    """What ``diarize`` returns a list of (``mina.speakers.diarize.Turn``)."""

    @property
    def start_ms(self) -> int: ...

    @property
    def end_ms(self) -> int: ...

    @property
    def speaker(self) -> int: ...


DiarizeFn = Callable[..., Sequence[TurnLike]]


@dataclass(frozen=True)
class Measurement:
    """One call of ``diarize``: its turns as (start_ms, end_ms, speaker), and what it cost."""

    turns: list[tuple[int, int, int]]
    cpu_s: float
    wall_s: float
    peak_rss_mb: float  # the process's peak, from start to the end of the call
    before_rss_mb: float  # resident just before the call: interpreter, audio, warmed-up model
    error: str = ""
    how: str = "whole"  # "whole": diarize(audio); "chunks": diarize_chunks(chunks read from disk)


Measure = Callable[[Path, int | None], Measurement]  # (audio file, speakers) -> measurement


@dataclass(frozen=True)
class Result:
    """One item diarized in one mode, scored."""

    name: str
    kind: str
    split: str
    mode: Mode
    duration_s: float
    score: DiarizationScore
    measurement: Measurement
    problems: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return bool(self.measurement.error)

    @property
    def cpu_s_per_min(self) -> float:
        return self.measurement.cpu_s / (self.duration_s / 60)

    def as_json(self) -> dict[str, Any]:
        score = self.score
        return {
            "name": self.name,
            "kind": self.kind,
            "split": self.split,
            "mode": self.mode,
            "duration_s": round(self.duration_s, 2),
            "true_speakers": score.reference_speakers,
            "found_speakers": score.hypothesis_speakers,
            "der": None if self.failed else round(score.der, 4),
            "reference_s": round(score.reference_s, 2),
            "missed_s": round(score.missed_s, 2),
            "false_alarm_s": round(score.false_alarm_s, 2),
            "confusion_s": round(score.confusion_s, 2),
            "cpu_s": self.measurement.cpu_s,
            "cpu_s_per_audio_min": round(self.cpu_s_per_min, 3),
            "wall_s": self.measurement.wall_s,
            "peak_rss_mb": self.measurement.peak_rss_mb,
            "before_rss_mb": self.measurement.before_rss_mb,
            "problems": list(self.problems),
            "error": self.measurement.error,
        }


# -- measuring -----------------------------------------------------------------------------------


def in_child(spec: str, *, chunked: bool = False, timeout_s: float = 3 * 3600) -> Measure:
    """Measure ``spec`` (module:function) in a fresh Python process for each call.

    ``chunked``: when the function's module also has ``diarize_chunks`` (as
    ``mina.speakers.diarize`` does), call that with the audio read from disk a chunk
    (``CHUNK_S``) at a time, the way the diarize job reads a stored recording, so the whole
    audio is never held; otherwise call the function on the whole audio.
    """

    def measure(pcm_path: Path, speakers: int | None) -> Measurement:
        command = [sys.executable, "-m", "bench.diarization", "--child", spec, str(pcm_path)]
        command.append(str(speakers or 0))
        if chunked:
            command.append("--chunked")
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return Measurement([], 0.0, 0.0, 0.0, 0.0, error=f"exit {done.returncode}: {last}")
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        answer["turns"] = [(s, e, who) for s, e, who in answer["turns"]]
        return Measurement(**answer)

    return measure


def in_process(diarize: DiarizeFn) -> Measure:
    """Measure ``diarize`` in this process (for tests: memory figures are this process's)."""

    def measure(pcm_path: Path, speakers: int | None) -> Measurement:
        return _measure_call(diarize, read_audio(pcm_path), speakers, warm_up=False)

    return measure


def read_audio(pcm_path: Path) -> np.ndarray:
    """A headerless 16 kHz int16 file as float32, converted a block at a time (no int16 copy of
    the whole file is ever held)."""
    count = pcm_path.stat().st_size // 2
    audio = np.empty(count, dtype=np.float32)
    block = 1 << 20
    with pcm_path.open("rb") as source:
        for start in range(0, count, block):
            chunk = np.frombuffer(source.read(min(block, count - start) * 2), dtype="<i2")
            audio[start : start + len(chunk)] = chunk
    audio /= 32768.0
    return audio


def _measure_call(
    diarize: DiarizeFn, audio: np.ndarray, speakers: int | None, *, warm_up: bool
) -> Measurement:
    if warm_up:
        diarize(audio[: int(WARM_UP_S * SAMPLE_RATE)])
    before = _rss_mb()
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    turns = diarize(audio, speakers=speakers)
    cpu, wall = _cpu_s() - cpu0, time.perf_counter() - wall0
    return Measurement(
        turns=[(int(t.start_ms), int(t.end_ms), int(t.speaker)) for t in turns],
        cpu_s=round(cpu, 3),
        wall_s=round(wall, 3),
        peak_rss_mb=round(_peak_rss_mb(), 1),
        before_rss_mb=round(before, 1),
    )


def _peak_rss_mb() -> float:
    """This process's peak RSS so far (or a child's, if one of its own processes was bigger)."""
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return peak_kb / 1024


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_diarizer(spec: str) -> DiarizeFn:
    module, _, name = spec.partition(":")
    function: DiarizeFn = getattr(importlib.import_module(module), name)
    return function


def read_chunks(pcm_path: Path, chunk_s: float) -> Iterator[np.ndarray]:
    """A headerless 16 kHz int16 file as consecutive float32 chunks of ``chunk_s``."""
    count = int(chunk_s * SAMPLE_RATE)
    with pcm_path.open("rb") as source:
        while block := source.read(count * 2):
            yield np.frombuffer(block, dtype="<i2").astype(np.float32) / np.float32(32768.0)


def _measure_chunks(
    diarize_chunks: DiarizeFn, pcm_path: Path, chunk_s: float, speakers: int | None
) -> Measurement:
    first = next(read_chunks(pcm_path, WARM_UP_S), np.zeros(0, np.float32))
    diarize_chunks(iter([first]))
    before = _rss_mb()
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    turns = diarize_chunks(read_chunks(pcm_path, chunk_s), speakers=speakers)
    cpu, wall = _cpu_s() - cpu0, time.perf_counter() - wall0
    return Measurement(
        turns=[(int(t.start_ms), int(t.end_ms), int(t.speaker)) for t in turns],
        cpu_s=round(cpu, 3),
        wall_s=round(wall, 3),
        peak_rss_mb=round(_peak_rss_mb(), 1),
        before_rss_mb=round(before, 1),
        how="chunks",
    )


def _child_main(spec: str, pcm_path: str, speakers: int, *, chunked: bool) -> None:
    diarize = load_diarizer(spec)
    module = importlib.import_module(spec.partition(":")[0])
    if chunked and hasattr(module, "diarize_chunks"):
        chunk_s = float(getattr(module, "CHUNK_S", 600.0))
        measurement = _measure_chunks(
            module.diarize_chunks, Path(pcm_path), chunk_s, speakers or None
        )
    else:
        audio = read_audio(Path(pcm_path))
        measurement = _measure_call(diarize, audio, speakers or None, warm_up=True)
    sys.stdout.write(json.dumps(asdict(measurement)) + "\n")


# -- scoring -------------------------------------------------------------------------------------


def hypothesis_turns(turns: Sequence[tuple[int, int, int]]) -> list[SpeakerTurn]:
    return [SpeakerTurn(s / 1000, e / 1000, f"spk{who}") for s, e, who in turns]


def contract_problems(turns: Sequence[tuple[int, int, int]], duration_s: float) -> list[str]:
    """Where ``diarize``'s answer breaks its promise: turns in time order without overlap,
    inside the audio, speakers numbered 0..N-1 in order of first appearance."""
    problems = []
    if any(e <= s for s, e, _ in turns):
        problems.append("empty turn")
    if any(b[0] < a[1] for a, b in zip(turns, turns[1:], strict=False)):
        problems.append("turns overlap or are out of order")
    if turns and (turns[0][0] < 0 or max(e for _, e, _ in turns) > duration_s * 1000 + 1):
        problems.append("turn outside the audio")
    first_seen = list(dict.fromkeys(who for _, _, who in turns))
    if first_seen != list(range(len(first_seen))):
        problems.append("speakers not numbered 0..N-1 by first appearance")
    return problems


class Scorable(Protocol):
    """An item or a long meeting: audio length and reference turns."""

    @property
    def name(self) -> str: ...

    @property
    def duration_s(self) -> float: ...

    @property
    def speakers(self) -> int: ...

    @property
    def turns(self) -> tuple[SpeakerTurn, ...]: ...


def diarize_item(
    item: Scorable, pcm_path: Path, mode: Mode, measure: Measure, *, kind: str, split: str
) -> Result:
    """Diarize one item's audio (``pcm_path``) in ``mode`` and score it against its turns."""
    speakers = item.speakers if mode == "hint" else None
    measurement = measure(pcm_path, speakers)
    hypothesis = hypothesis_turns(measurement.turns)
    score = score_diarization(list(item.turns), hypothesis, uem=(0.0, item.duration_s))
    problems = tuple(contract_problems(measurement.turns, item.duration_s))
    return Result(item.name, kind, split, mode, item.duration_s, score, measurement, problems)


def diarize_items(
    items: Sequence[Item], measure: Measure, workdir: Path, modes: Sequence[Mode] = MODES
) -> list[Result]:
    """Every item in every mode, a row printed as each is done."""
    results = []
    for mode in modes:
        emit(f"\n   {MODE_TITLES[mode]}:")
        emit(_HEADER)
        for item in items:
            pcm_path = workdir / f"{item.name}.pcm"
            if not pcm_path.exists():
                item.pcm.astype("<i2").tofile(pcm_path)
            result = diarize_item(item, pcm_path, mode, measure, kind=item.kind, split=item.split)
            emit(_row(result))
            results.append(result)
    return results


def diarize_long(measure: Measure, workdir: Path) -> list[Result]:
    """The 1 h and 2 h meetings, made on the fly, count left to the diarizer."""
    from bench.speakers.long import long_pools, write_long_meeting

    results = []
    for minutes, speakers, seed in ((60, 3, 60), (120, 4, 120)):
        path = workdir / f"long-{minutes}.pcm"
        meeting = write_long_meeting(path, minutes=minutes, pools=long_pools(speakers), seed=seed)
        result = diarize_item(meeting, path, "auto", measure, kind="long", split="-")
        path.unlink()
        m = result.measurement
        if result.failed:
            emit(f"   {meeting.name:20s} failed: {m.error}")
        else:
            emit(
                f"   {meeting.name:20s} {meeting.duration_s / 60:5.1f} min, {speakers} speakers, "
                f"found {result.score.hypothesis_speakers}: CPU {m.cpu_s / 60:5.2f} min "
                f"({result.cpu_s_per_min:.2f} s per audio min), wall {m.wall_s / 60:5.2f} min, "
                f"peak RSS {m.peak_rss_mb:.0f} MB ({m.before_rss_mb:.0f} MB before the call; "
                + (
                    "audio read in chunks"
                    if m.how == "chunks"
                    else f"{meeting.samples * 4 / 2**20:.0f} MB of float32 audio held"
                )
                + f"); DER {result.score.der:.1%}"
            )
        results.append(result)
    return results


# -- reporting -----------------------------------------------------------------------------------

_HEADER = (
    f"   {'item':36s} {'split':10s} {'kind':6s} {'true':>4s} {'found':>5s} {'DER':>6s} "
    f"{'miss':>6s} {'f.a.':>6s} {'conf':>6s} {'CPU s/min':>9s} {'peak MB':>7s}"
)


def _row(r: Result) -> str:
    head = f"   {r.name:36s} {r.split:10s} {r.kind:6s} {r.score.reference_speakers:4d}"
    if r.failed:
        return f"{head}  failed: {r.measurement.error}"
    s = r.score
    shares = " ".join(
        f"{part / s.reference_s:6.1%}" if s.reference_s else "     -"
        for part in (s.missed_s, s.false_alarm_s, s.confusion_s)
    )
    line = (
        f"{head} {s.hypothesis_speakers:5d} {s.der:6.1%} {shares} {r.cpu_s_per_min:9.2f} "
        f"{r.measurement.peak_rss_mb:7.0f}"
    )
    return line + (f"  ({'; '.join(r.problems)})" if r.problems else "")


def pooled(results: Sequence[Result]) -> tuple[float, int, int]:
    """DER over all of ``results``' speech, and how many found the right count, of how many."""
    done = [r for r in results if not r.failed]
    total = add_scores(r.score for r in done)
    right = sum(r.score.speaker_count_error == 0 for r in done)
    return (total.der if done else float("nan")), right, len(done)


def summary_line(results: Sequence[Result], label: str) -> str:
    done = [r for r in results if not r.failed]
    failed = len(results) - len(done)
    if not done:
        return f"   {label:40s} no results" + (f" ({failed} failed)" if failed else "")
    der, right, count = pooled(done)
    speech_min = sum(r.score.reference_s for r in done) / 60
    cpu = sum(r.measurement.cpu_s for r in done) / (sum(r.duration_s for r in done) / 60)
    peak = max(r.measurement.peak_rss_mb for r in done)
    return (
        f"   {label:40s} DER {der:6.1%} over {speech_min:4.1f} min of speech; count right "
        f"{right}/{count}; {cpu:5.2f} CPU s/min; peak {peak:.0f} MB"
        + (f"; {failed} failed" if failed else "")
    )


def emit_summaries(results: Sequence[Result]) -> None:
    for mode in MODES:
        of_mode = [r for r in results if r.mode == mode]
        if not of_mode:
            continue
        emit(f"\n   summary, {MODE_TITLES[mode]}:")
        for split in SPLITS:
            emit(summary_line([r for r in of_mode if r.split == split], f"{split}, all kinds"))
            for kind in KINDS:
                chosen = [r for r in of_mode if r.split == split and r.kind == kind]
                if chosen:
                    emit(summary_line(chosen, f"{split}, {kind}"))


def emit_targets(results: Sequence[Result], long: Sequence[Result]) -> dict[str, Any]:
    """The target lines; returns the figures they compare."""
    emit("\n   targets:")
    figures: dict[str, Any] = {}
    for mode in MODES:
        for split in SPLITS:
            clear = [
                r
                for r in results
                if r.mode == mode and r.split == split and r.kind in ("mix", "espeak")
            ]
            if clear:
                der, right, count = pooled(clear)
                figures[f"clear_voices_{mode}_{split}"] = der
                emit(
                    f"   clearly different voices (mixes, espeak), {split}, "
                    f"{'right count given' if mode == 'hint' else 'count not given'}: "
                    f"DER {der:.1%}"
                    + (_verdict(der, TARGET_CLEAR_DER, "%") if mode == "hint" else "")
                )
        two = [
            r
            for r in results
            if r.mode == mode and r.kind == "real" and r.score.reference_speakers == 2
        ]
        if two:
            der, right, count = pooled(two)
            names = ", ".join(r.name for r in two)
            figures[f"real_two_person_{mode}"] = der
            emit(
                f"   real two-person conversation ({names}), "
                f"{'right count given' if mode == 'hint' else 'count not given'}: "
                f"DER {der:.1%}" + _verdict(der, TARGET_REAL_TWO_DER, "%")
            )
    for r in long:
        if r.failed or r.duration_s < 100 * 60:
            continue
        cpu_min = r.measurement.cpu_s / 60 * (120 * 60 / r.duration_s)
        figures["two_hours_cpu_min"] = cpu_min
        figures["two_hours_peak_rss_mb"] = r.measurement.peak_rss_mb
        emit(
            f"   two hours: {cpu_min:.1f} CPU min"
            + _verdict(cpu_min, TARGET_TWO_HOURS_CPU_MIN, " min")
            + f"; peak RSS {r.measurement.peak_rss_mb:.0f} MB"
            + _verdict(r.measurement.peak_rss_mb, TARGET_TWO_HOURS_RSS_MB, " MB")
        )
    if not long:
        emit("   two hours: not measured (BENCH_DIARIZATION_LONG=1 measures it)")
    return figures


def _verdict(value: float, target: float, unit: str) -> str:
    shown = f"{target:.0%}" if unit == "%" else f"{target:g}{unit}"
    return f" (target <= {shown}: {'met' if value <= target else 'NOT met'})"


def emit_material(items: Sequence[Item]) -> None:
    emit(
        f"   {'item':36s} {'split':10s} {'kind':6s} {'speakers':>8s} {'length':>7s} {'speech':>7s}"
    )
    for item in items:
        emit(
            f"   {item.name:36s} {item.split:10s} {item.kind:6s} {item.speakers:8d} "
            f"{item.duration_s:6.1f}s {item.speech_s:6.1f}s  {item.note}"
        )


# -- entry points --------------------------------------------------------------------------------


def run() -> None:
    from bench.server import machine_description

    spec = os.environ.get("BENCH_DIARIZER", DIARIZER)
    split = os.environ.get("BENCH_DIARIZATION_SPLIT") or None
    if split not in (None, *SPLITS):
        raise SystemExit(f"BENCH_DIARIZATION_SPLIT must be one of {', '.join(SPLITS)}")
    items = load_items(split=split)
    emit(f"   machine: {machine_description()}")
    emit_material(items)
    module = spec.partition(":")[0]
    if not _importable(module):
        emit(
            f"\n   {module} is not there yet: nothing to diarize (BENCH_DIARIZER=module:function "
            "measures another diarizer)"
        )
        return
    began = time.monotonic()
    measure = in_child(spec)
    with tempfile.TemporaryDirectory(prefix="mina-bench-diarization-") as scratch:
        workdir = Path(scratch)
        results = diarize_items(items, measure, workdir)
        emit_summaries(results)
        long: list[Result] = []
        long_mode = os.environ.get("BENCH_DIARIZATION_LONG", "")
        if long_mode in ("1", "whole"):
            how = (
                "the whole audio given to diarize"
                if long_mode == "whole"
                else "audio read from disk in chunks (diarize_chunks, where there is one)"
            )
            emit(f"\n   long meetings, count left to the diarizer, {how}:")
            long = diarize_long(in_child(spec, chunked=long_mode == "1"), workdir)
        figures = emit_targets(results, long)
    document = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "machine": machine_description(),
        "diarizer": spec,
        "results": [r.as_json() for r in results],
        "long": [r.as_json() for r in long],
        "targets": figures,
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"diarization-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    emit(f"\n   took {document['elapsed_s']:.0f} s; figures in {path}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.diarization", description=__doc__)
    parser.add_argument(
        "--chunked", action="store_true", help="(internal, with --child) read the audio in chunks"
    )
    parser.add_argument(
        "--child",
        nargs=3,
        metavar=("SPEC", "PCM", "SPEAKERS"),
        help="(internal) measure one call in this process and print it as JSON",
    )
    args = parser.parse_args(argv)
    if args.child:
        spec, pcm, speakers = args.child
        _child_main(spec, pcm, int(speakers), chunked=args.chunked)
    else:
        run()


if __name__ == "__main__":
    main(sys.argv[1:])
