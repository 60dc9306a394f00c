"""Render time and size of every export format for a one-hour meeting (in process, no server).

900 segments of 4 s from six speakers, in Latin, Cyrillic and Greek text; then the same meeting
with one Chinese segment, which makes the PDF embed its CJK fallback font.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

from bench.stats import emit, summary_ms
from mina import exporters
from mina.exporters import ExportSegment, ExportWord, MeetingExport

ROUNDS = 5
SEGMENTS = 900
SPEAKERS = ["Ada Lovelace", "Grace Hopper", "Дмитрий", "Νίκος", "Amélie", "Kwame"]
LINES = [
    "We reviewed the numbers for the quarter and the trend is better than we expected.",
    "Привет всем, отчёт о тестировании готов, осталось проверить последние изменения.",
    "Καλημέρα σας, η μετάφραση είναι έτοιμη και θα τη στείλουμε αύριο το πρωί.",
    "Café au lait for everyone: the naïve plan needs a façade of déjà vu, said Zoë.",
]


def _meeting() -> MeetingExport:
    segments = []
    for i in range(SEGMENTS):
        text = LINES[i % len(LINES)]
        start = i * 4_000
        words = [
            ExportWord(w, start + j * 250, start + j * 250 + 200, 0.9)
            for j, w in enumerate(text.split())
        ]
        segments.append(
            ExportSegment(
                id=i + 1,
                seq=i,
                start_ms=start,
                end_ms=start + 3_800,
                speaker=SPEAKERS[i % len(SPEAKERS)],
                text=text,
                edited=False,
                confidence=0.9,
                words=words,
            )
        )
    now = datetime.now(UTC)
    return MeetingExport(
        meeting_id=1,
        title="Benchmark meeting",
        description="",
        status="completed",
        language="en",
        started_at=now,
        duration_ms=SEGMENTS * 4_000,
        participants=SPEAKERS,
        segments=segments,
        meeting={"id": 1, "title": "Benchmark meeting"},
        exported_at=now,
    )


def _bench(label: str, export: MeetingExport, formats: list[str]) -> None:
    for extension in formats:
        found = exporters.get_format(extension)
        assert found is not None
        found.render(export)  # warm: imports, fonts
        samples = []
        size = 0
        for _ in range(ROUNDS):
            started = time.perf_counter()
            size = len(found.render(export))
            samples.append(time.perf_counter() - started)
        emit(f"{label:<10} {extension:<5} {size / 1024:8.0f} KiB  {summary_ms(samples)}")


def run() -> None:
    export = _meeting()
    _bench("1 h", export, [f.extension for f in exporters.list_formats()])
    cjk = dataclasses.replace(export.segments[0], text="大家好，我们下周开始测试。")
    _bench("1 h + CJK", dataclasses.replace(export, segments=[cjk, *export.segments[1:]]), ["pdf"])
