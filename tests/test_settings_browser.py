"""The settings page in a real Chromium against a real ``mina serve``, on SQLite and PostgreSQL,
at a laptop's and a phone's width: "Download my data" shows the job's progress, then a link
whose zip holds the meetings' JSON and audio; "Delete my account" asks for the password,
refuses a wrong one, and with the right one lands on the login page with the account gone.
axe-core finds no accessibility violation on the page or in the dialog."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from mina import store
from mina.models import RecordingSession, utcnow
from tests.browser import (
    Site,
    log_in,
    open_context,
    screenshots_on_failure,
    serve_site,
    shoot,
)
from tests.conftest import PASSWORD
from tests.meetingdata import Said, add_meeting, principal_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """``mina serve`` (the fake engine: nothing here is transcribed) on a fresh database."""
    with serve_site(
        request, tmp_path_factory, "settings", {"MINA_ENGINE": "fake", "MINA_VAD": "energy"}
    ) as running:
        yield running


def check_accessibility(page: Page, where: str) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"


def make_user(site: Site) -> tuple[str, list[int]]:
    """A user with three meetings of real speech (a minute each) in their own workspace."""
    email = f"user-{secrets.token_hex(4)}@example.com"
    with site.sessions() as db:
        store.create_user(db, email=email, password=PASSWORD, name="Ada Lovelace")
        db.commit()
        principal = principal_of(db, email)
        meetings = [
            add_meeting(
                db,
                principal=principal,
                audio_dir=site.data_dir / "audio",
                title=title,
                started_at=utcnow() - timedelta(days=3 - i),
                said=[Said(f"{title}: the first point.", 0, 4000, "Ada"), Said("Yes.", 4000, 6000)],
                audio_s=60.0,
            ).id
            for i, title in enumerate(["Roadmap review", "Hiring sync", "Budget planning"])
        ]
    return email, meetings


def audio_paths(site: Site, meetings: list[int]) -> list[Path]:
    with site.sessions() as db:
        return [
            Path(p)
            for p in db.scalars(
                select(RecordingSession.audio_path).where(RecordingSession.meeting_id.in_(meetings))
            )
        ]


@pytest.mark.parametrize("width", [1280, 390])
def test_download_my_data_then_delete_my_account(
    browser: Browser, site: Site, tmp_path: Path, width: int
) -> None:
    email, meetings = make_user(site)
    files = audio_paths(site, meetings)
    assert len(files) == 3 and all(p.exists() for p in files)
    name = f"settings-{site.backend}-{width}"
    with (
        open_context(
            browser, viewport={"width": width, "height": 900}, accept_downloads=True
        ) as watched,
        screenshots_on_failure(tmp_path, page=(page := watched.new_page())),
    ):
        # on purpose, below: a wrong password for the deletion, then a sign-in that must fail
        watched.allow(r"status of 403 \(Forbidden\) \(\S+/api/me\)$")
        watched.allow(r"status of 401 \(Unauthorized\) \(\S+/login\)$")
        log_in(page, site.base, email, PASSWORD)
        page.get_by_role("link", name="Settings").click()
        page.wait_for_url(f"{site.base}/settings")
        expect(page.get_by_role("heading", name="Your data")).to_be_visible()
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
        check_accessibility(page, "the settings page")
        shoot(page, f"{name}-idle")

        # Download my data: the job's progress, then the link
        page.get_by_role("button", name="Download my data").click()
        link = page.get_by_role("link", name="Download the zip")
        expect(link).to_be_visible(timeout=30_000)
        state = page.evaluate("() => window.minaExport")
        assert "running" in state["phases"] and state["phase"] == "ready", state
        assert state["progress"] and all(0 <= p <= 1 for p in state["progress"])
        expect(page.locator("#export-status")).to_have_text("Your data is ready to download.")
        check_accessibility(page, "the settings page with an export ready")
        shoot(page, f"{name}-ready")
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename.startswith("mina-data-")
        archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
        account = json.loads(archive.read("account.json"))
        assert [m["id"] for m in account["meetings"]] == meetings
        for listed in account["meetings"]:
            served = page.request.get(f"{site.base}/api/meetings/{listed['id']}/audio")
            assert archive.read(listed["audio"]) == served.body()
            transcript = json.loads(archive.read(listed["json"]))["segments"]
            assert transcript[0]["text"].endswith("the first point.")
        # the page remembers a ready export
        page.reload()
        expect(page.get_by_role("link", name="Download the zip")).to_be_visible()

        # Delete my account: the dialog asks for the password
        page.get_by_role("button", name="Delete my account", exact=True).click()
        dialog = page.get_by_role("dialog", name="Delete your account?")
        expect(dialog).to_be_visible()
        check_accessibility(page, "the delete account dialog")
        shoot(page, f"{name}-delete-dialog")
        dialog.get_by_role("button", name="Delete my account for good").click()
        expect(dialog.get_by_role("alert")).to_have_text(
            "Enter your password to delete your account."
        )
        dialog.get_by_label("Password").fill("not my password")
        dialog.get_by_role("button", name="Delete my account for good").click()
        expect(dialog.get_by_role("alert")).to_contain_text("That is not your password")
        assert all(p.exists() for p in files)
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()

        page.get_by_role("button", name="Delete my account", exact=True).click()
        dialog.get_by_label("Password").fill(PASSWORD)
        dialog.get_by_role("button", name="Delete my account for good").click()
        page.wait_for_url(f"{site.base}/login")
        expect(page.get_by_text("Your account and its data were deleted.")).to_be_visible()
        shoot(page, f"{name}-deleted")

        # gone: the sign-in, the files, and the account itself
        page.goto(f"{site.base}/settings")
        page.wait_for_url(f"{site.base}/login?next=/settings")
        assert not any(p.exists() for p in files)
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("do not match an account")
