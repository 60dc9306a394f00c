"""Meeting insights of the local provider, scored on annotated scripts heard by tiny.en.

Action items (precision, recall, owners and due dates), decisions, summary coverage and CPU time,
on meeting scripts as recognised from their espeak-ng audio.

The material is ``bench/insights/material.py``'s: meeting scripts written for this benchmark,
annotated by hand, spoken by espeak-ng and transcribed by the whisper engine (tiny.en) as an
upload is; the transcripts are committed, so this runs in seconds without the speech model.
Each split (tuning; held out, never looked at while tuning) is scored on the recognised
transcripts and, on a second line, on the script text itself; how items are matched is in
``bench/insights/scoring.py``. CPU time is the provider's ``generate`` (spaCy model loaded
beforehand; its load time is printed apart); the 1-hour figure is for every transcript
concatenated, again and again, to 9,000 words.

Targets: action-item recall >= 0.8 and precision >= 0.7, due dates right >= 0.8 (recognised
transcripts); a 1-hour meeting in <= 10 CPU s.

``python -m bench insights --retranscribe`` speaks and transcribes the scripts again (espeak-ng,
sox and a few minutes of CPU); ``--misses`` lists every miss, extra item, wrong owner and date.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from dataclasses import replace

from bench.insights.material import (
    Script,
    Transcript,
    load_scripts,
    recognised,
    regenerate_transcripts,
    script_text,
)
from bench.insights.scoring import Counts, score_actions, score_decisions, summary_coverage
from bench.stats import emit
from mina.insights.base import MeetingText, SourceSegment
from mina.insights.local import LocalProvider

TARGET_RECALL = 0.8
TARGET_PRECISION = 0.7
TARGET_DUE = 0.8
TARGET_HOUR_CPU_S = 10.0
HOUR_WORDS = 9000


def evaluate(
    provider: LocalProvider, transcripts: list[Transcript]
) -> tuple[Counts, Counts, tuple[int, int], float]:
    """Action counts, decision counts, (covered, key points) and CPU seconds per meeting."""
    actions, decisions = Counts(), Counts()
    covered = total = 0
    cpu = 0.0
    for transcript in transcripts:
        started = time.process_time()
        insights = provider.generate(transcript.meeting)
        cpu += time.process_time() - started
        actions.add(score_actions(transcript, insights))
        decisions.add(score_decisions(transcript, insights))
        hit, count = summary_coverage(transcript, insights)
        covered += hit
        total += count
    return actions, decisions, (covered, total), cpu / max(1, len(transcripts))


def hour_meeting(transcripts: list[Transcript]) -> MeetingText:
    """Every transcript, again and again, until about an hour of talk (9,000 words)."""
    segments: list[SourceSegment] = []
    offset = 0
    words = 0
    while words < HOUR_WORDS:
        for transcript in transcripts:
            last = 0
            for segment in transcript.meeting.segments:
                segments.append(
                    replace(
                        segment,
                        id=len(segments) + 1,
                        start_ms=segment.start_ms + offset,
                        end_ms=segment.end_ms + offset,
                    )
                )
                words += len(segment.text.split())
                last = segment.end_ms
            offset += last + 2000
    first = transcripts[0].meeting
    return MeetingText(0, "An hour of meetings", first.reference, tuple(segments))


def _line(label: str, result: tuple[Counts, Counts, tuple[int, int], float]) -> str:
    actions, decisions, (covered, points), cpu = result
    return (
        f"   {label:<26} actions P {actions.precision:.2f} R {actions.recall:.2f} "
        f"({actions.matched}/{actions.predicted} predicted, {actions.matched}/{actions.annotated} "
        f"annotated)  owner {actions.owner_accuracy:.2f}  due {actions.due_accuracy:.2f}  |  "
        f"decisions P {decisions.precision:.2f} R {decisions.recall:.2f}  |  summary coverage "
        f"{covered / max(1, points):.2f} ({covered}/{points})  |  {cpu:.2f} CPU s/meeting"
    )


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench insights", description=__doc__)
    parser.add_argument("--retranscribe", action="store_true", help="remake the transcripts")
    parser.add_argument("--misses", action="store_true", help="list what went wrong")
    parser.add_argument("--split", choices=["tuning", "held-out", "both"], default="both")
    args = parser.parse_args(argv or [])
    scripts = load_scripts()
    if args.retranscribe:
        emit("   speaking and transcribing the scripts (espeak-ng, whisper tiny.en)...")
        regenerate_transcripts(scripts)
    provider = LocalProvider()
    wall, cpu, before = time.perf_counter(), time.process_time(), _rss_mb()
    provider.load()
    emit(
        f"   model load: {time.perf_counter() - wall:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} CPU s, +{_rss_mb() - before:.0f} MB resident "
        f"({provider.model})"
    )
    splits: list[tuple[str, list[Script]]] = [
        ("tuning", [s for s in scripts if not s.held_out]),
        ("held-out", [s for s in scripts if s.held_out]),
    ]
    misses: list[str] = []
    for name, chosen in splits:
        if args.split not in (name, "both"):
            continue
        for source, make in (("recognised", recognised), ("script text", script_text)):
            result = evaluate(provider, [make(s) for s in chosen])
            emit(_line(f"{name} ({len(chosen)}), {source}:", result))
            misses += [f"{name}/{source}: {m}" for m in result[0].misses]
    every = [recognised(s) for s in scripts]
    meeting = hour_meeting(every)
    provider.generate(every[0].meeting)
    started = time.process_time()
    provider.generate(meeting)
    hour_cpu = time.process_time() - started
    words = sum(len(s.text.split()) for s in meeting.segments)
    emit(
        f"   1-hour meeting ({words} words, {len(meeting.segments)} segments): "
        f"{hour_cpu:.2f} CPU s (target <= {TARGET_HOUR_CPU_S:.0f}), peak RSS of the bench "
        f"{_peak_rss_mb():.0f} MB"
    )
    emit(
        f"   targets (recognised): action recall >= {TARGET_RECALL}, precision >= "
        f"{TARGET_PRECISION}, due dates >= {TARGET_DUE}"
    )
    if args.misses:
        for line in misses:
            emit(f"     {line}")


def _rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
