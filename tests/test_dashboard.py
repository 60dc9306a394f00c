"""The dashboard's store functions and page, and the workspace boundary of the dashboard,
analytics and meeting pages. Both databases."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from mina.models import utcnow
from mina.settings import Settings
from tests.meetingdata import Said, add_meeting, principal_of

SAID = [Said("first things first", 0, 1_500, "Ada"), Said("and then the rest", 1_500, 3_000)]


def _today() -> datetime:
    return datetime.combine(utcnow().date(), time(), tzinfo=UTC)


def _today_and_ago(delta: timedelta) -> datetime:
    """``delta`` ago, but not before midnight: a test run just after midnight (UTC) still
    dates its "today" meetings today."""
    return max(utcnow() - delta, _today() + timedelta(seconds=1))


def test_store_lists_live_and_todays_meetings_and_totals(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    me, them = principal_of(db, "ada@example.com"), principal_of(db, "grace@example.com")
    audio = settings.audio_dir
    today = _today()
    early = add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Early",
        said=SAID,
        audio_s=90,
        started_at=today,
    )
    yesterday = add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Yesterday",
        said=SAID,
        audio_s=30,
        started_at=today - timedelta(minutes=5),
    )
    live = add_meeting(
        db,
        principal=me,
        audio_dir=audio,
        title="Now",
        said=SAID,
        audio_s=3,
        started_at=_today_and_ago(timedelta(minutes=1)),
        live=True,
    )
    add_meeting(
        db,
        principal=them,
        audio_dir=audio,
        title="Theirs",
        said=SAID,
        audio_s=60,
        started_at=_today_and_ago(timedelta(minutes=2)),
        live=True,
    )
    workspace = me.workspace.id

    assert [m.id for m in store.list_live_meetings(db, workspace_id=workspace)] == [live.id]
    todays = store.list_meetings_between(
        db, workspace_id=workspace, start=today, end=today + timedelta(days=1)
    )
    assert [m.id for m in todays] == [early.id, live.id]  # in the order they started
    before = store.list_meetings_between(
        db, workspace_id=workspace, start=today - timedelta(days=1), end=today
    )
    assert [m.id for m in before] == [yesterday.id]
    assert store.total_audio_ms(db, workspace_id=workspace) == 123_000
    assert store.total_audio_ms(db, workspace_id=them.workspace.id) == 60_000


def test_dashboard_page_shows_live_today_recent_and_totals(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    me = principal_of(db, "ada@example.com")
    now = utcnow()
    for i in range(7):
        add_meeting(
            db,
            principal=me,
            audio_dir=settings.audio_dir,
            title=f"Old meeting {i}",
            said=SAID,
            audio_s=600,
            started_at=now - timedelta(days=30 + i),
        )
    live = add_meeting(
        db,
        principal=me,
        audio_dir=settings.audio_dir,
        title="Board call",
        said=SAID,
        audio_s=5,
        started_at=_today_and_ago(timedelta(seconds=30)),  # today and this week
        live=True,
    )
    page = user_client.get("/dashboard").text
    assert "Live now" in page and "Board call" in page
    assert f'href="/dashboard/meeting/{live.id}" aria-label="Follow Board call live"' in page
    assert '<span class="stat-value">8</span><span class="stat-label">Meetings</span>' in page
    assert '<span class="stat-value">1</span><span class="stat-label">This week</span>' in page
    assert (
        '<span class="stat-value">1.2 h</span><span class="stat-label">Transcribed</span>' in page
    )
    assert page.count('class="meeting-row"') == 1 + 5  # today (the live one) and the last 5
    assert "Old meeting 0" in page and "Old meeting 5" not in page
    # ten minutes of audio is 19.2 MB: its milliseconds overflow 32-bit integers on PostgreSQL
    listed = user_client.get("/api/meetings?per_page=100").json()["items"]
    assert sorted(m["duration_ms"] for m in listed)[-1] == 600_000


def test_a_new_dashboard_is_honestly_empty(user_client: TestClient) -> None:
    page = user_client.get("/dashboard").text
    assert "No meetings yet: start a recording" in page
    assert "Live now" not in page and "Recent meetings" not in page
    assert page.count('href="/live"') >= 2  # the call to action, twice (header and empty state)
    analytics = user_client.get("/analytics").text
    assert "No meetings to analyse yet" in analytics and "<canvas" not in analytics


def test_analytics_page_has_a_table_for_every_chart(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    me = principal_of(db, "ada@example.com")
    add_meeting(
        db,
        principal=me,
        audio_dir=settings.audio_dir,
        title="Sync",
        said=SAID,
        audio_s=120,
        started_at=utcnow() - timedelta(days=3),
    )
    page = user_client.get("/analytics").text
    assert page.count("<canvas") == 4 and page.count("<table") == 4
    assert page.count("<caption") == 4
    assert '<th scope="row">Ada</th><td class="num">0:01</td>' in page
    assert "/static/vendor/chartjs/chart.umd.min.js" in page
    assert '<a href="/analytics?days=30" aria-current="page">' in page
    ninety = user_client.get("/analytics?days=90").text
    assert '<a href="/analytics?days=90" aria-current="page">' in ninety
    # a period out of range falls back to 30 days rather than failing the page
    assert (
        '<a href="/analytics?days=30" aria-current="page">'
        in user_client.get("/analytics?days=99999").text
    )
    old = user_client.get("/analytics?days=1").text
    assert "No meetings in this period" in old
    chart = user_client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert chart.status_code == 200 and "Chart.js v4" in chart.text[:200]
    assert user_client.get("/static/vendor/chartjs/LICENSE.md").status_code == 200


def test_another_users_meetings_never_appear(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    grace = principal_of(db, "grace@example.com")
    secret = [Said("the acquisition closes in March", 0, 4_000, "Grace")]
    done = add_meeting(
        db,
        principal=grace,
        audio_dir=settings.audio_dir,
        title="Secret merger",
        said=secret,
        audio_s=4,
        started_at=utcnow() - timedelta(hours=1),
    )
    live = add_meeting(
        db,
        principal=grace,
        audio_dir=settings.audio_dir,
        title="Secret live",
        said=secret,
        audio_s=4,
        started_at=utcnow(),
        live=True,
    )
    segment_id = store.list_transcript(db, meeting_id=done.id)[0].id

    # Grace sees her meetings
    assert "Secret live" in other_client.get("/dashboard").text
    assert "Grace" in other_client.get("/analytics").text

    dashboard = user_client.get("/dashboard").text
    assert "Secret" not in dashboard and "Live now" not in dashboard
    assert '<span class="stat-value">0 h</span>' in dashboard
    analytics = user_client.get("/analytics?days=3650")
    assert "Secret" not in analytics.text and "acquisition" not in analytics.text
    assert "No meetings to analyse yet" in analytics.text
    api = user_client.get("/api/analytics?days=3650").json()
    assert api["meetings"] == 0 and api["speakers"] == [] and api["hours"] == 0
    for meeting in (done, live):
        page = user_client.get(f"/dashboard/meeting/{meeting.id}")
        assert page.status_code == 404 and "Secret" not in page.text
        assert page.text == user_client.get("/dashboard/meeting/999999").text
        for path in ("", "/transcript", "/audio"):
            response = user_client.get(f"/api/meetings/{meeting.id}{path}")
            assert response.status_code == 404 and "Secret" not in response.text
    headers = {"Authorization": f"Bearer {_token(db, 'ada@example.com')}"}
    edit = user_client.patch(f"/api/segments/{segment_id}", json={"text": "x"}, headers=headers)
    assert edit.status_code == 404
    rename = user_client.post(
        f"/api/meetings/{done.id}/speakers", json={"from": "Grace", "to": "x"}, headers=headers
    )
    assert rename.status_code == 404
    assert store.list_transcript(db, meeting_id=done.id)[0].speaker == "Grace"


def _token(db: Session, email: str) -> str:
    user = store.get_user_by_email(db, email=email)
    assert user is not None
    _, token = store.create_api_token(db, user=user, name="test")
    db.commit()
    return token
