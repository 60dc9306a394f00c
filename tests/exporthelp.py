"""A finished meeting made through the store, for the export tests: several speakers and scripts,
an edited segment, an emptied one, overlapping times, word timings and a second hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from mina import store
from mina.models import Segment, utcnow

TITLE = "Quarterly review: Réunion über Ünïcode"
ORIGINAL = "the budget is probably fine i think"
EDITED = "The budget is approved for Q1."
EMPTIED = "uh um"
HOUR_TEXT = "One more thing after the long break."
HOUR_START_MS = 3_723_456  # 1:02:03.456
HOUR_END_MS = 3_727_001
CYRILLIC = "Привет всем, отчёт о тестировании готов."
GREEK = "Καλημέρα σας, η μετάφραση είναι έτοιμη."
CJK = "大家好，我们下周开始测试。"
ACCENTED = "Café au lait, naïve façade, Zoë et Noël: à bientôt."
# long enough to be cut into several subtitle cues, with a timing for every word
LONG_WORDS = (
    "we will ship the export feature next week after the security review and then start "
    "planning the upload page with drag and drop and a progress bar for every file"
).split()
LONG_START_MS = 40_000
SPEAKERS = ["Ada Lovelace", "Grace Hopper", "Дмитрий", "Νίκος", "李明"]
AUDIO_MS = 3_730_000


@dataclass(frozen=True)
class MadeMeeting:
    id: int
    edited_segment_id: int
    emptied_segment_id: int


def long_word_timings() -> list[dict[str, object]]:
    return [
        {
            "text": word,
            "start_ms": LONG_START_MS + 400 * i,
            "end_ms": LONG_START_MS + 400 * i + 350,
            "probability": 0.9,
        }
        for i, word in enumerate(LONG_WORDS)
    ]


def make_meeting(db: Session, *, email: str, audio_dir: Path, title: str = TITLE) -> MadeMeeting:
    """A completed meeting in ``email``'s workspace (the user must exist)."""
    user = store.get_user_by_email(db, email=email)
    assert user is not None
    principal = store.get_principal(db, user=user)
    started = store.start_recording(
        db,
        principal=principal,
        audio_dir=audio_dir,
        title=title,
        language="en",
        sample_rate=16000,
        engine="fake",
        model="test",
    )
    rows = [
        (SPEAKERS[0], "Good morning everyone, welcome to the quarterly review.", 0, 4_200),
        (SPEAKERS[1], ORIGINAL, 4_500, 7_000),
        (SPEAKERS[2], CYRILLIC, 7_500, 11_000),
        # starts before the previous segment ends: the cues must still not overlap
        (SPEAKERS[3], GREEK, 10_500, 14_000),
        (SPEAKERS[4], CJK, 14_500, 17_000),
        (SPEAKERS[0], ACCENTED, 17_500, 21_000),
        (SPEAKERS[1], EMPTIED, 21_500, 22_000),
        (SPEAKERS[0], " ".join(LONG_WORDS), LONG_START_MS, LONG_START_MS + 400 * len(LONG_WORDS)),
        # a segment that claims no time at all
        (SPEAKERS[1], "Agreed.", 60_000, 60_000),
        (SPEAKERS[1], HOUR_TEXT, HOUR_START_MS, HOUR_END_MS),
    ]
    segments = store.add_segments(
        db,
        recording_id=started.recording.id,
        meeting_id=started.meeting.id,
        segments=[
            store.NewSegment(
                seq=i,
                text=text,
                start_ms=start,
                end_ms=end,
                confidence=0.9,
                speaker=speaker,
                words=long_word_timings() if text.startswith("we will ship") else [],
            )
            for i, (speaker, text, start, end) in enumerate(rows)
        ],
    )
    edited, emptied = segments[1], segments[6]
    for segment, text in ((edited, EDITED), (emptied, "")):
        row = db.get(Segment, segment.id)
        assert row is not None
        row.edited_text = text
        row.edited_at = utcnow()
    store.finish_recording(db, recording_id=started.recording.id, audio_bytes=AUDIO_MS * 32)
    started.meeting.actual_start = utcnow() - timedelta(hours=2)
    db.commit()
    return MadeMeeting(started.meeting.id, edited.id, emptied.id)
