"""What every export renders: a meeting, its facts, its insights and its transcript, read once
from the store."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from mina import store
from mina.models import Meeting, utcnow
from mina.shapes import meeting_out

BYTES_PER_SAMPLE = 2


@dataclass(frozen=True)
class ExportWord:
    text: str
    start_ms: int
    end_ms: int
    probability: float | None


@dataclass(frozen=True)
class ExportSegment:
    """One transcript segment as people see it: the edited text when there is an edit.

    Times are on the meeting's audio timeline (the WAV that ``/api/meetings/{id}/audio`` serves:
    recordings one after another), so a second recording never restarts the clock at zero.
    """

    id: int
    seq: int
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str
    edited: bool
    confidence: float | None
    words: list[ExportWord] = field(default_factory=list)
    original_text: str = ""  # what the engine heard, kept after an edit
    edited_at: datetime | None = None
    sentiment: float | None = None  # -1 (negative) to 1, once insights were made


@dataclass(frozen=True)
class ExportPoint:
    """A summary point, a decision or an open question, at the moment it comes from (on the
    same timeline as the transcript's segments)."""

    text: str
    segment_id: int
    start_ms: int


@dataclass(frozen=True)
class ExportActionItem:
    """An action item; ``task_status`` is its task's (open or done), None once deleted."""

    text: str
    segment_id: int
    start_ms: int
    owner: str | None
    due_date: date | None
    task_id: int | None
    task_status: str | None


@dataclass(frozen=True)
class ExportInsights:
    """What a provider made of the meeting (``mina.insights``), as it was stored."""

    provider: str
    model: str
    generated_at: datetime
    stale: bool
    summary: list[ExportPoint]
    action_items: list[ExportActionItem]
    decisions: list[ExportPoint]
    questions: list[ExportPoint]
    topics: list[tuple[str, float]]
    sentiment_overall: float | None
    sentiment_by_speaker: dict[str, float]

    @property
    def has_sections(self) -> bool:
        """Whether documents get insight sections (none when every list is empty)."""
        return bool(self.summary or self.action_items or self.decisions or self.questions)

    def texts(self) -> list[str]:
        """Every text the documents print (for fonts)."""
        items: list[ExportPoint | ExportActionItem] = [
            *self.summary,
            *self.action_items,
            *self.decisions,
            *self.questions,
        ]
        owners = [a.owner for a in self.action_items if a.owner]
        return [i.text for i in items] + owners


@dataclass(frozen=True)
class MeetingExport:
    """A meeting ready to render. ``meeting`` is the API's Meeting shape (DESIGN.md section 7)."""

    meeting_id: int
    title: str
    description: str
    status: str
    language: str
    started_at: datetime
    duration_ms: int | None
    participants: list[str]
    segments: list[ExportSegment]
    meeting: dict[str, Any]
    exported_at: datetime
    insights: ExportInsights | None = None

    @functools.cached_property
    def long_clock(self) -> bool:
        """Whether timestamps need an hours field (the meeting runs past an hour)."""
        last = max((s.end_ms for s in self.segments), default=0)
        return max(last, self.duration_ms or 0) >= 3_600_000

    def clock(self, ms: int) -> str:
        """A segment timestamp: ``mm:ss``, or ``h:mm:ss`` throughout a meeting over an hour."""
        return format_clock(ms, hours=self.long_clock)


def format_clock(ms: int, *, hours: bool = False) -> str:
    seconds = max(0, ms) // 1000
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if hours or h else f"{m:02d}:{s:02d}"


def format_duration(ms: int | None) -> str:
    """``1 h 02 min 03 s``-style length for metadata blocks; an en dash when unknown."""
    if ms is None:
        return "–"
    seconds = round(ms / 1000)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h} h {m:02d} min {s:02d} s"
    if m:
        return f"{m} min {s:02d} s"
    return f"{s} s"


def format_due(value: date) -> str:
    """A due date as documents print it: ``7 December 2026``."""
    return f"{value.day} {value:%B %Y}"


def owner_and_due(item: ExportActionItem) -> str:
    """``Grace · due 7 December 2026`` (either part may be missing; empty when both are)."""
    parts = [item.owner] if item.owner else []
    if item.due_date:
        parts.append(f"due {format_due(item.due_date)}")
    return " · ".join(parts)


# The insight sections documents print before the transcript, in order.
SECTIONS = (
    ("Summary", "summary"),
    ("Action items", "action_items"),
    ("Decisions", "decisions"),
    ("Open questions", "questions"),
)


def insight_sections(
    insights: ExportInsights | None,
) -> list[tuple[str, list[ExportPoint] | list[ExportActionItem]]]:
    """The non-empty sections of ``insights`` with their headings; none without insights."""
    if insights is None:
        return []
    found = [(heading, getattr(insights, key)) for heading, key in SECTIONS]
    return [(heading, items) for heading, items in found if items]


def insights_byline(insights: ExportInsights) -> str:
    """Who made the insights and when, and whether the transcript changed since."""
    made = f"Made by {insights.provider}"
    if insights.model:
        made += f" ({insights.model})"
    made += f" on {format_date(insights.generated_at)}."
    if insights.stale:
        made += " The transcript was edited after they were made."
    return made


def format_date(value: datetime) -> str:
    return f"{value.day} {value:%B %Y, %H:%M} UTC"


def iso_datetime(value: datetime | None) -> str | None:
    """The ISO 8601 form the API's JSON uses (UTC with a ``Z``)."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]|[\ud800-\udfff]")


def clean_text(text: str, *, one_line: bool = True) -> str:
    """Text every format can hold: no control characters (XML, hence DOCX, refuses them), and
    for titles, names and segments one line with single spaces."""
    text = _CONTROL.sub("", text)
    return " ".join(text.split()) if one_line else text.strip()


def load_export(session: Session, *, meeting: Meeting) -> MeetingExport:
    """Everything an exporter needs about a meeting already loaded through a scoped lookup."""
    stats = store.meeting_stats(session, meeting_ids=[meeting.id])[meeting.id]
    offsets: dict[int, int] = {}
    position = 0
    for recording in store.list_recordings(session, meeting_id=meeting.id):
        offsets[recording.id] = position
        if recording.audio_path and recording.sample_rate:
            position += recording.audio_bytes * 1000 // (BYTES_PER_SAMPLE * recording.sample_rate)
    segments: list[ExportSegment] = []
    participants: list[str] = []
    for row in store.list_transcript(session, meeting_id=meeting.id):
        offset = offsets.get(row.session_id, 0)
        speaker = clean_text(row.speaker or "") or None
        if speaker and speaker not in participants:
            participants.append(speaker)
        segments.append(
            ExportSegment(
                id=row.id,
                seq=row.seq,
                start_ms=row.start_ms + offset,
                end_ms=row.end_ms + offset,
                speaker=speaker,
                text=clean_text(row.display_text),
                edited=row.edited_text is not None,
                original_text=row.text,
                edited_at=row.edited_at,
                sentiment=row.sentiment,
                confidence=row.avg_confidence,
                words=[
                    ExportWord(
                        text=str(w.get("text", "")),
                        start_ms=int(w.get("start_ms", 0)) + offset,
                        end_ms=int(w.get("end_ms", 0)) + offset,
                        probability=w.get("probability"),
                    )
                    for w in row.words
                ],
            )
        )
    return MeetingExport(
        insights=_load_insights(session, meeting_id=meeting.id, segments=segments),
        meeting_id=meeting.id,
        title=clean_text(meeting.title) or "Untitled meeting",
        description=clean_text(meeting.description, one_line=False),
        status=meeting.status.value,
        language=meeting.language,
        started_at=meeting.actual_start or meeting.created_at,
        duration_ms=store.meeting_duration_ms(meeting, stats),
        participants=participants,
        segments=segments,
        meeting=meeting_out(meeting, stats).model_dump(mode="json"),
        exported_at=utcnow(),
    )


def _load_insights(
    session: Session, *, meeting_id: int, segments: list[ExportSegment]
) -> ExportInsights | None:
    """The meeting's stored insights, their moments moved onto the export's timeline (a second
    recording's segments continue the clock); None when it has none."""
    row = store.get_insights(session, meeting_id=meeting_id)
    if row is None:
        return None
    data = row.data or {}
    moved = {s.id: s.start_ms for s in segments}
    tasks = store.meeting_task_states(session, meeting_id=meeting_id)

    def points(key: str) -> list[ExportPoint]:
        return [
            ExportPoint(
                text=clean_text(str(p.get("text", ""))),
                segment_id=int(p["segment_id"]),
                start_ms=moved.get(int(p["segment_id"]), int(p.get("start_ms", 0))),
            )
            for p in data.get(key, [])
            if clean_text(str(p.get("text", "")))
        ]

    actions = []
    for a in data.get("action_items", []):
        text = clean_text(str(a.get("text", "")))
        if not text:
            continue
        task_id = a.get("task_id")
        status = tasks.get(task_id) if isinstance(task_id, int) else None
        due = a.get("due_date")
        actions.append(
            ExportActionItem(
                text=text,
                segment_id=int(a["segment_id"]),
                start_ms=moved.get(int(a["segment_id"]), int(a.get("start_ms", 0))),
                owner=clean_text(str(a.get("owner") or "")) or None,
                due_date=date.fromisoformat(due) if due else None,
                task_id=task_id if status is not None else None,
                task_status=status.value if status is not None else None,
            )
        )
    sentiment = data.get("sentiment") or {}
    return ExportInsights(
        provider=row.provider,
        model=row.model,
        generated_at=row.generated_at,
        stale=row.stale,
        summary=points("summary"),
        action_items=actions,
        decisions=points("decisions"),
        questions=points("questions"),
        topics=[(str(t["label"]), float(t["weight"])) for t in data.get("topics", [])],
        sentiment_overall=sentiment.get("overall"),
        sentiment_by_speaker=dict(sentiment.get("by_speaker") or {}),
    )


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()\-]+")


def export_filename(title: str, extension: str, *, ascii_only: bool = False) -> str:
    """A file name made from the title: no path separators, control or reserved characters.

    ``ascii_only`` folds accents and drops what ASCII cannot spell (the ``filename=`` fallback
    of a Content-Disposition header); otherwise any script is kept.
    """
    name = unicodedata.normalize("NFC", title)
    if ascii_only:
        name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        name = _ASCII_UNSAFE.sub("-", name)
    name = _UNSAFE.sub("-", name)
    name = re.sub(r"\s+", " ", name)
    name = re.sub(r"-{2,}", "-", name).strip(" .-")[:100].strip(" .-")
    return f"{name or 'meeting'}.{extension}"
