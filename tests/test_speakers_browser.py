"""Speakers on the pages, in a real Chromium against a real ``mina serve``, on SQLite and on
PostgreSQL: each speaker's colour on their segments and in the Speakers panel, the transcript
filtered to one speaker, talk time and share, merging two speakers (the API agrees after),
renames; "Identifying speakers..." while the diarize job runs, then the labels it wrote drawn
without a reload; a failed job tried again; "Re-identify speakers" with a count, and the
server's refusals; the labels on the live page and for viewers of a live meeting; the speaker
count on the upload form. axe-core finds no serious or critical violation (light and dark), and
no page breaks its Content-Security-Policy.

To know what the page must show, most tests write what the diarize job writes
(``store.apply_speaker_changes``, then the job's row) while the page watches, and answer the
request that would start a job themselves; one runs the real job from the page's button."""

from __future__ import annotations

import json
import re
import secrets
import wave
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, WebSocketRoute, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from mina import store
from mina.models import Job, JobStatus, Meeting, RecordingSession, utcnow
from mina.speakers.assign import Change, Part
from tests.browser import (
    MISSING_AUDIO,
    Site,
    WatchedContext,
    check_accessibility,
    log_in,
    open_context,
    screenshots_on_failure,
    serve_site,
    shoot,
)
from tests.conftest import PASSWORD
from tests.meetingdata import Said, add_meeting, principal_of, speech_pcm

pytestmark = pytest.mark.slow

SAID = [
    Said("Good morning everyone, let us start with the release plan.", 0, 4_000, "Speaker 1"),
    Said("The search index is ready for review.", 4_000, 6_500, "Speaker 2"),
    Said("I tested it yesterday on the staging server.", 6_500, 9_000, "Ada"),
    Said("Then we ship the release on Friday.", 9_000, 12_000, "Speaker 1"),
    Said("Can we keep the old export for a week?", 12_000, 14_000, "Speaker 2"),
    Said("Yes, it stays until the next release.", 14_000, 17_000, "Speaker 1"),
    Said("I will write the release notes tonight.", 17_000, 19_500, "Ada"),
    Said("Mm-hm.", 19_500, 20_000, None),
    Said("Great, that is the plan.", 20_000, 22_000, "Speaker 1"),
]
# talk time: Speaker 1 12 s, Ada 5 s, Speaker 2 4.5 s, unlabelled 0.5 s; 22 s in all


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """``mina serve`` with the fake engine; no diarize job runs by itself (the tests write what
    it writes), no live meeting is recovered while a test looks at it."""
    settings = {
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_DIARIZATION": "false",
        "MINA_LIVE_SPEAKERS": "false",
        "MINA_STALE_AFTER_S": "600",
    }
    with serve_site(request, tmp_path_factory, "speakers", settings) as running:
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


def make_meeting(
    db: Session, site: Site, email: str, said: list[Said] = SAID, *, live: bool = False
) -> Meeting:
    return add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=site.data_dir / "audio",
        title="Release planning",
        started_at=utcnow() - timedelta(hours=2),
        said=said,
        audio_s=24,
        live=live,
    )


def add_diarize_job(db: Session, meeting: Meeting, status: JobStatus) -> Job:
    """A diarize job of the meeting in this state, committed without ever being ``queued``
    (so the server's job runner leaves it to the test)."""
    job = store.queue_meeting_job(db, meeting=meeting, name="diarize")
    job.status = status
    if status is JobStatus.FAILED:
        job.error = "The job failed on the server; the error is in the server log."
    db.commit()
    return job


def speaker_colours(page: Page) -> list[dict[str, Any]]:
    """Each transcript row's speaker label, colour slot and computed text colour."""
    rows: list[dict[str, Any]] = page.evaluate(
        """() => [...document.querySelectorAll("#transcript li.segment")].map((row) => {
          const label = row.querySelector(".speaker");
          return { speaker: row.dataset.speaker, slot: label.dataset.colour ?? null,
                   color: getComputedStyle(label).color, hidden: row.hidden };
        })"""
    )
    return rows


def panel_colours(page: Page) -> dict[str, str]:
    """Each Speakers panel entry's dot colour, by speaker ('' for the unlabelled)."""
    found: dict[str, str] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("#speaker-list .speaker-item")]
          .map((item) => [item.dataset.speaker,
                          getComputedStyle(item.querySelector(".speaker-dot")).backgroundColor]))"""
    )
    return found


def assert_consistent_colours(page: Page) -> dict[str, str]:
    """One colour per speaker, a different one for each, the same on the rows as in the panel;
    returns them by speaker."""
    by_speaker: dict[str, set[str]] = {}
    for row in speaker_colours(page):
        if row["speaker"]:
            assert row["slot"] is not None, row
            by_speaker.setdefault(row["speaker"], set()).add(row["color"])
        else:
            assert row["slot"] is None, row
    colours = {}
    for speaker, seen in by_speaker.items():
        assert len(seen) == 1, (speaker, seen)
        colours[speaker] = seen.pop()
    assert len(set(colours.values())) == len(colours), colours
    panel = panel_colours(page)
    for speaker, colour in colours.items():
        assert panel[speaker] == colour, (speaker, panel, colours)
    return colours


def api_speakers(page: Page, site: Site, meeting_id: int) -> list[tuple[str | None, int, int]]:
    data = page.request.get(f"{site.base}/api/meetings/{meeting_id}/speakers").json()
    return [(s["speaker"], s["talk_ms"], s["segments"]) for s in data["speakers"]]


def visible_speakers(page: Page) -> list[str]:
    return [r["speaker"] for r in speaker_colours(page) if not r["hidden"]]


def test_colours_filter_talk_time_merge_and_rename(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email)
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        rows = page.locator("#transcript li.segment")
        expect(rows).to_have_count(len(SAID))
        expect(rows.locator(".speaker")).to_have_text([s.speaker or "" for s in SAID])

        # a colour per speaker, the name always beside it; Speaker N always gets slot N-1
        colours = assert_consistent_colours(page)
        assert set(colours) == {"Speaker 1", "Speaker 2", "Ada"}
        slots = {r["speaker"]: r["slot"] for r in speaker_colours(page)}
        assert slots["Speaker 1"] == "0" and slots["Speaker 2"] == "1", slots

        # talk time and share, the most talkative first, with a bar as long as the share
        items = page.locator("#speaker-list .speaker-item")
        expect(items.locator(".speaker-name")).to_have_text(
            ["Speaker 1", "Ada", "Speaker 2", "No speaker label"]
        )
        expect(items.locator(".speaker-facts")).to_have_text(
            [
                "0:12 · 55% · 4 segments",
                "0:05 · 23% · 2 segments",
                "0:04 · 20% · 2 segments",
                "0:00 · 2% · 1 segment",
            ]
        )
        widths = items.locator(".talk-fill").evaluate_all(
            "fills => fills.map((f) => f.getBoundingClientRect().width"
            " / f.parentElement.getBoundingClientRect().width)"
        )
        assert [round(w, 2) for w in widths] == [0.55, 0.23, 0.2, 0.02], widths
        check_accessibility(page, "the meeting page")
        shoot(page, "meeting-speakers-1280")

        # filter the transcript to one speaker, with the keyboard too
        show = page.get_by_label("Show the segments of")
        expect(show.locator("option")).to_have_text(
            ["All speakers", "Speaker 1", "Ada", "Speaker 2", "No speaker label"]
        )
        show.select_option(label="Ada")
        assert visible_speakers(page) == ["Ada", "Ada"]
        expect(page.locator("#filter-count")).to_have_text("2 of 9 segments")
        show.focus()
        page.keyboard.press("ArrowUp")
        expect(show).to_have_value("=Speaker 1")
        assert visible_speakers(page) == ["Speaker 1"] * 4
        # search within the transcript counts what is shown
        search = page.get_by_role("searchbox", name="Search the transcript")
        search.fill("release")
        expect(page.locator("#find-count")).to_have_text("1 of 3")
        show.select_option(label="All speakers")
        expect(page.locator("#find-count")).to_have_text("1 of 4")
        expect(page.locator("#filter-count")).to_have_text("")
        search.press("Escape")
        show.select_option(label="No speaker label")
        expect(rows.filter(visible=True).locator(".segment-text")).to_have_text(["Mm-hm."])
        show.select_option(label="Speaker 2")
        shoot(page, "meeting-filtered-1280")

        # merge: cancelled, nothing changes and the focus comes back
        merge_button = page.get_by_role("button", name="Merge Speaker 2 into another speaker")
        merge_button.click()
        dialog = page.get_by_role("dialog", name="Merge speakers")
        expect(dialog).to_be_visible()
        target = dialog.get_by_label("Merge Speaker 2 into")
        expect(target).to_be_focused()
        expect(target.locator("option")).to_have_text(["Speaker 1", "Ada"])
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(merge_button).to_be_focused()
        assert len(api_speakers(page, site, meeting.id)) == 4

        # merge Speaker 2 into Ada, after reading what it does
        merge_button.click()
        target.select_option("Ada")
        expect(dialog.locator("#merge-text")).to_have_text(
            "All 2 segments of Speaker 2 will be labelled Ada, and Speaker 2 leaves the list of "
            "speakers. A merge cannot be undone in one step."
        )
        check_accessibility(page, "the merge dialog")
        shoot(page, "meeting-merge-dialog-1280")
        dialog.get_by_role("button", name="Merge", exact=True).click()
        expect(dialog).to_be_hidden()
        expect(items.locator(".speaker-name")).to_have_text(
            ["Speaker 1", "Ada", "No speaker label"]
        )
        expect(items.nth(1).locator(".speaker-facts")).to_have_text("0:09 · 43% · 4 segments")
        expect(page.get_by_role("button", name="Rename Ada")).to_be_focused()
        # the filter follows the speaker it showed into the merge
        expect(show).to_have_value("=Ada")
        assert visible_speakers(page) == ["Ada"] * 4
        assert api_speakers(page, site, meeting.id) == [
            ("Speaker 1", 12_000, 4),
            ("Ada", 9_500, 4),
            (None, 500, 1),
        ]
        stored = page.request.get(f"{site.base}/api/meetings/{meeting.id}/transcript").json()
        assert [s["speaker"] for s in stored["segments"]] == [
            "Speaker 1",
            "Ada",
            "Ada",
            "Speaker 1",
            "Ada",
            "Speaker 1",
            "Ada",
            None,
            "Speaker 1",
        ]
        assert_consistent_colours(page)

        # a rename: new name, its colour, the filter's options
        show.select_option(label="All speakers")
        page.get_by_role("button", name="Rename Speaker 1").click()
        box = page.get_by_label("New name for Speaker 1")
        box.fill("Grace")
        box.press("Enter")
        expect(page.get_by_role("button", name="Rename Grace")).to_be_focused()
        expect(rows.locator(".speaker")).to_have_text(
            ["Grace", "Ada", "Ada", "Grace", "Ada", "Grace", "Ada", "", "Grace"]
        )
        expect(show.locator("option")).to_have_text(
            ["All speakers", "Grace", "Ada", "No speaker label"]
        )
        assert set(assert_consistent_colours(page)) == {"Grace", "Ada"}

        # the same page in dark mode is readable too
        page.emulate_media(color_scheme="dark")
        check_accessibility(page, "the meeting page, dark")
        shoot(page, "meeting-speakers-dark-1280")
        page.emulate_media(color_scheme="light")

        # on a phone
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(rows).to_have_count(len(SAID))
        check_accessibility(page, "the meeting page on a phone")
        shoot(page, "meeting-speakers-390")


def test_analytics_with_several_speakers(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    make_meeting(db, site, email)
    other = [
        Said("Welcome to the design review.", 0, 6_000, "Speaker 1"),
        Said("Thanks, the mock-ups are ready.", 6_000, 9_000, "Speaker 2"),
        Said("Let us start with the meeting page.", 9_000, 12_000, "Grace"),
    ]
    make_meeting(db, site, email, other)
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/analytics")
        table = page.get_by_role("table", name="Talk time per speaker")
        expect(table.locator("tbody th")).to_have_text(
            ["Speaker 1", "Speaker 2", "Ada", "Grace", "No speaker label"]
        )
        expect(table.locator("tbody td.num:nth-of-type(1)")).to_have_text(
            ["0:18", "0:07", "0:05", "0:03", "0:00"]
        )
        # labels Mina gave in two meetings are added up: the page says what they are
        expect(page.get_by_text("Speaker 1, Speaker 2… are the labels Mina gives")).to_be_visible()
        check_accessibility(page, "the analytics page")
        shoot(page, "analytics-speakers-1280")


def test_identifying_speakers_then_the_transcript_updates_without_a_reload(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    said = [Said(s.text, s.start_ms, s.end_ms, None) for s in SAID]
    meeting = make_meeting(db, site, email, said)
    job = add_diarize_job(db, meeting, JobStatus.RUNNING)
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        status = page.get_by_role("status").filter(has_text="Identifying speakers")
        expect(status).to_have_text("Identifying speakers…")
        expect(page.locator("#speakers-state")).to_have_attribute("data-state", "running")
        page.get_by_text("Re-identify speakers", exact=True).click()
        expect(page.get_by_role("button", name="Re-identify", exact=True)).to_be_disabled()
        expect(page.locator("#speaker-list .speaker-name")).to_have_text(["No speaker label"])
        check_accessibility(page, "the meeting page while speakers are identified")
        shoot(page, "meeting-identifying-1280")
        page.evaluate("() => { window.samePage = true; }")

        # what the job writes: three speakers, one segment split where the speaker changes
        views = store.load_segment_views(db, meeting_id=meeting.id)
        labels = ["Speaker 1", "Speaker 2", "Speaker 3"] * 3
        changes = [
            Change(v, [Part(v.text, v.start_ms, v.end_ms, v.words, label)])
            for v, label in zip(views, labels, strict=True)
        ]
        first = views[0]
        changes[0] = Change(
            first,
            [
                Part("Good morning everyone,", 0, 1_500, [], "Speaker 1"),
                Part("let us start with the release plan.", 1_500, 4_000, [], "Speaker 3"),
            ],
        )
        assert store.apply_speaker_changes(db, meeting_id=meeting.id, changes=changes) == 1
        store.finish_job(db, job_id=job.id)
        db.commit()

        rows = page.locator("#transcript li.segment")
        expect(rows).to_have_count(len(SAID) + 1)
        expect(page.locator("#speakers-state")).to_have_text("Speakers identified: 3 speakers.")
        expect(rows.locator(".speaker")).to_have_text(["Speaker 1", "Speaker 3"] + labels[1:])
        expect(rows.nth(1).locator(".segment-text")).to_have_text(
            "let us start with the release plan."
        )
        expect(page.locator("#speaker-list .speaker-name")).to_have_text(
            ["Speaker 3", "Speaker 1", "Speaker 2"]
        )
        expect(page.locator("#speaker-list .speaker-facts")).to_have_text(
            ["0:10 · 45% · 4 segments", "0:07 · 32% · 3 segments", "0:05 · 23% · 3 segments"]
        )
        assert page.evaluate("() => window.samePage === true"), "the page was reloaded"
        expect(page.get_by_role("button", name="Re-identify", exact=True)).to_be_enabled()
        assert_consistent_colours(page)
        expect(page.get_by_label("Show the segments of")).to_be_visible()
        shoot(page, "meeting-identified-1280")
        page.set_viewport_size({"width": 390, "height": 844})
        shoot(page, "meeting-identified-390")
        # the message leaves after a while; the page stops asking
        expect(page.locator("#speakers-state")).to_have_text("", timeout=12_000)


def test_a_failed_job_tried_again_and_re_identify_with_a_count(
    page: Page, site: Site, db: Session, email: str, watched: WatchedContext, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email)
    add_diarize_job(db, meeting, JobStatus.FAILED)
    # the server's refusals, on purpose
    watched.allow(r"status of 409 .*/api/meetings/\d+/diarize\)$")
    watched.allow(MISSING_AUDIO)
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        state = page.locator("#speakers-state")
        expect(state).to_have_text("Speakers could not be identified.")
        retry = page.get_by_role("button", name="Try again")
        expect(retry).to_be_visible()
        check_accessibility(page, "the meeting page after a failed job")
        shoot(page, "meeting-failed-1280")

        # the audio is gone meanwhile: the server says why nothing starts
        db.execute(
            update(RecordingSession)
            .where(RecordingSession.meeting_id == meeting.id)
            .values(audio_bytes=0)
        )
        db.commit()
        retry.click()
        expect(state).to_have_text(
            "Speakers could not be identified. Not started again: "
            "The meeting has no audio to tell its speakers apart."
        )
        page.get_by_text("Re-identify speakers", exact=True).click()
        count = page.get_by_label("Number of speakers")
        start = page.get_by_role("button", name="Re-identify", exact=True)
        error = page.locator("#reidentify-error")
        count.fill("25")
        start.click()
        expect(error).to_have_text(
            "The number of speakers is a whole number from 1 to 20; "
            "leave it empty to let Mina count them."
        )
        expect(count).to_be_focused()
        expect(count).to_have_attribute("aria-invalid", "true")
        count.fill("3")
        start.click()
        expect(error).to_have_text(
            "Not started: The meeting has no audio to tell its speakers apart."
        )
        page.evaluate("() => window.scrollTo(0, 0)")
        shoot(page, "meeting-reidentify-error-1280")

        # with its audio back, a new job starts with the count; its row is what the server
        # would have queued, left running for the test
        db.execute(
            update(RecordingSession)
            .where(RecordingSession.meeting_id == meeting.id)
            .values(audio_bytes=24 * 32_000)
        )
        db.commit()
        asked: list[Any] = []

        def queue(route: Route) -> None:
            asked.append(route.request.post_data_json)
            job = add_diarize_job(db, meeting, JobStatus.RUNNING)
            asked.append(job.id)
            route.fulfill(
                status=202,
                content_type="application/json",
                body=json.dumps({"meeting_id": meeting.id, "job_id": job.id}),
            )

        page.route(re.compile(r".*/api/meetings/\d+/diarize$"), queue)
        start.click()
        expect(state).to_have_text("Identifying speakers…")
        expect(error).to_be_hidden()
        expect(page.locator("#reidentify")).not_to_have_attribute("open", "")
        assert asked[0] == {"speakers": 3}, asked
        expect(retry).to_be_hidden()
        store.finish_job(db, job_id=asked[1])
        db.commit()
        expect(state).to_have_text("Speakers identified: 3 speakers.")


def test_re_identify_runs_the_real_job_and_the_page_shows_what_it_wrote(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email)
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        page.evaluate("() => { window.samePage = true; }")
        page.get_by_text("Re-identify speakers", exact=True).click()
        page.get_by_label("Number of speakers").fill("2")
        page.get_by_role("button", name="Re-identify", exact=True).click()
        state = page.locator("#speakers-state")
        expect(state).to_have_text(
            re.compile(r"^Speakers identified: \d+ speakers?\.$"), timeout=90_000
        )
        stored = page.request.get(f"{site.base}/api/meetings/{meeting.id}").json()
        assert stored["analysis"]["speakers"] == "done", stored
        segments = page.request.get(f"{site.base}/api/meetings/{meeting.id}/transcript").json()
        rows = page.locator("#transcript li.segment")
        expect(rows.locator(".segment-text")).to_have_text(
            [s["text"] for s in segments["segments"]]
        )
        expect(rows.locator(".speaker")).to_have_text(
            [s["speaker"] or "" for s in segments["segments"]]
        )
        speakers = api_speakers(page, site, meeting.id)
        expect(page.locator("#speaker-list .speaker-name")).to_have_text(
            [name or "No speaker label" for name, _, _ in speakers]
        )
        assert page.evaluate("() => window.samePage === true"), "the page was reloaded"
        assert_consistent_colours(page)


def test_live_labels_for_viewers_and_on_the_live_page(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email, SAID[:3], live=True)
    with screenshots_on_failure(tmp_path, page=page):
        # a viewer: the transcript so far from the server, then a final segment it relays
        def follow(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()

            def relay(message: str | bytes) -> None:
                ws.send(message)
                if isinstance(message, str) and json.loads(message)["type"] == "transcript":
                    segment = {
                        "id": 10_000_000,
                        "seq": 3,
                        "text": "Then we ship the release on Friday.",
                        "start_ms": 9_000,
                        "end_ms": 12_000,
                        "confidence": 0.9,
                        "speaker": "Speaker 2",
                        "words": [],
                    }
                    ws.send(json.dumps({"type": "final", "segment": segment}))

            server.on_message(relay)

        page.route_web_socket(re.compile(r".*/ws/meetings/\d+/live$"), follow)
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        rows = page.locator("#transcript li.segment")
        expect(rows.locator(".speaker")).to_have_text(
            ["Speaker 1", "Speaker 2", "Ada", "Speaker 2"]
        )
        slots = {r["speaker"]: r["slot"] for r in speaker_colours(page)}
        assert slots["Speaker 1"] == "0" and slots["Speaker 2"] == "1" and slots["Ada"], slots
        colours = {r["speaker"]: r["color"] for r in speaker_colours(page)}
        assert len(set(colours.values())) == 3, colours

        # the person recording: a speaker count in the start message, labels as they come
        starts: list[dict[str, Any]] = []

        def transcribe(ws: WebSocketRoute) -> None:
            def answer(message: str | bytes) -> None:
                if isinstance(message, bytes):
                    return
                sent = json.loads(message)
                if sent["type"] == "stop":
                    stopped = {"meeting_id": meeting.id, "duration_ms": 22_000, "words": 30}
                    ws.send(json.dumps({"type": "stopped", "segments": 4, **stopped}))
                    ws.close(code=1000)
                    return
                if sent["type"] != "start":
                    return
                starts.append(sent)
                ws.send(
                    json.dumps(
                        {
                            "type": "started",
                            "meeting_id": meeting.id,
                            "session_id": "00000000-0000-0000-0000-000000000000",
                            "resume_token": "t",
                            "engine": "fake",
                            "sample_rate": 16000,
                        }
                    )
                )
                for i, s in enumerate(SAID[:4]):
                    segment = {
                        "id": 20_000_000 + i,
                        "seq": i,
                        "text": s.text,
                        "start_ms": s.start_ms,
                        "end_ms": s.end_ms,
                        "confidence": 0.9,
                        "speaker": s.speaker,
                        "words": [],
                    }
                    ws.send(json.dumps({"type": "final", "segment": segment}))

            ws.on_message(answer)

        page.route_web_socket(re.compile(r".*/ws/transcribe$"), transcribe)
        page.goto(f"{site.base}/live")
        speakers = page.get_by_label("Speakers")
        speakers.fill("0")
        page.get_by_role("button", name="Start recording").click()
        expect(page.locator("#live-speakers-error")).to_have_text(
            "Speakers: a whole number from 1 to 20, or leave it empty."
        )
        expect(speakers).to_be_focused()
        check_accessibility(page, "the live page")
        speakers.fill("3")
        page.get_by_role("button", name="Start recording").click()
        live_rows = page.locator("#live-finals li.segment")
        expect(live_rows).to_have_count(4)
        assert starts and starts[0]["speakers"] == 3, starts
        expect(page.locator("#live-summary")).to_contain_text("3 speakers")
        expect(live_rows.locator(".speaker")).to_have_text(
            ["Speaker 1", "Speaker 2", "Ada", "Speaker 1"]
        )
        painted = live_rows.locator(".speaker").evaluate_all(
            "labels => labels.map((l) => [l.dataset.colour, getComputedStyle(l).color])"
        )
        assert painted[0] == painted[3] and painted[0][0] == "0", painted
        assert len({c for _, c in painted}) == 3, painted
        page.emulate_media(reduced_motion="reduce")  # rows fade in: axe reads settled colours
        check_accessibility(page, "the live page while recording")
        shoot(page, "live-speakers-1280")
        page.get_by_role("button", name="Stop recording").click()
        expect(page.get_by_role("heading", name="Meeting saved")).to_be_visible()


def test_the_upload_form_sends_the_speaker_count(
    page: Page, site: Site, db: Session, tmp_path: Path
) -> None:
    recording = tmp_path / "call.wav"
    with wave.open(str(recording), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(speech_pcm(2.0))
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/upload")
        page.locator("#upload-file").set_input_files(recording)
        page.get_by_label("Title").fill("Four of us")
        count = page.get_by_label("Number of speakers")
        count.fill("21")
        start = page.get_by_role("button", name="Upload and transcribe")
        start.click()
        expect(page.locator("#upload-error")).to_have_text(
            "Number of speakers: a whole number from 1 to 20, or leave it empty."
        )
        expect(count).to_be_focused()
        expect(page.locator("#upload-progress")).to_be_hidden()
        count.fill("4")
        check_accessibility(page, "the upload page")
        shoot(page, "upload-speakers-1280")
        start.click()
        expect(page.get_by_role("link", name="Open the meeting")).to_be_visible(timeout=60_000)
        meeting_id = page.evaluate("() => window.minaUpload.meetingId")
        meeting = db.get(Meeting, meeting_id)
        assert meeting is not None and meeting.title == "Four of us"
        assert meeting.expected_speakers == 4
