"""Comments and notifications in a real Chromium against a real ``mina serve``, on SQLite and
PostgreSQL. Two people, each with their own login: Grace, a viewer, opens a meeting of Ada's
workspace, comments on a segment and mentions Ada with the "@" autocomplete (arrow keys and
Enter); the body's HTML stays text. Ada's bell shows one unread notification; opening it lands
on the segment with its thread open, and the bell is cleared. axe-core finds no serious or
critical violation with a thread open and with the bell open, at 1280 and 390 px."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete
from sqlalchemy.orm import Session

from mina import store
from mina.models import Membership, Role, Workspace, utcnow
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
    Said("Good morning, let's look at the quarter.", 0, 3_000, "Ada"),
    Said("Revenue grew eight percent, costs stayed flat.", 3_000, 6_000, "Grace"),
    Said("We decided to keep the current plan.", 6_000, 9_000, "Ada"),
]
HOSTILE = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


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
    with serve_site(request, tmp_path_factory, "comments", settings) as running:
        yield running


@pytest.fixture
def db(site: Site) -> Iterator[Session]:
    session = site.sessions()
    yield session
    session.close()


def shoot(page: Page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top of a full-page shot
    shoot_page(page, name)


def make_team(db: Session, site: Site) -> tuple[str, str, int, list[int]]:
    """Ada's workspace with a meeting, and Grace, a viewer there and nowhere else."""
    tag = secrets.token_hex(3)
    ada, grace = f"ada-{tag}@example.com", f"grace-{tag}@example.com"
    store.create_user(db, email=ada, password=PASSWORD, name="Ada Lovelace")
    viewer = store.create_user(db, email=grace, password=PASSWORD, name="Grace Hopper")
    db.flush()
    own = [m.workspace_id for m in viewer.memberships]
    db.execute(delete(Membership).where(Membership.user_id == viewer.id))
    db.execute(delete(Workspace).where(Workspace.id.in_(own)))
    owner = principal_of(db, ada)
    store.add_member(db, workspace_id=owner.workspace.id, user_id=viewer.id, role=Role.VIEWER)
    db.commit()
    meeting = add_meeting(
        db,
        principal=owner,
        audio_dir=site.data_dir / "audio",
        title="Weekly sync",
        started_at=utcnow() - timedelta(hours=2),
        said=SAID,
        audio_s=9,
    )
    segments = [s.id for s in store.list_transcript(db, meeting_id=meeting.id)]
    return ada, grace, meeting.id, segments


def test_a_viewer_mentions_the_owner_who_follows_the_bell(
    browser: Browser, site: Site, db: Session, tmp_path: Path
) -> None:
    ada, grace, meeting_id, segments = make_team(db, site)
    size = {"viewport": {"width": 1280, "height": 900}}
    with (
        open_context(browser, **size) as viewer_ctx,
        open_context(browser, **size) as owner_ctx,
    ):
        viewer = viewer_ctx.new_page()
        owner = owner_ctx.new_page()
        with screenshots_on_failure(tmp_path, viewer=viewer, owner=owner):
            log_in(viewer, site.base, grace, PASSWORD)
            expect(viewer.get_by_role("button", name="Notifications", exact=True)).to_be_visible()
            viewer.goto(f"{site.base}/dashboard/meeting/{meeting_id}")
            viewer.get_by_role("button", name="Comment on the segment at 00:03").click()
            thread = viewer.get_by_role("region", name="Comments on the segment at 00:03")
            expect(thread.get_by_text("No comments yet.")).to_be_visible()
            box = thread.get_by_role("combobox", name="Add a comment")
            expect(box).to_be_focused()
            box.press_sequentially("Can you check this, @ad")
            options = thread.get_by_role("listbox", name="Members to mention").get_by_role("option")
            expect(options).to_have_count(1)
            expect(options.first).to_contain_text("Ada Lovelace")
            expect(box).to_have_attribute("aria-expanded", "true")
            box.press("ArrowDown")  # one option: it wraps round to itself
            expect(options.first).to_have_attribute("aria-selected", "true")
            box.press("Enter")
            expect(box).to_have_value("Can you check this, @Ada Lovelace ")
            expect(box).to_have_attribute("aria-expanded", "false")
            box.press_sequentially(
                f"before **Friday**? See https://example.com/q3. [bad](javascript:x) {HOSTILE}"
            )
            thread.get_by_role("button", name="Comment", exact=True).click()

            comment = thread.locator("li.comment")
            expect(comment).to_have_count(1)
            expect(comment).to_contain_text("Grace Hopper")
            expect(comment).to_contain_text("just now")
            expect(comment.locator(".mention")).to_have_text("@Ada Lovelace")
            expect(comment.locator("strong", has_text="Friday")).to_be_visible()
            expect(comment.locator(".comment-body")).to_contain_text(HOSTILE)
            assert thread.locator("img, script").count() == 0
            link = comment.get_by_role("link")
            expect(link).to_have_count(1)  # the http(s) one, not the javascript: one
            expect(link).to_have_attribute("href", "https://example.com/q3")
            # the author edits and deletes their own; a viewer deletes nobody else's
            expect(comment.get_by_role("button", name="Edit", exact=False)).to_have_count(1)
            expect(box).to_have_value("")
            toggle = viewer.get_by_role("button", name="1 comment on the segment at 00:03")
            expect(toggle).to_have_attribute("aria-expanded", "true")
            check_accessibility(viewer, "a thread with a comment")
            shoot(viewer, "comments-thread-1280")
            viewer.set_viewport_size({"width": 390, "height": 844})
            thread.scroll_into_view_if_needed()
            check_accessibility(viewer, "a thread on a phone")
            shoot(viewer, "comments-thread-390")

            # Ada's bell has it
            log_in(owner, site.base, ada, PASSWORD)
            bell = owner.get_by_role("button", name="Notifications, 1 unread")
            expect(bell).to_be_visible()
            bell.click()
            expect(bell).to_have_attribute("aria-expanded", "true")
            panel = owner.get_by_role("region", name="Notifications")
            item = panel.get_by_role("link", name="Grace Hopper mentioned you in Weekly sync")
            expect(item).to_be_visible()
            check_accessibility(owner, "the bell open")
            shoot(owner, "bell-open-1280")
            item.click()
            owner.wait_for_url(
                f"{site.base}/dashboard/meeting/{meeting_id}?t=3000#segment-{segments[1]}"
            )
            landed = owner.get_by_role("region", name="Comments on the segment at 00:03")
            expect(landed.locator("li.comment")).to_contain_text("Can you check this")
            row = owner.locator(f"#segment-{segments[1]}")
            expect(row).to_have_class(re.compile(r"\bis-target\b.*\bhas-thread\b"))
            # the owner deletes anyone's comment, but edits only their own
            expect(landed.get_by_role("button", name="Edit", exact=False)).to_have_count(0)
            expect(landed.get_by_role("button", name="Delete", exact=False)).to_have_count(1)
            expect(owner.get_by_role("button", name="Notifications", exact=True)).to_be_visible()
            check_accessibility(owner, "the meeting with the thread a notification opened")
            owner.set_viewport_size({"width": 390, "height": 844})
            owner.get_by_role("button", name="Notifications", exact=True).click()
            expect(panel.get_by_role("link")).to_have_count(1)
            check_accessibility(owner, "the bell open on a phone")
            shoot(owner, "bell-open-390")
