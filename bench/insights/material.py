"""The insight benchmark's meetings: annotated scripts, their espeak-ng audio and the transcripts
the real speech model made of it.

``scripts/*.json`` are meeting scripts written for this benchmark, one a file: ``reference`` (when
the meeting started, local time), ``labels`` (``names``: segments carry the speakers' names, as
after people renamed them; ``numbers``: "Speaker N" in order of first speech, as diarization
leaves them), ``voices`` (an espeak-ng voice per speaker), ``turns`` ([speaker, text]) and the
annotations: ``action_items`` (turn, text, owner, due_date as YYYY-MM-DD or null), ``decisions``
(turn, text) and ``key_points`` (turns, text) a summary should cover. ``held_out`` scripts are
kept out of tuning.

``transcripts/*.json`` are what the whisper engine (tiny.en, the uploads' whole-file decoding,
cut into segments by the live stream's rules) heard of each script spoken turn by turn with short
pauses; every segment carries the turn it overlaps most, and that turn's speaker as its label.
``regenerate_transcripts`` makes them again (espeak-ng, sox and a few minutes of CPU).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from mina.insights.base import MeetingText, SourceSegment

HERE = Path(__file__).parent
SCRIPTS_DIR = HERE / "scripts"
TRANSCRIPTS_DIR = HERE / "transcripts"
PAUSE_S = (0.6, 0.9, 0.7, 1.1)  # between turns, in turn
SPEED_WPM = 140


@dataclass(frozen=True)
class Annotated:
    """An annotated action item or decision."""

    turn: int
    text: str
    owner: str | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class KeyPoint:
    turns: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class Script:
    name: str
    title: str
    held_out: bool
    reference: datetime
    labels: str
    voices: dict[str, str]
    turns: tuple[tuple[str, str], ...]
    action_items: tuple[Annotated, ...]
    decisions: tuple[Annotated, ...]
    key_points: tuple[KeyPoint, ...]

    def label_of(self, speaker: str) -> str:
        """The label segments of ``speaker`` carry."""
        if self.labels == "names":
            return speaker
        order = list(dict.fromkeys(name for name, _ in self.turns))
        return f"Speaker {order.index(speaker) + 1}"


@dataclass(frozen=True)
class Transcript:
    """A meeting as the provider reads it, and the turn of each of its segments."""

    script: Script
    meeting: MeetingText
    turn_of: dict[int, int]


def load_scripts() -> list[Script]:
    return [_read_script(path) for path in sorted(SCRIPTS_DIR.glob("*.json"))]


def _read_script(path: Path) -> Script:
    data = json.loads(path.read_text())

    def annotated(item: dict[str, object]) -> Annotated:
        due = item.get("due_date")
        return Annotated(
            turn=int(str(item["turn"])),
            text=str(item["text"]),
            owner=str(item["owner"]) if item.get("owner") else None,
            due_date=date.fromisoformat(str(due)) if due else None,
        )

    return Script(
        name=path.stem,
        title=data["title"],
        held_out=bool(data.get("held_out", False)),
        reference=datetime.fromisoformat(data["reference"]).astimezone(),
        labels=data["labels"],
        voices=data["voices"],
        turns=tuple((speaker, text) for speaker, text in data["turns"]),
        action_items=tuple(annotated(item) for item in data["action_items"]),
        decisions=tuple(annotated(item) for item in data["decisions"]),
        key_points=tuple(KeyPoint(tuple(p["turns"]), p["text"]) for p in data["key_points"]),
    )


def script_text(script: Script) -> Transcript:
    """The script itself as a transcript: one segment per turn, 1 s of time per 2.5 words."""
    segments = []
    clock = 0
    for index, (speaker, text) in enumerate(script.turns):
        length = int(len(text.split()) / 2.5 * 1000)
        segments.append(
            SourceSegment(index + 1, clock, clock + length, script.label_of(speaker), text)
        )
        clock += length + 700
    meeting = _meeting(script, tuple(segments))
    return Transcript(script, meeting, {index + 1: index for index in range(len(script.turns))})


def recognised(script: Script) -> Transcript:
    """The committed transcript of ``script``'s audio."""
    data = json.loads((TRANSCRIPTS_DIR / f"{script.name}.json").read_text())
    segments = tuple(
        SourceSegment(s["id"], s["start_ms"], s["end_ms"], s["speaker"], s["text"])
        for s in data["segments"]
    )
    turn_of = {s["id"]: s["turn"] for s in data["segments"]}
    return Transcript(script, _meeting(script, segments), turn_of)


def _meeting(script: Script, segments: tuple[SourceSegment, ...]) -> MeetingText:
    return MeetingText(
        meeting_id=0, title=script.title, reference=script.reference, segments=segments
    )


@dataclass(frozen=True)
class ScriptAudio:
    """A script spoken turn by turn: 16 kHz mono int16 samples, each turn's (start, end) in
    seconds, and the length in seconds."""

    pcm: object  # numpy int16 array (numpy is imported only where audio is made)
    spans: tuple[tuple[float, float], ...]
    duration_s: float


def script_audio(script: Script) -> ScriptAudio:
    """``script`` spoken by espeak-ng, a voice per speaker, with short pauses between turns."""
    import numpy as np

    from bench.speakers.audio import silence
    from bench.speakers.dialogues import Voice, speak

    lines = [
        (Voice(script.voices[speaker], speed=SPEED_WPM), text) for speaker, text in script.turns
    ]
    utterances = speak(lines)
    pieces: list[np.ndarray] = [silence(0.5)]
    spans: list[tuple[float, float]] = []
    clock = 0.5
    for index, utterance in enumerate(utterances):
        spans.append((clock, clock + utterance.duration_s))
        pieces.append(utterance.pcm)
        pause = PAUSE_S[index % len(PAUSE_S)]
        pieces.append(silence(pause))
        clock += utterance.duration_s + pause
    return ScriptAudio(np.concatenate(pieces), tuple(spans), clock)


def regenerate_transcripts(scripts: list[Script]) -> None:
    """Speak every script with espeak-ng and transcribe it with tiny.en, as uploads are."""
    import numpy as np

    from bench.speakers.audio import to_float
    from mina.engines.registry import load_engine
    from mina.live.config import StreamConfig
    from mina.live.final_segments import segment_words
    from mina.live.reconcile import TimedWord

    engine = load_engine("whisper", model="tiny.en")
    TRANSCRIPTS_DIR.mkdir(exist_ok=True)
    for script in scripts:
        spoken = script_audio(script)
        spans, clock = spoken.spans, spoken.duration_s
        audio = to_float(spoken.pcm)  # type: ignore[arg-type]
        words = [
            TimedWord(word.text, word.start, word.end, word.probability)
            for segment in engine.transcribe_file(audio)  # type: ignore[attr-defined]
            for word in segment.words
        ]
        segments = []
        for number, segment in enumerate(segment_words(words, StreamConfig()), start=1):
            overlaps = [
                max(0.0, min(segment.end, end) - max(segment.start, start)) for start, end in spans
            ]
            middle = (segment.start + segment.end) / 2
            distances = [
                0.0 if start <= middle <= end else min(abs(middle - start), abs(middle - end))
                for start, end in spans
            ]
            # the turn it overlaps most; where it overlaps none, the nearest
            turn = int(np.argmax(overlaps)) if max(overlaps) > 0 else int(np.argmin(distances))
            segments.append(
                {
                    "id": number,
                    "start_ms": round(segment.start * 1000),
                    "end_ms": round(segment.end * 1000),
                    "speaker": script.label_of(script.turns[turn][0]),
                    "turn": turn,
                    "text": segment.text,
                }
            )
        document = {
            "script": script.name,
            "model": "tiny.en",
            "duration_s": round(clock, 1),
            "segments": segments,
        }
        path = TRANSCRIPTS_DIR / f"{script.name}.json"
        path.write_text(json.dumps(document, indent=1) + "\n")
