"""Helpers for the end-to-end browser tests: a fake microphone made of real speech, a real
``mina serve`` process, a Chromium that records from that microphone, and WER scoring that
tolerates the microphone looping."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bench.server import ServerProcess
from tests.speechdata import get_clip, normalize_text

RATE = 16000
BYTES_PER_SECOND = RATE * 2  # what /live sends: 16 kHz mono s16le

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


@dataclass(frozen=True)
class FakeMicrophone:
    """A WAV that Chromium plays, in a loop, as the microphone."""

    wav: Path
    reference: str  # what one pass says
    speech_end_s: float  # where the last clip of a pass ends
    pass_s: float  # the length of one pass, trailing silence included


def make_fake_microphone(
    path: Path,
    clip_names: list[str],
    *,
    lead_s: float = 0.5,
    pause_s: float = 0.7,
    tail_s: float = 4.0,
) -> FakeMicrophone:
    """Speech clips joined by pauses into a 16-bit PCM WAV, with silence at the end so the
    loop's restart is clear (and a recording can stop between two passes)."""

    def silence(seconds: float) -> bytes:
        return bytes(2 * round(seconds * RATE))

    pcm = bytearray(silence(lead_s))
    references = []
    for i, name in enumerate(clip_names):
        clip = get_clip(name)
        with wave.open(str(clip.wav), "rb") as source:
            assert (source.getframerate(), source.getnchannels(), source.getsampwidth()) == (
                RATE,
                1,
                2,
            ), f"{clip.wav} is not 16 kHz mono 16-bit"
            if i:
                pcm += silence(pause_s)
            pcm += source.readframes(source.getnframes())
        references.append(clip.reference)
    speech_end_s = len(pcm) / BYTES_PER_SECOND
    pcm += silence(tail_s)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(pcm))
    return FakeMicrophone(path, " ".join(references), speech_end_s, len(pcm) / BYTES_PER_SECOND)


def launch_chromium(playwright: Playwright, microphone: FakeMicrophone) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={microphone.wav}"],
    )


@contextmanager
def open_chromium(*extra_args: str) -> Iterator[Browser]:
    """Debian's Chromium, headless, for tests of pages that need no microphone."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def run_mina(
    data_dir: Path, log_path: Path, settings: dict[str, str] | None = None
) -> Iterator[str]:
    """``mina serve`` as a real process on a data directory, with the default engine (whisper
    tiny.en, silero VAD) and SQLite, as `make run` does, unless ``settings`` (``MINA_*``
    variables) say otherwise; yields its base URL. Its log must hold no traceback."""
    server = ServerProcess(data_dir, settings=settings, inherit_settings=False, log_path=log_path)
    try:
        server.start(timeout_s=60)
        yield server.base_url
    finally:
        server.stop()
    output = log_path.read_text(encoding="utf-8")
    assert "Traceback" not in output, f"mina serve logged a traceback ({log_path}):\n{output}"


@contextmanager
def screenshots_on_failure(directory: Path, **pages: Page) -> Iterator[None]:
    """Turn a failure inside the block into an AssertionError naming screenshots of the pages."""
    try:
        yield
    except (AssertionError, PlaywrightError) as exc:
        saved = []
        for name, page in pages.items():
            path = directory / f"{name}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
            except PlaywrightError:
                continue
            saved.append(str(path))
        raise AssertionError(f"{exc}\nscreenshots: {', '.join(saved) or 'none'}") from exc


def sign_up(page: Page, base: str, email: str, name: str, password: str) -> None:
    """Create an account through the sign-up form; it lands on the dashboard."""
    page.goto(f"{base}/signup")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/dashboard")


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/dashboard")


def wer_allowing_trailing_words(reference: str, hypothesis: str) -> tuple[float, int]:
    """The word error rate of the best prefix of ``hypothesis`` against ``reference`` (both
    normalised), and how many hypothesis words follow that prefix.

    A fake microphone loops: a recording that runs a little past one pass picks up the start of
    the next one. Scoring the best prefix ignores such trailing words instead of counting them
    as insertions, while every missing or wrong word of the pass still counts."""
    ref = normalize_text(reference).split()
    hyp = normalize_text(hypothesis).split()
    assert ref, "empty reference"
    # previous[j]: edit distance between ref[:i] and hyp[:j], row by row
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        current = [i]
        for j, said in enumerate(hyp, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != said))
            )
        previous = current
    best = min(range(len(hyp) + 1), key=lambda j: (previous[j], -j))
    return previous[best] / len(ref), len(hyp) - best
