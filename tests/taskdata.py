"""A workspace that looks lived in, for the tasks page and analytics in a browser: a few weeks
of meetings with insights (topics, sentiment) and tasks from them and added by hand, open and
done, overdue, due today, tomorrow and later, with and without an assignee."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from mina import store
from mina.models import Task, TaskSource, TaskStatus
from tests.meetingdata import Said, add_meeting


@dataclass(frozen=True)
class Meeting:
    title: str
    days_ago: int
    sentiment: float
    topics: dict[str, float]
    said: list[Said]


MEETINGS = [
    Meeting(
        "Q3 roadmap review",
        30,
        0.31,
        {"roadmap": 1.0, "mobile app": 0.8, "onboarding": 0.6, "pricing": 0.4},
        [
            Said("Let's walk through the roadmap for the third quarter.", 0, 6_000, "Priya"),
            Said("Marcus will draft the onboarding flow by Friday.", 6_000, 12_000, "Priya"),
            Said("I'll check the pricing page copy with legal.", 12_000, 19_000, "Marcus"),
        ],
    ),
    Meeting(
        "Weekly stand-up",
        22,
        0.12,
        {"release": 1.0, "ci pipeline": 0.7, "flaky tests": 0.5},
        [
            Said("The release branch is cut, CI is still flaky.", 0, 5_000, "Jonas"),
            Said("Jonas will fix the flaky upload test.", 5_000, 9_000, "Priya"),
        ],
    ),
    Meeting(
        "Acme Corp sales call",
        15,
        0.45,
        {"pricing": 1.0, "single sign-on": 0.9, "data residency": 0.6, "contract": 0.5},
        [
            Said("Acme needs single sign-on before they sign.", 0, 7_000, "Lena"),
            Said("Can you send them the security questionnaire?", 7_000, 12_000, "Lena"),
            Said("I'll send it tomorrow with the EU hosting note.", 12_000, 18_000, "Sam"),
        ],
    ),
    Meeting(
        "Incident retro: upload outage",
        9,
        -0.38,
        {"outage": 1.0, "disk space": 0.8, "alerting": 0.7, "release": 0.3},
        [
            Said("Uploads failed for forty minutes when the disk filled up.", 0, 8_000, "Jonas"),
            Said("We need an alert on free disk space.", 8_000, 13_000, "Priya"),
        ],
    ),
    Meeting(
        "Design sync",
        3,
        0.22,
        {"mobile app": 1.0, "dark mode": 0.8, "onboarding": 0.7, "accessibility": 0.5},
        [
            Said("Dark mode contrast needs another pass.", 0, 6_000, "Aiko"),
            Said("Aiko will share the new onboarding screens on Monday.", 6_000, 13_000, "Priya"),
        ],
    ),
    Meeting(
        "1:1 Priya and Marcus",
        1,
        0.05,
        {"career growth": 1.0, "workload": 0.8, "roadmap": 0.4},
        [Said("Let's revisit your workload after the release.", 0, 6_000, "Priya")],
    ),
]

# (title, meeting index or None, segment index, assignee, due in days from today or None,
#  days ago made, days ago done or None)
TASKS: list[tuple[str, int | None, int, str | None, int | None, int, int | None]] = [
    ("Draft the onboarding flow", 0, 1, "Marcus", -6, 30, None),
    ("Check the pricing page copy with legal", 0, 2, "Marcus", -20, 30, 24),
    ("Fix the flaky upload test", 1, 1, "Jonas", -16, 22, 20),
    ("Send Acme the security questionnaire", 2, 1, "Sam", -2, 15, None),
    ("Write up the EU hosting note for Acme", 2, 2, "Sam", 0, 15, None),
    ("Add an alert on free disk space", 3, 1, "Priya", 1, 9, None),
    ("Post the outage timeline to the status page", 3, 0, "Jonas", -7, 9, 8),
    ("Share the new onboarding screens", 4, 1, "Aiko", 4, 3, None),
    ("Another contrast pass on dark mode", 4, 0, "Aiko", 12, 3, None),
    ("Revisit Marcus's workload after the release", 5, 0, "Priya", 24, 1, None),
    ("Book the room for the offsite", None, 0, None, None, 5, None),
    ("Renew the TLS certificate", None, 0, "Jonas", 40, 12, None),
]


def seed_workspace(
    db: Session,
    *,
    principal: store.Principal,
    audio_dir: Path,
    today: date,
    audio_s: float | None = None,
) -> list[int]:
    """The meetings (with ``audio_s`` of audio each, else as long as their words), their
    insights and the tasks above; returns the meetings' ids."""
    ids = []
    midnight = datetime.combine(today, time(), tzinfo=UTC)
    # The meetings are dated back from the last Thursday, so that they fall into the same
    # (Monday-based) weeks whatever day the tests run: two in this week, the others alone.
    thursday = midnight - timedelta(days=(today.weekday() - 3) % 7)
    for m in MEETINGS:
        meeting = add_meeting(
            db,
            principal=principal,
            audio_dir=audio_dir,
            title=m.title,
            started_at=thursday - timedelta(days=m.days_ago) + timedelta(hours=10),
            said=m.said,
            audio_s=audio_s or max(s.end_ms for s in m.said) / 1000,
        )
        store.save_insights(
            db,
            meeting_id=meeting.id,
            provider="local",
            model="seeded",
            data={"topics": [{"label": k, "weight": w} for k, w in m.topics.items()]},
            sentiment=m.sentiment,
            segment_sentiment={},
        )
        ids.append(meeting.id)
    db.commit()
    segments = {meeting_id: store.list_transcript(db, meeting_id=meeting_id) for meeting_id in ids}
    for title, index, seg, assignee, due, made, done in TASKS:
        segment = segments[ids[index]][seg] if index is not None else None
        db.add(
            Task(
                workspace_id=principal.workspace.id,
                meeting_id=ids[index] if index is not None else None,
                segment_id=segment.id if segment else None,
                start_ms=segment.start_ms if segment else None,
                title=title,
                status=TaskStatus.DONE if done is not None else TaskStatus.OPEN,
                assignee=assignee,
                due_date=today + timedelta(days=due) if due is not None else None,
                source=TaskSource.INSIGHTS if index is not None else TaskSource.MANUAL,
                origin_key=store.origin_key(title) if index is not None else None,
                created_at=midnight - timedelta(days=made) + timedelta(hours=11),
                done_at=midnight - timedelta(days=done) + timedelta(hours=15) if done else None,
            )
        )
    db.commit()
    return ids
