"""Share links in a real Chromium against a real ``mina serve``, on SQLite and PostgreSQL: the
owner makes a link in the meeting page's Share dialog and copies it; a second browser with no
session opens it and reads the meeting; the owner revokes it and the same address answers 404.
A shared meeting still being recorded shows its segments as they arrive and the finished
meeting when it ends. axe-core finds no serious or critical violation on the shared page and
with the dialog open, at 1280 and 390 px."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from mina import sharing, store
from mina.models import Meeting, utcnow
from tests.browser import (
    Site,
    check_accessibility,
    log_in,
    open_context,
    screenshots_on_failure,
    serve_site,
)
from tests.browser import shoot as shoot_page
from tests.conftest import PASSWORD
from tests.meetingdata import Said, add_meeting, principal_of

pytestmark = pytest.mark.slow

SAID = [
    Said("Good morning, let's start with the budget for next quarter.", 0, 3_000, "Ada"),
    Said("Grace will send the hosting quote tomorrow.", 3_000, 6_000, "Grace"),
    Said("We decided to stay on the current hosting plan.", 6_000, 9_000, "Ada"),
]
NOT_FOUND = r"status of 404"  # the revoked link's page, on purpose


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    settings = {
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_DIARIZATION": "false",
        "MINA_INSIGHTS": "off",
    }
    with serve_site(request, tmp_path_factory, "share", settings) as running:
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


def make_meeting(db: Session, site: Site, email: str, *, live: bool = False) -> Meeting:
    meeting = add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=site.data_dir / "audio",
        title="Hosting review",
        started_at=utcnow() - timedelta(hours=2),
        said=SAID,
        audio_s=10,
        live=live,
    )
    if not live:
        segments = store.list_transcript(db, meeting_id=meeting.id)
        store.save_insights(
            db,
            meeting_id=meeting.id,
            provider="scripted",
            model="rules v1",
            data={
                "summary": [
                    {
                        "text": "The budget for next quarter.",
                        "segment_id": segments[0].id,
                        "start_ms": 0,
                    },
                ],
                "action_items": [
                    {
                        "text": "Send the hosting quote",
                        "segment_id": segments[1].id,
                        "start_ms": 3_000,
                        "owner": "Grace",
                        "due_date": None,
                    },
                ],
            },
            sentiment=None,
            segment_sentiment={},
        )
        db.commit()
    return meeting


def shoot(page: Page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    shoot_page(page, name)


def test_share_copy_open_elsewhere_and_revoke(
    browser: Browser, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email)
    grants = {"permissions": ["clipboard-read", "clipboard-write"]}
    with (
        open_context(browser, viewport={"width": 1280, "height": 900}, **grants) as owner_ctx,
        open_context(browser, viewport={"width": 1280, "height": 900}) as guest_ctx,
    ):
        guest_ctx.allow(NOT_FOUND)
        page = owner_ctx.new_page()
        guest = guest_ctx.new_page()
        with screenshots_on_failure(tmp_path, owner=page, guest=guest):
            log_in(page, site.base, email, PASSWORD)
            page.goto(f"{site.base}/dashboard/meeting/{meeting.id}")
            page.get_by_role("button", name="Share", exact=True).click()
            dialog = page.get_by_role("dialog", name="Share this meeting")
            expect(dialog).to_be_visible()
            expect(dialog.get_by_text("No active links.")).to_be_visible()
            check_accessibility(page, "the Share dialog")

            dialog.get_by_label("Link works for").select_option("30")
            dialog.get_by_label("Include the audio").check()
            dialog.get_by_role("button", name="Create link").click()
            field = dialog.get_by_label("New link")
            expect(field).to_be_focused()
            url = field.input_value()
            assert url.startswith(f"{site.base}/s/") and len(url) > len(site.base) + 40, url
            items = dialog.locator(".share-item")
            expect(items).to_have_count(1)
            expect(items.first).to_contain_text("with audio")
            expect(items.first).to_contain_text("made by Ada Lovelace")
            dialog.get_by_role("button", name="Copy link").click()
            expect(dialog.get_by_role("status")).to_have_text("Link copied to the clipboard.")
            assert page.evaluate("navigator.clipboard.readText()") == url
            check_accessibility(page, "the Share dialog with a new link")
            shoot(page, "share-dialog-1280")

            # someone with no session opens the link
            answer = guest.goto(url)
            assert answer is not None and answer.status == 200
            assert answer.headers["referrer-policy"] == "no-referrer"
            assert answer.headers["x-robots-tag"] == "noindex, nofollow"
            expect(guest.get_by_role("heading", name="Hosting review", level=1)).to_be_visible()
            expect(guest.get_by_text("The budget for next quarter.", exact=True)).to_be_visible()
            expect(guest.get_by_text("Send the hosting quote", exact=True)).to_be_visible()
            transcript = guest.locator("#transcript li.segment")
            expect(transcript).to_have_count(3)
            expect(transcript.nth(1)).to_contain_text("Grace")
            expect(transcript.nth(1)).to_contain_text("00:03")
            expect(guest.locator("audio#shared-audio")).to_be_attached()
            guest.get_by_role("button", name="Play from 00:06").click()
            expect(guest.get_by_role("link", name="Log out")).to_have_count(0)
            check_accessibility(guest, "the shared page")
            shoot(guest, "shared-page-1280")
            guest.set_viewport_size({"width": 390, "height": 844})
            guest.reload()
            expect(transcript).to_have_count(3)
            check_accessibility(guest, "the shared page on a phone")
            shoot(guest, "shared-page-390")

            # the owner revokes it: the same address answers 404 at once
            page.set_viewport_size({"width": 390, "height": 844})
            dialog.get_by_role("button", name="Revoke the link").click()
            expect(dialog.get_by_text("No active links.")).to_be_visible()
            expect(dialog.get_by_role("status")).to_contain_text("Link revoked")
            expect(field).to_be_hidden()  # the revoked address is not offered any more
            check_accessibility(page, "the Share dialog on a phone")
            shoot(page, "share-dialog-390")
            gone = guest.goto(url)
            assert gone is not None and gone.status == 404
            expect(guest.get_by_role("heading", name="Link not found")).to_be_visible()
            expect(guest.get_by_text("Hosting review")).to_have_count(0)
            shoot(guest, "shared-gone-390")


def test_a_shared_live_meeting_follows_the_recording(
    browser: Browser, site: Site, db: Session, email: str, tmp_path: Path
) -> None:
    meeting = make_meeting(db, site, email, live=True)
    made = sharing.create_link(db, meeting=meeting, user_id=None, include_audio=True)
    db.commit()
    recording = store.list_recordings(db, meeting_id=meeting.id)[0]
    with open_context(browser, viewport={"width": 1280, "height": 900}) as guest_ctx:
        guest = guest_ctx.new_page()
        with screenshots_on_failure(tmp_path, guest=guest):
            guest.goto(f"{site.base}/s/{made.token}")
            expect(guest.get_by_role("status")).to_have_text("Following live")
            rows = guest.locator("#transcript li.segment")
            expect(rows).to_have_count(3)
            for seq, text in [(3, "A fourth thing was said."), (4, "And a fifth one.")]:
                store.add_segments(
                    db,
                    recording_id=recording.id,
                    meeting_id=meeting.id,
                    segments=[
                        store.NewSegment(
                            seq=seq,
                            text=text,
                            start_ms=9_000 + 1_000 * seq,
                            end_ms=9_900 + 1_000 * seq,
                            confidence=0.9,
                            words=[],
                            speaker="Grace",
                        )
                    ],
                )
                db.commit()
                expect(rows.last).to_contain_text(text, timeout=20_000)
            expect(rows).to_have_count(5)
            check_accessibility(guest, "a shared live meeting")
            store.finish_recording(db, recording_id=recording.id, audio_bytes=10 * 32_000)
            db.commit()
            # the page reloads into the finished meeting, with its player
            expect(guest.locator("audio#shared-audio")).to_be_attached(timeout=30_000)
            expect(rows).to_have_count(5)
