"""The live pipeline in virtual time: real model, real speech, a fixed cost per decode.

``bench streaming`` measures the real server on the wall clock, so its figures move with the
machine's load and the decode schedule (which decode sees which audio) changes from run to run.
This benchmark runs ``StreamSession`` in process instead, on a virtual clock: 100 ms frames
arrive in real time, each step costs what its decodes are declared to cost (a streaming decode
``--interim-cost`` plus ``--interim-per-s`` per buffered second, a final decode
``--final-cost``, all times ``--load``, with seeded jitter), and the next step sees the frames
that arrived meanwhile, as the recorder's process loop does. The schedule, and with it the
transcript, depends only on those costs, so two pipeline variants compare on equal terms, and a
loaded machine is a ``--load`` away.

The speech is tuning speech (the tuning clips of ``tests/speechdata.py`` and an espeak-ng
meeting written for this file, not the held-out meeting of ``bench streaming``): tune here,
then confirm on ``bench streaming``. ``--stream mic`` replays the browser tests' fake microphone
(two tuning clips, looped ``--passes`` times). Lags and WER come from the same analysis as
``bench streaming``; duplicated or lost runs of words are listed.

    python -m bench simulate                        # 4 orders of the tuning meeting
    python -m bench.simulate --load 2.5 --stream mic --passes 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.analysis import StreamFigures, StreamRun, analyse, pooled_wer
from bench.meeting_audio import (
    BYTES_PER_SECOND,
    MeetingStream,
    Placed,
    Utterance,
    build_stream,
    check_tools,
    read_wav_pcm,
    rotated,
    synthesise,
)
from bench.stats import emit, percentile
from mina.engines.base import SpeechEngine, TranscribeOptions, Word
from mina.live.config import StreamConfig
from mina.live.final_segments import to_new_segment
from mina.live.pacing import StepPacer
from mina.live.streaming import StepResult, StreamSession
from mina.shapes import interim_json
from tests.speechdata import get_clip, load_clips

FRAME_BYTES = 3200  # 100 ms, as the browser sends
WAKE_S = 0.5  # the recorder's process loop wakes at least this often
STREAMS = 4

# A budget review, for tuning only (bench/meeting_audio.py holds the held-out meeting).
TUNING_TEXT = [
    "Thanks for coming, everyone. This is the quarterly budget review, and we have a lot to "
    "cover before lunch.",
    "Travel spending was lower than we planned, because most of the conferences moved online.",
    "The support team asked for two more people. Their waiting times doubled since the spring.",
    "I think we can afford one hire now and another one after the summer, if sales stay where "
    "they are.",
    "Hardware is the surprise this quarter. The new laptops cost more than the quote, and the "
    "delivery was late.",
    "Please send me your estimates for next year by the end of the week, so finance can check "
    "them in time.",
]
MIC_CLIPS = ["jfk", "sense_and_sensibility_01_austen_64kb-0870"]  # as tests/test_browser.py


@dataclass(frozen=True)
class Costs:
    interim_s: float = 0.15
    interim_per_s: float = 0.02
    final_s: float = 0.5
    load: float = 1.0
    jitter: float = 0.2  # each decode costs between 1 - jitter and 1 + jitter times its price


class CostedEngine:
    """The real engine, with the virtual time each decode is declared to take."""

    def __init__(self, engine: SpeechEngine, costs: Costs, seed: int) -> None:
        self.engine = engine
        self.costs = costs
        self.rng = random.Random(seed)
        self.spent = 0.0
        self.last_interim_s = 0.0
        self.sample_rate = engine.sample_rate

    def transcribe(
        self, audio: Any, *, prompt: str = "", language: str | None = None, final: bool = False
    ) -> list[Word]:
        costs = self.costs
        price = (
            costs.final_s
            if final
            else costs.interim_s + costs.interim_per_s * (len(audio) / self.sample_rate)
        )
        cost = price * costs.load * self.rng.uniform(1 - costs.jitter, 1 + costs.jitter)
        self.spent += cost
        if not final:
            self.last_interim_s = cost
        return self.engine.transcribe(audio, prompt=prompt, language=language, final=final)


def simulate(
    stream: MeetingStream,
    engine: SpeechEngine,
    costs: Costs,
    seed: int,
    label: str,
    config: StreamConfig | None = None,
) -> StreamRun:
    """One stream through a ``StreamSession`` on the virtual clock; events as the server's."""
    costed = CostedEngine(engine, costs, seed)
    config = config or StreamConfig()
    session = StreamSession(costed, config)  # type: ignore[arg-type]
    # as the server's pacer, for one stream on one decoder (decodes here run one at a time)
    pacer = StepPacer(
        replicas=1,
        min_step_s=config.min_step_s,
        max_step_s=config.max_step_s,
        clock=lambda: now,
    )
    run = StreamRun(label=label, stream=stream, offset_s=0.0, t0=0.0)
    frames = [stream.pcm[i : i + FRAME_BYTES] for i in range(0, len(stream.pcm), FRAME_BYTES)]
    arrivals = np.cumsum([len(f) / BYTES_PER_SECOND for f in frames])
    seq = 0
    now = 0.0
    fed = 0

    def deliver(result: StepResult) -> None:
        nonlocal seq
        for segment in result.finals:
            shaped = to_new_segment(segment, seq)
            run.events.append((now, {"type": "final", "segment": {**shaped.__dict__}}))
            seq += 1
        if result.interim_changed:
            run.events.append((now, interim_json(result.interim)))

    while fed < len(frames):
        if arrivals[fed] > now:  # idle: wait for the next frame (or the loop's timeout)
            now = min(float(arrivals[fed]), now + WAKE_S)
        while fed < len(frames) and arrivals[fed] <= now + 1e-9:
            session.feed(frames[fed])
            fed += 1
        step_s = pacer.step_s(label)
        if not session.may_work(step_s=step_s):  # as the recorder, which then stays off the pool
            session.defer(step_s=step_s)
            continue
        before = costed.spent
        result = session.step(step_s=step_s)
        now += costed.spent - before
        if result.interim_decode_s is not None:
            pacer.observe(label, costed.last_interim_s)
        deliver(result)
    now = max(now, float(arrivals[-1]))
    stop_sent = now
    before = costed.spent
    result = session.finish()
    now += costed.spent - before
    deliver(result)
    finals = [m for _, m in run.events if m["type"] == "final"]
    run.stopped = {
        "segments": len(finals),
        "words": sum(len(m["segment"]["text"].split()) for m in finals),
    }
    run.drain_s = now - stop_sent
    return run


def tuning_streams(workdir: Path, count: int) -> list[MeetingStream]:
    spoken = [synthesise(text, f"tune{i:02d}", workdir) for i, text in enumerate(TUNING_TEXT)]
    clips = [
        Utterance(clip.name, read_wav_pcm(clip.wav, workdir), clip.reference)
        for clip in load_clips("tuning")
    ]
    utterances = list(spoken)
    for index, clip in enumerate(clips):  # a clip after every other spoken paragraph
        utterances.insert(3 * index + 2, clip)
    return [build_stream(rotated(utterances, 3 * i), seed=i) for i in range(count)]


def mic_stream(passes: int) -> MeetingStream:
    """The browser tests' fake microphone, looped: 0.5 s, jfk, 0.7 s, 0870, 4 s of silence."""
    silence = {s: bytes(2 * round(s * 16000)) for s in (0.5, 0.7, 4.0)}
    clips = [get_clip(name) for name in MIC_CLIPS]
    pcm = bytearray()
    placed = []
    for _ in range(passes):
        pcm += silence[0.5]
        for index, clip in enumerate(clips):
            if index:
                pcm += silence[0.7]
            start = len(pcm) / BYTES_PER_SECOND
            pcm += read_wav_pcm(clip.wav, Path(tempfile.gettempdir()))
            placed.append(Placed(clip.name, start, len(pcm) / BYTES_PER_SECOND, clip.reference))
        pcm += silence[4.0]
    return MeetingStream(bytes(pcm), " ".join(p.reference for p in placed), placed)


def _lags(figures: list[StreamFigures]) -> tuple[list[float], list[float], list[float]]:
    settled = [lag for f in figures for lag in f.confirmed_lags(0.0)]
    final = [lag for f in figures for lag in f.final_lags(0.0)]
    interim = [lag for f in figures for lag in f.interim_lags]
    return settled, final, interim


def report(figures: list[StreamFigures], audio_s: float) -> dict[str, Any]:
    settled, final, interim = _lags(figures)
    floor = [lag for f in figures for lag in f.final_floor_lags()]
    document = {
        "streams": len(figures),
        "audio_s": round(audio_s, 1),
        "wer": round(pooled_wer(figures), 4),
        "wer_per_stream": [round(f.wer, 4) for f in figures],
        "settled_p50_s": round(percentile(settled, 50), 2),
        "settled_p95_s": round(percentile(settled, 95), 2),
        "final_p50_s": round(percentile(final, 50), 2),
        "final_p95_s": round(percentile(final, 95), 2),
        "final_floor_p50_s": round(percentile(floor, 50), 2),
        "final_floor_p95_s": round(percentile(floor, 95), 2),
        "interim_p50_s": round(percentile(interim, 50), 2),
        "corrected_interims": sum(f.unmatched_interims for f in figures),
        "drain_s": round(statistics.fmean(f.drain_s for f in figures), 2),
        "issues": [issue for f in figures for issue in f.issues],
    }
    return document


def _with_fields(options: Any, pairs: list[str]) -> Any:
    """A frozen dataclass with ``NAME=VALUE`` fields replaced (values of the field's type)."""
    for pair in pairs:
        name, _, value = pair.partition("=")
        current = getattr(options, name)
        parsed: Any
        if value == "None":
            parsed = None
        elif isinstance(current, bool):  # bool("False") is True
            if value not in ("True", "False"):
                raise SystemExit(f"{name}: expected True or False, got {value!r}")
            parsed = value == "True"
        else:
            parsed = (type(current) if current is not None else float)(value)
        options = replace(options, **{name: parsed})
    return options


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate", description=__doc__)
    parser.add_argument("--stream", choices=["tuning", "mic"], default="tuning")
    parser.add_argument("--streams", type=int, default=STREAMS, help="tuning: how many orders")
    parser.add_argument("--passes", type=int, default=3, help="mic: passes of the loop")
    parser.add_argument("--load", type=float, default=1.0, help="multiplies every decode cost")
    parser.add_argument("--interim-cost", type=float, default=Costs.interim_s)
    parser.add_argument("--interim-per-s", type=float, default=Costs.interim_per_s)
    parser.add_argument("--final-cost", type=float, default=Costs.final_s)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TranscribeOptions field for the engine (beam_size=5, ...); repeatable",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a StreamConfig field (pause_s=0.4, ...); repeatable",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each transcript")
    args = parser.parse_args([] if argv is None else argv)
    from mina.engines.whisper import create_engine

    costs = Costs(args.interim_cost, args.interim_per_s, args.final_cost, args.load)
    engine = create_engine(model=args.model, options=_with_fields(TranscribeOptions(), args.option))
    config = _with_fields(StreamConfig(), args.config)
    with tempfile.TemporaryDirectory(prefix="mina-simulate-") as tmp:
        if args.stream == "mic":
            streams = [mic_stream(args.passes)]
        else:
            check_tools()
            streams = tuning_streams(Path(tmp), args.streams)
        started = time.monotonic()
        figures = []
        for index, stream in enumerate(streams):
            label = f"stream {index + 1}"
            simulated = simulate(stream, engine, costs, args.seed + index, label, config)
            figures.append(analyse(simulated))
            if args.verbose:
                emit(f"-- stream {index + 1}: {figures[-1].hypothesis}")
    document = report(figures, sum(s.duration_s for s in streams))
    document["costs"] = costs.__dict__
    document["wall_s"] = round(time.monotonic() - started, 1)
    emit(
        f"{document['streams']} stream(s), {document['audio_s']} s of tuning speech, costs {costs}"
    )
    emit(
        f"settled lag p50 {document['settled_p50_s']:.2f} s  p95 {document['settled_p95_s']:.2f} s"
        f" | final p50 {document['final_p50_s']:.2f} s  p95 {document['final_p95_s']:.2f} s"
        f" (floor {document['final_floor_p50_s']:.2f} / {document['final_floor_p95_s']:.2f} s)"
        f" | interim p50 {document['interim_p50_s']:.2f} s"
    )
    emit(
        f"WER {document['wer']:.2%} (per stream {document['wer_per_stream']}); "
        f"{document['corrected_interims']} settled interims corrected; "
        f"drain {document['drain_s']:.2f} s; {document['wall_s']} s wall"
    )
    for issue in document["issues"]:
        emit(f"  {issue}")


if __name__ == "__main__":
    run(sys.argv[1:])
