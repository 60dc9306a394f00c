"""Analytics: the store's aggregations on known data (both databases) and the API's shape."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina import store
from mina.models import Meeting, MeetingStatus, Task, TaskSource, TaskStatus, utcnow
from mina.settings import Settings
from tests.conftest import PASSWORD
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header

UNTIL = datetime(2026, 3, 16, tzinfo=UTC)  # a Monday
SINCE = UNTIL - timedelta(days=28)  # Monday 16 February


def _words(said: list[Said]) -> int:
    return sum(len(s.text.split()) for s in said)


M1 = [
    Said("We ship the release on Friday.", 0, 20_000, "Ada"),
    Said("Then the docs need a pass first.", 20_000, 50_000, "Grace"),
    Said("Agreed.", 50_000, 60_000, None),
]
M2 = [
    Said("Budget review for the second quarter.", 0, 90_000, "Ada", 0.8),
    Said("Numbers look fine.", 90_000, 120_000, "Linus", 0.8),
]
M3 = [Said("Quick stand-up, nothing blocked.", 0, 30_000, "Grace")]
M4 = [Said("Still talking", 0, 8_000, "Ada")]


@pytest.fixture
def seeded(db: Session, settings: Settings) -> store.Principal:
    ada = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    other = store.create_user(db, email="eve@example.com", password=PASSWORD, name="Eve")
    db.commit()
    me, them = principal_of(db, ada.email), principal_of(db, other.email)
    audio = settings.audio_dir
    add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Release",
        said=M1,
        audio_s=60,
        started_at=datetime(2026, 2, 17, 9, 30, tzinfo=UTC),
    )
    add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Budget",
        said=M2,
        audio_s=120,
        started_at=datetime(2026, 3, 4, 14, 5, tzinfo=UTC),
    )
    add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Stand-up",
        said=M3,
        audio_s=30,
        started_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    )
    add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Ongoing",
        said=M4,
        audio_s=10,
        started_at=datetime(2026, 3, 12, 10, 0, tzinfo=UTC),
        live=True,
    )
    # outside the period, another workspace, and a meeting that has not happened
    add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Too early",
        said=M3,
        audio_s=30,
        started_at=datetime(2026, 2, 15, 23, 59, tzinfo=UTC),
    )
    add_meeting(
        db,
        principal=them,
        audio_dir=audio,
        title="Eve's",
        said=M2,
        audio_s=300,
        started_at=datetime(2026, 3, 3, 11, 0, tzinfo=UTC),
    )
    db.add(
        Meeting(
            workspace_id=me.workspace.id,
            organizer_id=ada.id,
            title="Planned",
            status=MeetingStatus.SCHEDULED,
            created_at=datetime(2026, 3, 5, tzinfo=UTC),
        )
    )
    db.commit()
    return me


def test_analytics_aggregate_known_meetings(db: Session, seeded: store.Principal) -> None:
    data = store.workspace_analytics(db, workspace_id=seeded.workspace.id, since=SINCE, until=UNTIL)
    assert data.meetings == 4
    assert data.audio_ms == 220_000
    assert data.average_duration_ms == 55_000
    finished_words = _words(M1) + _words(M2) + _words(M3)
    assert data.words == finished_words
    # the live recording has no totals yet: its minutes do not dilute the rate
    assert data.words_per_minute == pytest.approx(finished_words / 3.5, abs=0.05)
    assert data.average_confidence == pytest.approx((0.9 + 0.8 + 0.9) / 3)
    assert [(w.week_start, w.meetings, w.audio_ms) for w in data.weeks] == [
        (date(2026, 2, 16), 1, 60_000),
        (date(2026, 2, 23), 0, 0),
        (date(2026, 3, 2), 1, 120_000),
        (date(2026, 3, 9), 2, 40_000),
    ]
    assert data.weekdays == [0, 2, 1, 1, 0, 0, 0]  # Tue, Tue, Wed, Thu
    assert data.hours[9] == 2 and data.hours[14] == 1 and data.hours[10] == 1
    assert sum(data.hours) == 4
    talk = {s.speaker: (s.talk_ms, s.segments) for s in data.speakers}
    assert talk == {
        "Ada": (20_000 + 90_000 + 8_000, 3),
        "Grace": (30_000 + 30_000, 2),
        "Linus": (30_000, 1),
        None: (10_000, 1),
    }
    assert data.speakers[0].speaker == "Ada"  # most talk time first


def _insights(db: Session, meeting: Meeting, sentiment: float | None, **topics: float) -> None:
    store.save_insights(
        db,
        meeting_id=meeting.id,
        provider="scripted",
        model="test",
        data={"topics": [{"label": k.replace("_", " "), "weight": w} for k, w in topics.items()]},
        sentiment=sentiment,
        segment_sentiment={},
    )


def _task(
    db: Session,
    workspace_id: int,
    created: datetime,
    done: datetime | None = None,
    *,
    deleted: bool = False,
) -> None:
    db.add(
        Task(
            workspace_id=workspace_id,
            title="Something to do",
            status=TaskStatus.DONE if done else TaskStatus.OPEN,
            source=TaskSource.MANUAL,
            created_at=created,
            done_at=done,
            deleted_at=created if deleted else None,
        )
    )


def test_analytics_topics_sentiment_and_tasks_per_week(
    db: Session, seeded: store.Principal
) -> None:
    by_title = {m.title: m for m in db.scalars(select(Meeting))}
    _insights(db, by_title["Release"], 0.5, release=1.0, docs=0.4, Docs=0.1)
    _insights(db, by_title["Budget"], -0.2, budget=1.0, Q2_numbers=0.6)
    # two meetings the same week: the weights of the same topic add up, whatever its case
    _insights(db, by_title["Stand-up"], 0.1, Budget=0.5, blockers=1.0, a=0.1, b=0.2, c=0.3, d=0.05)
    _insights(db, by_title["Ongoing"], None, budget=0.7, hosting=0.9)
    _insights(db, by_title["Too early"], 1.0, ancient=1.0)  # before the period
    _insights(db, by_title["Eve's"], -1.0, secret=1.0)  # another workspace
    mine = seeded.workspace.id
    theirs = principal_of(db, "eve@example.com").workspace.id
    _task(db, mine, datetime(2026, 2, 16, 0, 0, tzinfo=UTC))  # the period's first moment
    _task(db, mine, datetime(2026, 2, 22, 23, 59, tzinfo=UTC), datetime(2026, 3, 2, 8, tzinfo=UTC))
    _task(db, mine, datetime(2026, 3, 9, 10, tzinfo=UTC), datetime(2026, 3, 15, 23, tzinfo=UTC))
    _task(db, mine, datetime(2026, 3, 10, 10, tzinfo=UTC), deleted=True)
    _task(db, mine, datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 2, 24, tzinfo=UTC))
    _task(db, mine, datetime(2026, 3, 16, tzinfo=UTC))  # the period's end is not in it
    _task(db, theirs, datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))
    db.commit()

    data = store.workspace_analytics(db, workspace_id=mine, since=SINCE, until=UNTIL)
    weeks = [w.week_start for w in data.insight_weeks]
    assert weeks == [w.week_start for w in data.weeks] == [w.week_start for w in data.task_weeks]
    topics = {
        w.week_start: [(t.label, round(t.weight, 3)) for t in w.topics] for w in data.insight_weeks
    }
    assert topics == {
        date(2026, 2, 16): [("release", 1.0), ("docs", 0.4)],  # one "docs" a meeting
        date(2026, 2, 23): [],
        date(2026, 3, 2): [("budget", 1.0), ("Q2 numbers", 0.6)],
        date(2026, 3, 9): [
            ("budget", 1.2),
            ("blockers", 1.0),
            ("hosting", 0.9),
            ("c", 0.3),
            ("b", 0.2),
        ],
    }
    sentiment = {w.week_start: (w.meetings, w.sentiment) for w in data.insight_weeks}
    assert sentiment[date(2026, 2, 16)] == (1, 0.5)
    assert sentiment[date(2026, 2, 23)] == (0, None)
    assert sentiment[date(2026, 3, 2)] == (1, pytest.approx(-0.2))
    assert sentiment[date(2026, 3, 9)] == (2, pytest.approx(0.1))  # one has no sentiment
    tasks = [(w.week_start, w.opened, w.done) for w in data.task_weeks]
    assert tasks == [
        (date(2026, 2, 16), 2, 0),
        (date(2026, 2, 23), 0, 1),
        (date(2026, 3, 2), 0, 1),
        (date(2026, 3, 9), 1, 1),
    ]

    theirs_data = store.workspace_analytics(db, workspace_id=theirs, since=SINCE, until=UNTIL)
    assert [(w.opened, w.done) for w in theirs_data.task_weeks] == [(0, 0), (0, 0), (1, 1), (0, 0)]
    assert [t.label for w in theirs_data.insight_weeks for t in w.topics] == ["secret"]


def test_analytics_of_an_empty_period(db: Session, seeded: store.Principal) -> None:
    since = datetime(2025, 1, 1, tzinfo=UTC)
    data = store.workspace_analytics(
        db, workspace_id=seeded.workspace.id, since=since, until=since + timedelta(days=3)
    )
    assert (data.meetings, data.audio_ms, data.words) == (0, 0, 0)
    assert data.average_duration_ms is None and data.words_per_minute is None
    assert data.average_confidence is None and data.speakers == []
    assert [w.meetings for w in data.weeks] == [0] and data.weekdays == [0] * 7
    assert [(w.meetings, w.sentiment, w.topics) for w in data.insight_weeks] == [(0, None, [])]
    assert [(w.opened, w.done) for w in data.task_weeks] == [(0, 0)]


def test_analytics_api_shape_numbers_and_validation(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    me = principal_of(db, "ada@example.com")
    started = utcnow().replace(microsecond=0) - timedelta(days=2, hours=1)
    add_meeting(
        db,
        principal=me,
        audio_dir=settings.audio_dir,
        title="Sync",
        said=M1,
        audio_s=60,
        started_at=started,
    )
    add_meeting(
        db,
        principal=me,
        audio_dir=settings.audio_dir,
        title="Old",
        said=M1,
        audio_s=60,
        started_at=utcnow() - timedelta(days=40),
    )

    sync = db.scalars(select(Meeting).where(Meeting.title == "Sync")).one()
    _insights(db, sync, 0.25, roadmap=0.8)
    db.commit()
    headers = csrf_header(user_client)
    made = user_client.post("/api/tasks", json={"title": "Send the notes"}, headers=headers)
    user_client.patch(f"/api/tasks/{made.json()['id']}", json={"status": "done"}, headers=headers)
    user_client.post("/api/tasks", json={"title": "Book the room"}, headers=headers)

    body = user_client.get("/api/analytics").json()
    assert body["days"] == 30 and body["meetings"] == 1
    assert set(body) == {
        "days",
        "since",
        "until",
        "meetings",
        "hours",
        "average_duration_ms",
        "average_confidence",
        "words",
        "words_per_minute",
        "weeks",
        "speakers",
        "weekdays",
        "hours_of_day",
        "topics_by_week",
        "sentiment_by_week",
        "tasks_by_week",
    }
    assert body["hours"] == round(60 / 3600, 2) and body["average_duration_ms"] == 60_000
    assert body["words"] == _words(M1)
    assert body["words_per_minute"] == pytest.approx(_words(M1), abs=0.05)
    assert body["average_confidence"] == pytest.approx(0.9)
    assert sum(w["meetings"] for w in body["weeks"]) == 1 and len(body["weeks"]) in (5, 6)
    weekday = {d["weekday"]: d["meetings"] for d in body["weekdays"]}
    assert weekday[started.strftime("%A")] == 1 and sum(weekday.values()) == 1
    assert body["hours_of_day"][started.hour] == {"hour": started.hour, "meetings": 1}
    speakers = {s["speaker"]: s for s in body["speakers"]}
    assert speakers["Grace"]["talk_ms"] == 30_000 and speakers["Grace"]["share"] == 0.5
    assert speakers[None]["segments"] == 1
    weeks = [w["week_start"] for w in body["weeks"]]
    assert [w["week_start"] for w in body["topics_by_week"]] == weeks
    assert [t for w in body["topics_by_week"] for t in w["topics"]] == [
        {"label": "roadmap", "weight": 0.8}
    ]
    assert [w for w in body["sentiment_by_week"] if w["meetings"]] == [
        {
            "week_start": store.monday_of(started.date()).isoformat(),
            "meetings": 1,
            "sentiment": 0.25,
        }
    ]
    this_week = store.monday_of(utcnow().date()).isoformat()
    assert [w for w in body["tasks_by_week"] if w["opened"] or w["done"]] == [
        {"week_start": this_week, "opened": 2, "done": 1}
    ]

    assert user_client.get("/api/analytics?days=90").json()["meetings"] == 2
    for bad in ("0", "3651", "week"):
        response = user_client.get(f"/api/analytics?days={bad}")
        assert (
            response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
        )
    assert user_client.get("/api/analytics?days=3650").status_code == 200
    # another workspace sees none of it
    theirs = other_client.get("/api/analytics?days=3650").json()
    assert theirs["meetings"] == 0 and theirs["speakers"] == [] and theirs["hours"] == 0
    assert not any(w["opened"] or w["done"] for w in theirs["tasks_by_week"])
    assert not any(w["topics"] for w in theirs["topics_by_week"])
