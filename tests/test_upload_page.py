"""The upload page in a real Chromium against a real ``mina serve`` (SQLite, whisper tiny.en):
pick a file, watch the upload and the transcription bars, follow the link to the meeting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import (
    WatchedContext,
    run_mina,
    screenshots_on_failure,
    shoot,
    sign_up,
    wait_for_true,
)
from tests.conftest import PASSWORD
from tests.speechdata import word_error_rate
from tests.uploadhelp import WER_BOUND, SpeechFiles, make_speech_files

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("serve-upload")
    with run_mina(directory / "data", directory / "mina.log") as base:
        yield base


@pytest.fixture(scope="module")
def speech_files(tmp_path_factory: pytest.TempPathFactory) -> SpeechFiles:
    return make_speech_files(tmp_path_factory.mktemp("uploads"))


@pytest.mark.parametrize("width", [1280, 390])
def test_upload_a_recording_and_open_its_meeting(
    browser: Browser, base_url: str, speech_files: SpeechFiles, tmp_path: Path, width: int
) -> None:
    watched = WatchedContext(browser.new_context(viewport={"width": width, "height": 900}))
    page = watched.new_page()
    watched.allow(r"status of 415 .*/api/transcriptions\)$")  # the file that is not audio
    with screenshots_on_failure(tmp_path, page=page):
        sign_up(page, base_url, f"uploader{width}@example.com", "Uma Loader", PASSWORD)
        page.get_by_role("link", name="Upload").click()
        page.wait_for_url(f"{base_url}/upload")
        expect(page.get_by_role("link", name="Upload")).to_have_attribute("aria-current", "page")
        start = page.get_by_role("button", name="Upload and transcribe")
        expect(start).to_be_disabled()
        # the whole navigation fits, Upload included, on a laptop and on a phone
        overflow = page.evaluate(
            "() => { const nav = document.querySelector('.mainnav');"
            " return nav.scrollWidth - nav.clientWidth; }"
        )
        assert overflow <= 0, f"the navigation overflows by {overflow} px at {width} px"
        shoot(page, f"upload-idle-{width}")

        # a file dropped on the zone that is not audio: the server's clear refusal
        page.evaluate(
            """() => {
              const data = new DataTransfer();
              data.items.add(new File(["these are notes, not sound"], "notes.mp3"));
              const drop = document.getElementById("upload-drop");
              drop.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
            }"""
        )
        expect(page.locator("#upload-file-name")).to_contain_text("notes.mp3")
        start.click()
        expect(page.locator("#upload-error")).to_have_text(
            "notes.mp3 is not audio or video that Mina can decode."
        )
        expect(page.locator("body")).to_have_attribute("data-upload-phase", "failed")
        expect(page.locator("#upload-bar-text")).to_have_text("Refused")
        shoot(page, f"upload-error-{width}")

        # a real recording through the file picker
        page.locator("#upload-file").set_input_files(speech_files.long)
        expect(page.locator("#upload-error")).to_be_hidden()
        page.get_by_label("Title").fill("Uploaded from the browser")
        start.click()
        expect(page.locator("#upload-bar")).to_be_visible()
        expect(page.locator("#transcribe-bar")).to_be_visible()
        wait_for_true(
            page, "window.minaUpload.jobProgress.some(p => p > 0 && p < 1)", timeout=60_000
        )
        shoot(page, f"upload-transcribing-{width}")
        link = page.get_by_role("link", name="Open the meeting")
        expect(link).to_be_visible(timeout=120_000)
        state = page.evaluate("() => ({ ...window.minaUpload })")
        assert state["phase"] == "done" and state["uploadProgress"] == 1, state
        progress = state["jobProgress"]
        assert progress == sorted(progress) and progress[-1] == 1, progress
        expect(page.locator("#upload-bar")).to_have_attribute("value", "100")
        expect(page.locator("#transcribe-bar")).to_have_attribute("value", "100")
        shoot(page, f"upload-done-{width}")

        link.click()
        page.wait_for_url(f"{base_url}/dashboard/meeting/{state['meetingId']}")
        expect(page.locator("#meeting-status")).to_have_text("Completed")
        expect(page.get_by_role("heading", name="Uploaded from the browser")).to_be_visible()
        texts = page.locator("#transcript li.segment .segment-body p").all_inner_texts()
        said = " ".join(texts)
        reference = " ".join([speech_files.reference] * 3)
        assert word_error_rate(reference, said) <= WER_BOUND, said
        # the player plays the job's Opus copy, and seeks in it by Range
        wait_for_true(page, "document.getElementById('meeting-audio').readyState >= 1")
        src = page.locator("audio#meeting-audio").evaluate("a => a.currentSrc")
        assert src.endswith("/audio?format=opus"), src
        audio = page.request.get(src, headers={"Range": "bytes=0-43"})
        assert audio.status == 206 and audio.body()[:4] == b"OggS"
        watched.check()
    watched.context.close()
