"""The meeting page's Export menu in a real Chromium against a real ``mina serve``: it opens,
lists every format, downloads a PDF named after the title, fits a phone, and closes on Escape."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import Browser, expect

from mina import exporters
from mina.db import create_db_engine, create_session_factory
from tests.browser import (
    MISSING_AUDIO,
    open_context,
    run_mina,
    screenshots_on_failure,
    sign_up,
)
from tests.conftest import PASSWORD
from tests.exporthelp import EDITED, TITLE, make_meeting

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("serve")
    with run_mina(directory / "data", directory / "mina.log") as base:
        yield base, directory / "data"


def test_export_menu_downloads_and_fits_a_phone(
    served: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    base, data_dir = served
    viewport = {"width": 1280, "height": 800}
    with open_context(browser, viewport=viewport, accept_downloads=True) as watched:
        page = watched.new_page()
        watched.allow(MISSING_AUDIO)  # the meeting made for exports has no audio file
        with screenshots_on_failure(tmp_path, page=page):
            sign_up(page, base, "ada@example.com", "Ada Lovelace", PASSWORD)
            engine = create_db_engine(f"sqlite:///{data_dir / 'mina.db'}")
            try:
                with create_session_factory(engine)() as db:
                    made = make_meeting(db, email="ada@example.com", audio_dir=data_dir / "audio")
            finally:
                engine.dispose()

            page.goto(f"{base}/dashboard/meeting/{made.id}")
            menu = page.locator(".export-list")
            expect(menu).to_be_hidden()
            page.get_by_text("Export", exact=True).click()
            expect(menu).to_be_visible()
            labels = menu.get_by_role("link").all_inner_texts()
            assert len(labels) == len(exporters.list_formats())
            assert [label.split("\n")[0] for label in labels] == [
                f.label for f in exporters.list_formats()
            ]
            page.screenshot(path=str(tmp_path / "meeting-laptop.png"))

            with page.expect_download() as download_info:
                menu.get_by_role("link", name="PDF document").click()
            download = download_info.value
            assert download.suggested_filename == "Quarterly review- Réunion über Ünïcode.pdf"
            pdf = pypdf.PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
            text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
            assert TITLE in text and EDITED in text
            expect(menu).to_be_hidden()  # a choice closes the menu

            page.set_viewport_size({"width": 390, "height": 844})
            page.get_by_text("Export", exact=True).click()
            expect(menu).to_be_visible()
            box = menu.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            page.screenshot(path=str(tmp_path / "meeting-phone.png"))
            page.keyboard.press("Escape")
            expect(menu).to_be_hidden()
            page.get_by_text("Export", exact=True).click()
            page.locator("h1").click()  # a click elsewhere closes it too
            expect(menu).to_be_hidden()
