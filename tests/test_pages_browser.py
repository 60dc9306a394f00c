"""The meeting pages in a real Chromium against a real ``mina serve`` process, on SQLite and on
PostgreSQL: click-to-seek and ``?t=`` move the audio element, the playing segment is followed,
search within the transcript, inline edits and speaker renames persist, the title is edited in
place, delete removes the meeting and its audio, and the dashboard shows a meeting recorded
live right now (real speech, tiny.en) whose page follows it until it ends.

Meetings are made with the store functions a recording uses, with real speech audio on disk
(tests/meetingdata.py); the live one streams over /ws/transcribe."""

from __future__ import annotations

import json
import re
import secrets
import threading
import wave
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session
from websockets.sync.client import connect

from mina import store
from mina.models import Meeting, utcnow
from tests.browser import (
    Site,
    WatchedContext,
    check_accessibility,
    log_in,
    open_chromium,
    open_context,
    screenshots_on_failure,
    serve_site,
    wait_for_seek,
    wait_for_true,
    watch_seeks,
)
from tests.conftest import PASSWORD
from tests.meetingdata import Said, add_meeting, principal_of
from tests.speechdata import get_clip

pytestmark = pytest.mark.slow

SAID = [
    Said("Good morning, let us look at the release plan.", 0, 2_400, "Speaker 1"),
    Said("The search index is ready for review.", 2_400, 4_800, "Speaker 2"),
    Said("Then we ship the release on Friday.", 4_800, 7_000, "Speaker 1"),
    Said("I will write the release notes tonight.", 7_000, 9_200, "Speaker 2"),
    Said("Great, that is the plan.", 9_200, 11_000, None),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """``mina serve`` (whisper tiny.en, Silero VAD) on a fresh database of each backend."""
    with serve_site(request, tmp_path_factory, "pages") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with open_chromium("--autoplay-policy=no-user-gesture-required") as browser:
        yield browser


@pytest.fixture
def db(site: Site) -> Iterator[Session]:
    session = site.sessions()
    yield session
    session.close()


@pytest.fixture
def email(db: Session) -> str:
    """A fresh user of their own workspace, for this test."""
    address = f"user-{secrets.token_hex(4)}@example.com"
    store.create_user(db, email=address, password=PASSWORD, name="Ada Lovelace")
    db.commit()
    return address


@pytest.fixture
def watched(browser: Browser) -> Iterator[WatchedContext]:
    """A browser context whose pages must break no Content-Security-Policy and log no error."""
    with open_context(browser, viewport={"width": 1280, "height": 900}) as watched:
        yield watched


@pytest.fixture
def page(watched: WatchedContext, site: Site, email: str) -> Page:
    """A signed-in page."""
    page = watched.new_page()
    log_in(page, site.base, email, PASSWORD)
    return page


@pytest.fixture
def meeting(db: Session, site: Site, email: str) -> Meeting:
    return add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=site.data_dir / "audio",
        title="Release planning",
        started_at=utcnow() - timedelta(hours=2),
        said=SAID,
        audio_s=12,
    )


def current_time(page: Page) -> float:
    value: float = page.locator("#meeting-audio").evaluate("a => a.currentTime")
    return value


def wait_for_time(page: Page, seconds: float, tolerance: float = 0.6) -> None:
    wait_for_true(
        page,
        f"Math.abs(document.getElementById('meeting-audio').currentTime - {seconds}) < {tolerance}",
        timeout=10_000,
    )


def test_click_a_segment_to_play_from_it_and_the_playing_one_is_followed(
    page: Page, site: Site, tmp_path: Path, meeting: Meeting
) -> None:
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        rows = page.locator("#transcript li.segment")
        expect(rows).to_have_count(len(SAID))
        expect(rows.locator(".ts")).to_have_text(["00:00", "00:02", "00:04", "00:07", "00:09"])
        expect(rows.nth(1).locator(".speaker")).to_have_text("Speaker 2")

        watch_seeks(page)  # the audio plays on at once: where each seek landed is kept
        rows.nth(2).locator(".segment-text").click()
        wait_for_seek(page, 4.8)
        expect(rows.nth(2)).to_have_class(re.compile(r"\bis-playing\b"))
        wait_for_true(page, "!document.getElementById('meeting-audio').paused")
        assert current_time(page) >= 4.8
        # as the audio plays on, the highlight moves with it
        page.locator("#meeting-audio").evaluate("a => { a.currentTime = 9.5; }")
        expect(rows.nth(4)).to_have_attribute("aria-current", "true")
        expect(rows.nth(2)).not_to_have_attribute("aria-current", "true")
        # the keyboard: the timestamp is a button named for what it does
        page.locator("#meeting-audio").evaluate("a => a.pause()")
        play_from = page.get_by_role("button", name="Play from 00:07")
        play_from.focus()
        page.keyboard.press("Enter")
        wait_for_seek(page, 7.0)
        expect(rows.nth(3)).to_have_attribute("aria-current", "true")


def test_t_in_the_address_seeks_and_marks_that_segment(
    page: Page, site: Site, tmp_path: Path, meeting: Meeting
) -> None:
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}?t=7500")
        wait_for_time(page, 7.5, tolerance=0.05)
        row = page.locator("#transcript li.segment").nth(3)
        expect(row).to_have_attribute("aria-current", "true")
        expect(row).to_have_class(re.compile(r"\bis-target\b.*\bis-playing\b"))
        expect(row).to_be_in_viewport()


def test_search_within_the_transcript(
    page: Page, site: Site, tmp_path: Path, meeting: Meeting
) -> None:
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        search = page.get_by_role("searchbox", name="Search the transcript")
        search.fill("release")
        count = page.locator("#find-count")
        expect(count).to_have_text("1 of 3")
        expect(page.locator("mark.find-hit")).to_have_count(3)
        expect(page.locator("mark.find-hit.is-current")).to_have_text("release")
        search.press("Enter")
        expect(count).to_have_text("2 of 3")
        page.get_by_role("button", name="Next match").click()
        expect(count).to_have_text("3 of 3")
        page.get_by_role("button", name="Next match").click()
        expect(count).to_have_text("1 of 3")
        search.press("Shift+Enter")
        expect(count).to_have_text("3 of 3")
        current = page.locator("#transcript li.segment", has=page.locator("mark.is-current"))
        expect(current.locator(".ts")).to_have_text("00:07")
        search.fill("no such words")
        expect(count).to_have_text("No matches")
        expect(page.locator("mark.find-hit")).to_have_count(0)
        search.press("Escape")
        expect(count).to_have_text("")
        # the text itself is untouched by highlighting
        expect(page.locator("#transcript .segment-text").nth(0)).to_have_text(SAID[0].text)


def test_an_inline_edit_persists_and_keeps_the_original(
    page: Page, site: Site, tmp_path: Path, meeting: Meeting
) -> None:
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        row = page.locator("#transcript li.segment").nth(1)
        row.hover()
        row.get_by_role("button", name="Edit the segment at 00:02").click()
        text = row.get_by_label("Text")
        expect(text).to_be_focused()
        expect(text).to_have_value(SAID[1].text)
        text.fill("The search index is ready for a last review.")
        row.get_by_label("Speaker").fill("Grace")
        text.press("Control+Enter")
        expect(row.locator(".segment-text")).to_have_text(
            "The search index is ready for a last review."
        )
        expect(row.locator(".speaker")).to_have_text("Grace")
        expect(row.locator(".edited-tag")).to_be_visible()
        expect(page.locator("#meeting-words")).to_have_text(
            str(sum(len(s.text.split()) for s in SAID) + 2)
        )

        # Escape throws an edit away
        other = page.locator("#transcript li.segment").nth(0)
        other.hover()
        other.get_by_role("button", name="Edit the segment at 00:00").click()
        other.get_by_label("Text").fill("Something else entirely")
        other.get_by_label("Text").press("Escape")
        expect(other.locator(".segment-text")).to_have_text(SAID[0].text)

        page.reload()
        row = page.locator("#transcript li.segment").nth(1)
        expect(row.locator(".segment-text")).to_have_text(
            "The search index is ready for a last review."
        )
        expect(row.locator(".speaker")).to_have_text("Grace")
        expect(row.locator(".edited-tag")).to_have_attribute("title", f"Heard as: {SAID[1].text}")
        stored = page.request.get(f"{site.base}/api/meetings/{meeting.id}/transcript").json()
        assert stored["segments"][1]["text"] == "The search index is ready for a last review."
        assert stored["segments"][1]["original_text"] == SAID[1].text
        assert stored["segments"][0]["text"] == SAID[0].text and not stored["segments"][0]["edited"]


def test_renaming_a_speaker_shows_everywhere(
    page: Page, site: Site, tmp_path: Path, meeting: Meeting
) -> None:
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        speakers = page.locator("#speaker-list")
        page.get_by_role("button", name="Rename Speaker 1").click()
        box = page.get_by_label("New name for Speaker 1")
        expect(box).to_be_focused()
        box.fill("Ada")
        box.press("Enter")
        labels = page.locator("#transcript li.segment .speaker")
        expect(labels).to_have_text(["Ada", "Speaker 2", "Ada", "Speaker 2", ""])
        expect(speakers.locator(".speaker-name")).to_have_text(
            ["Ada", "Speaker 2", "No speaker label"]  # equal talk time: by name
        )
        # the unlabelled segment gets a name too
        page.get_by_role("button", name="Name the unlabelled segments").click()
        page.get_by_label("Name for the unlabelled segments").fill("Linus")
        page.get_by_label("Name for the unlabelled segments").press("Enter")
        expect(labels.nth(4)).to_have_text("Linus")
        page.reload()
        expect(labels).to_have_text(["Ada", "Speaker 2", "Ada", "Speaker 2", "Linus"])
        expect(page.locator("#speaker-list .speaker-name")).to_have_text(
            ["Ada", "Speaker 2", "Linus"]
        )
        analytics = page.request.get(f"{site.base}/api/analytics?days=7").json()
        assert {s["speaker"] for s in analytics["speakers"]} == {"Ada", "Speaker 2", "Linus"}


def test_rename_the_meeting_then_delete_it(
    page: Page,
    watched: WatchedContext,
    site: Site,
    tmp_path: Path,
    meeting: Meeting,
    db: Session,
) -> None:
    watched.allow(r"status of 404 .*/dashboard/meeting/\d+\)$")  # the deleted meeting's page
    with screenshots_on_failure(tmp_path, page=page):
        audio_files = [Path(r.audio_path) for r in store.list_recordings(db, meeting_id=meeting.id)]
        assert audio_files and all(path.exists() for path in audio_files)
        page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
        page.get_by_role("button", name="Rename the meeting").click()
        title = page.get_by_label("Meeting title")
        title.fill("Release planning, week 49")
        title.press("Enter")
        expect(page.locator("h1#meeting-title")).to_have_text("Release planning, week 49")
        expect(page).to_have_title("Release planning, week 49 · Mina")
        page.reload()
        expect(page.locator("h1#meeting-title")).to_have_text("Release planning, week 49")

        page.get_by_role("button", name="Delete meeting").click()
        dialog = page.get_by_role("dialog", name="Delete this meeting?")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        assert page.request.get(f"{site.base}/api/meetings/{meeting.id}").status == 200

        page.get_by_role("button", name="Delete meeting").click()
        dialog.get_by_role("button", name="Delete meeting").click()
        page.wait_for_url(f"{site.base}/dashboard/meetings")
        assert page.request.get(f"{site.base}/api/meetings/{meeting.id}").status == 404
        assert page.goto(f"{site.base}/dashboard/meeting/{meeting.id}").status == 404  # type: ignore[union-attr]
        assert not any(path.exists() for path in audio_files)
        page.goto(f"{site.base}/dashboard")
        expect(page.get_by_text("Release planning, week 49")).to_have_count(0)


def _speech_frames() -> list[bytes]:
    with wave.open(str(get_clip("jfk").wav), "rb") as clip:
        pcm = clip.readframes(clip.getnframes())
    pcm += bytes(2 * 16000 * 2)  # two seconds of silence: the last sentence closes
    return [pcm[i : i + 3200] for i in range(0, len(pcm), 3200)]


def test_the_dashboard_shows_a_live_meeting_and_its_page_follows_it(
    page: Page, site: Site, tmp_path: Path, email: str, db: Session
) -> None:
    with screenshots_on_failure(tmp_path, page=page):
        user = store.get_user_by_email(db, email=email)
        assert user is not None
        _, token = store.create_api_token(db, user=user, name="recorder")
        db.commit()
        ws_url = site.base.replace("http://", "ws://") + "/ws/transcribe"
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            ws.send(
                json.dumps(
                    {
                        "type": "start",
                        "title": "Live stand-up",
                        "sample_rate": 16000,
                        "encoding": "pcm_s16le",
                    }
                )
            )
            started = json.loads(ws.recv(timeout=30))
            assert started["type"] == "started", started
            meeting_id = started["meeting_id"]
            received: list[dict[str, object]] = []
            reader = threading.Thread(
                target=lambda: received.extend(json.loads(m) for m in ws), daemon=True
            )
            reader.start()

            page.goto(f"{site.base}/dashboard")
            live_now = page.get_by_role("region", name="Live now")
            expect(live_now).to_be_visible()
            expect(live_now.locator(".meeting-title")).to_have_text("Live stand-up")
            live_now.get_by_role("link", name="Follow Live stand-up live").click()
            page.wait_for_url(f"{site.base}/dashboard/meeting/{meeting_id}")
            expect(page.locator("#meeting-status")).to_have_attribute("data-status", "live")
            expect(page.locator("#follow-state")).to_have_text("Following live")

            for frame in _speech_frames():
                ws.send(frame)
            rows = page.locator("#transcript li.segment")
            expect(rows.first).to_be_visible(timeout=60_000)
            expect(rows.first.locator(".ts")).to_have_text("00:00")
            ws.send(json.dumps({"type": "stop"}))
            reader.join(timeout=60)
        assert any(m.get("type") == "stopped" for m in received), received[-3:]

        # the page switches to the finished meeting: completed, with its audio and its words
        expect(page.locator("#meeting-status")).to_have_attribute(
            "data-status", "completed", timeout=20_000
        )
        expect(page.locator("audio#meeting-audio")).to_have_count(1)
        said = " ".join(page.locator("#transcript .segment-text").all_inner_texts()).lower()
        assert "country" in said and "americans" in said, said
        page.goto(f"{site.base}/dashboard")
        expect(page.get_by_role("region", name="Live now")).to_have_count(0)
        expect(page.get_by_role("region", name="Today").locator(".meeting-title")).to_have_text(
            ["Live stand-up"]
        )


def test_the_dashboard_on_a_day_with_nothing_recorded_yet(
    page: Page, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    """The empty state of today's meetings (an older meeting exists) links to the live page, and
    that link stands out from its sentence by more than colour (axe: link-in-text-block)."""
    add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=site.data_dir / "audio",
        title="Last week's review",
        started_at=utcnow() - timedelta(days=3),
        said=SAID[:2],
        audio_s=5,
    )
    with screenshots_on_failure(tmp_path, page=page):
        page.goto(f"{site.base}/dashboard")
        empty = page.locator(".empty-line", has_text="Nothing recorded today yet.")
        expect(empty).to_be_visible()
        link = empty.get_by_role("link", name="Record a meeting")
        expect(link).to_have_attribute("href", "/live")
        assert link.evaluate("a => getComputedStyle(a).textDecorationLine") == "underline"
        check_accessibility(page, "the dashboard with nothing recorded today")
        page.set_viewport_size({"width": 390, "height": 844})
        check_accessibility(page, "the dashboard with nothing recorded today, on a phone")
