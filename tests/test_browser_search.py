"""The meetings list in a real Chromium against a real ``mina serve``: type a phrase, see the
highlighted passage (a transcript's markup shown as text), follow it to that moment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from mina import store
from mina.db import create_db_engine, create_session_factory
from tests.browser import (
    MISSING_AUDIO,
    WatchedContext,
    run_mina,
    screenshots_on_failure,
    sign_up,
)
from tests.conftest import PASSWORD
from tests.searchhelp import make_meeting

pytestmark = pytest.mark.slow

EMAIL = "searcher@example.com"


def test_search_a_phrase_and_jump_to_the_moment(browser: Browser, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with run_mina(data_dir, tmp_path / "mina.log") as base:
        watched = WatchedContext(browser.new_context(viewport={"width": 1280, "height": 900}))
        page = watched.new_page()
        watched.allow(MISSING_AUDIO)  # the meetings made here have no audio file
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        with screenshots_on_failure(tmp_path, meetings=page):
            sign_up(page, base, EMAIL, "Searcher", PASSWORD)
            env = {k: v for k, v in os.environ.items() if not k.startswith("MINA_")}
            env["MINA_DATA_DIR"] = str(data_dir)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mina",
                    "demo-data",
                    "--meetings",
                    "40",
                    "--segments-per-meeting",
                    "20",
                    "--email",
                    EMAIL,
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            engine = create_db_engine(f"sqlite:///{data_dir / 'mina.db'}")
            try:
                with create_session_factory(engine)() as db:
                    user = store.get_user_by_email(db, email=EMAIL)
                    assert user is not None
                    meeting = make_meeting(
                        db,
                        store.get_principal(db, user=user),
                        "Checkout retro",
                        [
                            "Hello everyone.",
                            "Someone pasted <script>alert('hi')</script> into the chat.",
                            "The zephyr checkout flow confused people.",
                        ],
                    )
                    db.commit()
                    meeting_id = meeting.id
            finally:
                engine.dispose()

            page.goto(f"{base}/dashboard/meetings")
            expect(page.locator(".result")).to_have_count(20)  # a full first page
            search = page.get_by_label("Search meetings")
            search.fill('"zephyr checkout"')
            search.press("Enter")
            page.wait_for_url(re.compile(r"/dashboard/meetings\?q="))
            expect(page.locator(".result")).to_have_count(1)
            expect(page.locator("#results-summary")).to_contain_text("1 meeting matches")
            mark = page.locator(".snippet mark")
            expect(mark).to_have_text("zephyr checkout")

            search = page.get_by_label("Search meetings")
            search.fill("alert")
            search.press("Enter")
            snippet = page.locator(".snippet").first
            expect(snippet).to_contain_text("<script>alert('hi')</script>")  # shown as text
            assert page.locator(".snippet script").count() == 0 and dialogs == []

            search = page.get_by_label("Search meetings")
            search.fill('"zephyr checkout"')
            search.press("Enter")
            page.get_by_role("link", name=re.compile("zephyr checkout")).click()
            page.wait_for_url(f"{base}/dashboard/meeting/{meeting_id}?t=8000")
            expect(page.get_by_role("heading", name="Checkout retro")).to_be_visible()

            page.goto(f"{base}/dashboard/meetings?q=nothing+like+this+zzz")
            expect(page.get_by_role("heading", name=re.compile("Nothing matches"))).to_be_visible()
            watched.check()
        watched.context.close()
