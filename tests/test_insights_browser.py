"""The meeting page's Overview in a real Chromium against a real ``mina serve``, on SQLite and
on PostgreSQL: the summary, action items, decisions, open questions and topics drawn from the
stored insights; a summary point plays its moment; an action item's checkbox completes its task;
"Add task" from a segment adds one to "Tasks from this meeting" (overdue shown); a task
completed elsewhere shows on the next load; an edit brings the stale notice, and Regenerate
follows the job until the new insights are drawn without a reload; tone markers on segments;
the states without insights (none yet, failed). axe-core finds no serious or critical
violation at 1280 and 390 px, light and dark.

The insights are what the scripted provider (tests/insighthelp.py) makes, stored as the job
stores them (``store_insights``) while the page watches; the request that would start a job is
answered by the test, which then writes what the job writes."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy.orm import Session

from mina import store
from mina.insights.base import MeetingText, Sentiment, SourceSegment
from mina.insights.job import store_insights
from mina.models import Job, JobStatus, Meeting, utcnow
from tests.browser import (
    Site,
    WatchedContext,
    check_accessibility,
    log_in,
    open_context,
    screenshots_on_failure,
    serve_site,
    wait_for_seek,
    watch_seeks,
)
from tests.browser import shoot as shoot_page
from tests.conftest import PASSWORD
from tests.insighthelp import ScriptedProvider
from tests.meetingdata import Said, add_meeting, principal_of

pytestmark = pytest.mark.slow

SAID = [
    Said("Good morning, let's start with the budget for next quarter.", 0, 3_000, "Ada"),
    Said("Grace will send the hosting quote tomorrow.", 3_000, 6_000, "Grace"),
    Said("We decided to stay on the current hosting plan.", 6_000, 9_000, "Ada"),
    Said("The old servers keep failing and that worries me.", 9_000, 12_000, "Grace"),
    Said("Who owns the database migration?", 12_000, 14_000, "Ada"),
    Said("This is great news for the team.", 14_000, 17_000, "Grace"),
    Said("Then let us meet again next week.", 17_000, 20_000, "Ada"),
]
NEGATIVE = 3  # the segment the test gives a negative tone


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """``mina serve`` with the fake engine and no job of its own: the tests write insights."""
    settings = {
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_DIARIZATION": "false",
        "MINA_INSIGHTS": "off",
    }
    with serve_site(request, tmp_path_factory, "insights", settings) as running:
        yield running


@pytest.fixture
def db(site: Site) -> Iterator[Session]:
    session = site.sessions()
    yield session
    session.close()


@pytest.fixture
def email(db: Session) -> str:
    address = f"user-{secrets.token_hex(4)}@example.com"
    store.create_user(db, email=address, password=PASSWORD, name="Ada Lovelace")
    db.commit()
    return address


@pytest.fixture
def watched(browser: Browser) -> Iterator[WatchedContext]:
    with open_context(browser, viewport={"width": 1280, "height": 900}) as watched:
        yield watched


@pytest.fixture
def page(watched: WatchedContext, site: Site, email: str) -> Page:
    page = watched.new_page()
    log_in(page, site.base, email, PASSWORD)
    return page


def make_meeting(db: Session, site: Site, email: str) -> Meeting:
    return add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=site.data_dir / "audio",
        title="Hosting review",
        started_at=utcnow() - timedelta(hours=2),
        said=SAID,
        audio_s=21,
    )


def make_insights(db: Session, meeting: Meeting) -> None:
    """What the insights job stores, with the scripted provider (plus one negative segment)."""
    db.expire_all()
    segments = store.list_transcript(db, meeting_id=meeting.id)
    text = MeetingText(
        meeting_id=meeting.id,
        title=meeting.title,
        reference=(meeting.actual_start or meeting.created_at).astimezone(),
        segments=tuple(
            SourceSegment(s.id, s.start_ms, s.end_ms, s.speaker, s.display_text) for s in segments
        ),
    )
    insights = ScriptedProvider().generate(text)
    by_segment = {**insights.sentiment.by_segment, segments[NEGATIVE].id: -0.6}
    insights = dataclasses.replace(
        insights,
        sentiment=Sentiment(insights.sentiment.overall, insights.sentiment.by_speaker, by_segment),
    )
    store_insights(db, meeting=db.get(Meeting, meeting.id), insights=insights)  # type: ignore[arg-type]
    db.commit()


def add_insights_job(db: Session, meeting: Meeting, status: JobStatus) -> Job:
    """An insights job in this state, committed without ever being ``queued`` (so the
    server's job runner leaves it to the test)."""
    job = store.queue_meeting_job(db, meeting=meeting, name="insights")
    job.status = status
    if status is JobStatus.FAILED:
        job.error = "The insight provider is not installed."
    db.commit()
    return job


def answer_posts(page: Page, meeting_id: int, answer: Any) -> None:
    """``answer`` the page's requests to make the meeting's insights; GETs go through."""
    page.route(
        f"**/api/meetings/{meeting_id}/insights",
        lambda route: answer(route) if route.request.method == "POST" else route.continue_(),
    )


def shoot(page: Page, name: str) -> None:
    """A screenshot from the top of the page (the sticky player stays where it belongs)."""
    page.evaluate("window.scrollTo(0, 0)")
    shoot_page(page, name)


def api_tasks(page: Page, site: Site, meeting_id: int) -> list[dict[str, Any]]:
    answer = page.request.get(f"{site.base}/api/tasks?meeting_id={meeting_id}")
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def wait_task_status(page: Page, site: Site, meeting_id: int, status: str) -> None:
    """Until the API says the meeting's one task from insights has ``status``."""
    for _ in range(50):
        (task,) = [t for t in api_tasks(page, site, meeting_id) if t["source"] == "insights"]
        if task["status"] == status:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the task stayed {task['status']}, not {status}")


def day(value: date, prefix: str) -> str:
    """A due date as the page shows it: ``Due 7 Dec`` (the year when it is not this one)."""
    year = "" if value.year == date.today().year else f" {value.year}"
    return f"{prefix} {value.day} {value:%b}{year}"


def test_overview_seek_complete_add_task_stale_and_regenerate(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email)
    make_insights(db, meeting)
    segments = store.list_transcript(db, meeting_id=meeting.id)
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        overview = page.get_by_role("region", name="Overview")
        summary = overview.get_by_role("region", name="Summary")
        expect(summary.locator(".point-text")).to_have_text([s.text for s in SAID[:3]])
        expect(summary.locator(".point-time")).to_have_text(["00:00", "00:03", "00:06"])
        actions = overview.get_by_role("region", name="Action items")
        expect(actions.locator(".check-text")).to_have_text(
            ["Grace will send the hosting quote tomorrow"]
        )
        expect(actions.locator(".check-owner")).to_have_text(["Grace"])
        due = meeting.actual_start.astimezone().date() + timedelta(days=1)  # type: ignore[union-attr]
        expect(actions.locator(".check-due")).to_have_attribute("data-due", due.isoformat())
        expect(actions.locator(".check-due")).to_have_text(day(due, "Due"))
        expect(
            overview.get_by_role("region", name="Decisions").locator(".point-text")
        ).to_have_text([SAID[2].text])
        expect(
            overview.get_by_role("region", name="Open questions").locator(".point-text")
        ).to_have_text([SAID[4].text])
        expect(overview.get_by_role("list", name="Topics").locator("li")).to_have_text(
            ["budget", "hosting"]
        )
        expect(page.locator("#insights-byline")).to_contain_text("Made by scripted · rules v1 · ")
        expect(page.locator("#insights-stale")).to_be_hidden()
        expect(page.locator("#task-empty")).to_be_visible()

        # tone: one positive and one negative segment are marked, the others are not
        rows = page.locator("#transcript li.segment")
        expect(rows.nth(5).locator(".tone")).to_have_attribute("title", "Positive tone")
        expect(rows.nth(NEGATIVE).locator(".tone")).to_have_attribute("title", "Negative tone")
        expect(page.locator("#transcript .tone")).to_have_count(2)

        check_accessibility(page, "the meeting page with insights")
        shoot(page, "meeting-insights-1280")

        # a summary point plays its moment and highlights its segment
        watch_seeks(page)
        summary.get_by_role("button", name=SAID[1].text).click()
        wait_for_seek(page, 3)
        expect(rows.nth(1)).to_have_class("segment is-target is-playing")
        page.evaluate("document.getElementById('meeting-audio').pause()")

        # an action item's checkbox is its task
        box = actions.get_by_role("checkbox", name="Grace will send the hosting quote tomorrow")
        box.check()
        expect(actions.locator(".check-item")).to_have_class("check-item is-done")
        wait_task_status(page, site, meeting.id, "done")
        box.uncheck()
        expect(actions.locator(".check-item")).to_have_class("check-item")
        wait_task_status(page, site, meeting.id, "open")

        # "Add task" from a segment: its words and speaker, a due date already past
        row = rows.nth(NEGATIVE)
        row.get_by_role("button", name="Add a task from the segment at 00:09").click()
        form = row.get_by_role("form", name="New task from the segment at 00:09")
        expect(form.get_by_label("Task")).to_have_value(SAID[NEGATIVE].text)
        expect(form.get_by_label("Task")).to_be_focused()
        expect(form.get_by_label("Assignee")).to_have_value("Grace")
        form.get_by_label("Task").fill("Replace the old servers")
        yesterday = date.today() - timedelta(days=1)
        form.get_by_label("Due").fill(yesterday.isoformat())
        check_accessibility(page, "the add-task form")
        shoot(page, "meeting-add-task-1280")
        form.get_by_role("button", name="Add task").click()
        expect(form).to_have_count(0)
        listed = overview.get_by_role("region", name="Tasks from this meeting")
        expect(listed.locator(".check-text")).to_have_text(["Replace the old servers"])
        expect(listed.locator(".check-due")).to_have_text(day(yesterday, "Overdue"))
        expect(listed.locator(".check-due")).to_have_class("check-due is-overdue")
        expect(page.locator("#task-empty")).to_be_hidden()
        added = next(t for t in api_tasks(page, site, meeting.id) if t["source"] == "manual")
        assert added["segment_id"] == segments[NEGATIVE].id and added["assignee"] == "Grace"
        assert added["due_date"] == yesterday.isoformat() and added["start_ms"] == 9_000

        # completed elsewhere (as on /tasks): the next load shows it done
        patched = page.request.patch(
            f"{site.base}/api/tasks/{added['id']}",
            data=json.dumps({"status": "done"}),
            headers={
                "Content-Type": "application/json",
                "X-CSRF-Token": page.locator('meta[name="csrf-token"]').get_attribute("content")
                or "",
            },
        )
        assert patched.ok, patched.text()
        page.reload()
        expect(listed.get_by_role("checkbox", name="Replace the old servers")).to_be_checked()
        expect(listed.locator(".check-due")).to_have_text(day(yesterday, "Due"))

        # an edit makes the insights stale: the notice offers to make them again
        rows.nth(0).get_by_role("button", name="Edit the segment at 00:00").click()
        rows.nth(0).get_by_label("Text").fill("Good morning, the budget for next year first.")
        rows.nth(0).get_by_role("button", name="Save").click()
        stale = page.locator("#insights-stale")
        expect(stale).to_have_text(
            "The transcript changed since these were made. Regenerate", use_inner_text=True
        )
        check_accessibility(page, "the stale notice")
        shoot(page, "meeting-insights-stale-1280")

        # Regenerate: the job is followed until what it made is drawn, without a reload
        jobs: list[Job] = []

        def answer(route: Route) -> None:
            jobs.append(add_insights_job(db, meeting, JobStatus.RUNNING))
            route.fulfill(
                status=202,
                content_type="application/json",
                body=json.dumps({"meeting_id": meeting.id, "job_id": jobs[-1].id}),
            )

        answer_posts(page, meeting.id, answer)
        page.evaluate("() => { window.samePage = true; }")
        stale.get_by_role("button", name="Regenerate").click()
        expect(page.locator("#insights-state")).to_have_text("Making the summary again…")
        expect(stale).to_be_hidden()
        expect(page.locator("#insights-menu")).to_be_visible()
        make_insights(db, meeting)
        store.finish_job(db, job_id=jobs[0].id)
        db.commit()
        expect(summary.locator(".point-text").first).to_have_text(
            "Good morning, the budget for next year first."
        )
        expect(page.locator("#insights-state")).to_have_text("")
        expect(stale).to_be_hidden()
        assert page.evaluate("window.samePage") is True

        # the menu's Regenerate, with the keyboard
        menu = page.locator("#insights-menu summary")
        menu.click()
        item = page.get_by_role("button", name="Regenerate the summary")
        expect(item).to_be_visible()
        page.keyboard.press("Escape")
        expect(item).to_be_hidden()
        expect(menu).to_be_focused()

        page.emulate_media(color_scheme="dark")
        check_accessibility(page, "the meeting page with insights, dark")
        shoot(page, "meeting-insights-dark-1280")
        page.emulate_media(color_scheme="light")

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(summary.locator(".point")).to_have_count(3)
        check_accessibility(page, "the meeting page with insights on a phone")
        shoot(page, "meeting-insights-390")


def test_no_insights_yet_making_them_and_a_failure(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email)
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        empty = page.locator("#insights-empty")
        expect(empty).to_contain_text("No summary yet.")
        expect(page.locator("#insights-menu")).to_be_hidden()
        expect(page.locator("#transcript .tone")).to_have_count(0)
        check_accessibility(page, "the meeting page without insights")
        page.emulate_media(color_scheme="dark")
        check_accessibility(page, "the meeting page without insights, dark")
        page.emulate_media(color_scheme="light")
        shoot(page, "meeting-no-insights-1280")

        # the job fails: its error, and Try again
        jobs: list[Job] = []

        def answer(route: Route) -> None:
            jobs.append(add_insights_job(db, meeting, JobStatus.RUNNING))
            route.fulfill(
                status=202,
                content_type="application/json",
                body=json.dumps({"meeting_id": meeting.id, "job_id": jobs[-1].id}),
            )

        answer_posts(page, meeting.id, answer)
        page.get_by_role("button", name="Make a summary").click()
        expect(page.locator("#insights-state")).to_have_text("Making the summary…")
        expect(empty).to_be_hidden()
        store.fail_job(db, job_id=jobs[0].id, error="The insight provider is not installed.")
        db.commit()
        expect(page.locator("#insights-state")).to_have_text(
            "The summary could not be made: The insight provider is not installed."
        )
        expect(page.get_by_role("button", name="Try again")).to_be_visible()
        check_accessibility(page, "a failed summary")
        shoot(page, "meeting-insights-failed-1280")
