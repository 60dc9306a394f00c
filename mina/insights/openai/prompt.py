"""What the language model reads: the transcript as numbered lines it must cite, cut into chunks
that fit its context, the instructions, and the JSON schema its answer must follow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mina.insights.base import MeetingText

CHARS_PER_TOKEN = 4
"""A rough estimate for English speech; good enough to keep a chunk inside the context."""

MAX_ITEMS = 12
"""At most this many items of each kind per answer (keeps a weak model from looping)."""

MAX_ENUM_IDS = 200
"""Up to this many segment ids, the schema lists them, so that a server that enforces schemas
(llama.cpp, Ollama, vLLM) cannot let the model cite a line it was not shown."""


@dataclass(frozen=True, slots=True)
class Line:
    """One transcript line as the model sees it: ``[segment_id] Speaker: text``."""

    segment_id: int
    text: str

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def format_lines(meeting: MeetingText, *, max_line_tokens: int) -> list[Line]:
    """The meeting's non-empty segments as lines; a line longer than a whole chunk is cut."""
    lines = []
    limit = max(max_line_tokens, 16) * CHARS_PER_TOKEN
    for segment in meeting.segments:
        words = " ".join(segment.text.split())
        if not words:
            continue
        speaker = " ".join((segment.speaker or "Unknown").split())
        text = f"[{segment.id}] {speaker}: {words}"
        if len(text) > limit:
            text = text[: limit - 3].rstrip() + "..."
        lines.append(Line(segment.id, text))
    return lines


def split_chunks(lines: list[Line], *, budget_tokens: int) -> list[list[Line]]:
    """Consecutive runs of lines, each within ``budget_tokens`` (a line never splits)."""
    chunks: list[list[Line]] = []
    current: list[Line] = []
    used = 0
    for line in lines:
        if current and used + line.tokens > budget_tokens:
            chunks.append(current)
            current, used = [], 0
        current.append(line)
        used += line.tokens
    if current:
        chunks.append(current)
    return chunks


def _segment_id(ids: Sequence[int]) -> dict[str, Any]:
    if 0 < len(ids) <= MAX_ENUM_IDS:
        return {"type": "integer", "enum": sorted(set(ids))}
    return {"type": "integer"}


def _points(description: str, ids: Sequence[int]) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "maxItems": MAX_ITEMS,
        "items": {
            "type": "object",
            "properties": {"segment_id": _segment_id(ids), "text": {"type": "string"}},
            "required": ["segment_id", "text"],
            "additionalProperties": False,
        },
    }


def extraction_schema(ids: Sequence[int]) -> dict[str, Any]:
    """The strict JSON schema of the answer for a chunk of lines with these segment ids
    (OpenAI structured outputs: every property required, nullable ones typed
    ``[..., "null"]``, no additional properties)."""
    action = {
        "type": "object",
        "properties": {
            "segment_id": _segment_id(ids),
            "text": {"type": "string"},
            "owner": {"type": ["string", "null"]},
            "due_date": {"type": ["string", "null"], "description": "YYYY-MM-DD or null"},
        },
        "required": ["segment_id", "text", "owner", "due_date"],
        "additionalProperties": False,
    }
    topic = {
        "type": "object",
        "properties": {"label": {"type": "string"}, "weight": {"type": "number"}},
        "required": ["label", "weight"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "summary": _points("the main points, each citing the line it comes from", ids),
            "action_items": {"type": "array", "maxItems": MAX_ITEMS, "items": action},
            "decisions": _points("what the meeting decided", ids),
            "questions": _points("questions left open", ids),
            "topics": {"type": "array", "maxItems": MAX_ITEMS, "items": topic},
        },
        "required": ["summary", "action_items", "decisions", "questions", "topics"],
        "additionalProperties": False,
    }


def condense_schema(ids: Sequence[int]) -> dict[str, Any]:
    """The schema of the answer that condenses summary points citing these ids into a few."""
    schema = _points("3 to 7 points covering the meeting", ids)
    schema["maxItems"] = 7
    return {
        "type": "object",
        "properties": {"summary": schema},
        "required": ["summary"],
        "additionalProperties": False,
    }


_EXTRACT_SYSTEM = """\
You read meeting transcripts and answer with one JSON object, nothing else.
Each transcript line starts with its id in square brackets: [id] Speaker: text.
Every item you give must cite, in "segment_id", the id of the line it comes from.
Use only ids that appear in the transcript. Do not invent facts."""

_EXTRACT_TASK = """\
Meeting: {title}
Meeting date: {date} ({weekday}). Write due dates as absolute dates YYYY-MM-DD resolved \
against this date ("tomorrow" is {tomorrow}), or null when none was said.
{part}
Transcript:
{transcript}

Answer with a JSON object with these keys:
- "summary": the main points, as [{{"segment_id", "text"}}], at most 7;
- "action_items": commitments and requests, as [{{"segment_id", "text", "owner", \
"due_date"}}]; "owner" is the person who will do it (a name or a speaker label) or null;
- "decisions": what was decided, as [{{"segment_id", "text"}}];
- "questions": questions left open, as [{{"segment_id", "text"}}];
- "topics": the subjects discussed, as [{{"label", "weight"}}], weight from 0 to 1, \
the most important first.
Use an empty list when there is nothing of a kind."""

_CONDENSE_TASK = """\
These are summary points of one meeting, each with the id of the line it comes from:
{points}

Condense them into 3 to 7 points that cover the whole meeting, in the order things were said.
Answer with a JSON object {{"summary": [{{"segment_id", "text"}}]}}; each point keeps the id \
of a point it comes from."""


def extraction_messages(
    meeting: MeetingText, chunk: list[Line], *, index: int, count: int
) -> list[dict[str, str]]:
    """The chat messages that ask for one chunk's insights."""
    day = meeting.meeting_date
    tomorrow = day.fromordinal(day.toordinal() + 1)
    part = f"This is part {index + 1} of {count} of the transcript.\n" if count > 1 else ""
    task = _EXTRACT_TASK.format(
        title=meeting.title or "(untitled)",
        date=day.isoformat(),
        weekday=day.strftime("%A"),
        tomorrow=tomorrow.isoformat(),
        part=part,
        transcript="\n".join(line.text for line in chunk),
    )
    return [{"role": "system", "content": _EXTRACT_SYSTEM}, {"role": "user", "content": task}]


def condense_messages(points: list[tuple[str, int]]) -> list[dict[str, str]]:
    """The chat messages that ask to condense summary points (text, segment id) into 3-7."""
    listed = "\n".join(f"[{segment_id}] {text}" for text, segment_id in points)
    return [
        {"role": "system", "content": _EXTRACT_SYSTEM},
        {"role": "user", "content": _CONDENSE_TASK.format(points=listed)},
    ]
