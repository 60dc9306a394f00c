"""Helpers for the end-to-end browser tests: a fake microphone made of real speech, a real
``mina serve`` process, a Chromium that records from that microphone, browser contexts whose
pages must break no Content-Security-Policy and log no error, and WER scoring that tolerates
the microphone looping."""

from __future__ import annotations

import os
import re
import shutil
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    WebError,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy.orm import Session, sessionmaker

from bench.server import ServerProcess
from mina.db import create_db_engine, create_session_factory
from tests.conftest import TEST_SECRET, truncate_all
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


# Runs in every document (and frame) before its own scripts: each violation of the page's
# Content-Security-Policy is reported to the test, whatever the page logs.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__minaPolicyViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "(inline)"} `
      + `in ${event.documentURI} (${event.sourceFile || "?"}:${event.lineNumber})`
  );
});
"""


# The console error of a meeting page whose recording has no audio file on disk (meetings made
# by the store functions alone, without audio): its player's requests answer 404.
MISSING_AUDIO = r"status of 404 .*/api/meetings/\d+/audio(\?format=opus)?\)$"


class WatchedContext:
    """A browser context whose pages are watched: every Content-Security-Policy violation,
    console error and uncaught exception is a problem. ``check()`` fails on any, except console
    errors the test causes on purpose and allows by pattern; a violation is never allowed."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        context.expose_function("__minaPolicyViolation", self._on_violation)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", self._on_console)
        context.on("weberror", self._on_web_error)

    def new_page(self) -> Page:
        return self.context.new_page()

    def allow(self, pattern: str) -> None:
        """Tolerate console errors that match ``pattern`` (a regular expression)."""
        self.allowed.append(re.compile(pattern))

    def problems(self) -> list[str]:
        """What went wrong so far, less the allowed console errors."""
        errors = [e for e in self.errors if not any(a.search(e) for a in self.allowed)]
        return [f"CSP violation: {v}" for v in self.violations] + errors

    def check(self) -> None:
        problems = self.problems()
        assert not problems, "the pages had problems:\n" + "\n".join(problems)

    def _on_violation(self, text: str) -> None:
        self.violations.append(text)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"console error: {message.text} ({where})")

    def _on_web_error(self, error: WebError) -> None:
        self.errors.append(f"uncaught error: {error.error}")


@contextmanager
def open_context(browser: Browser, **options: Any) -> Iterator[WatchedContext]:
    """A new watched browser context (``options`` as for ``Browser.new_context``), closed at
    the end of the block, which then checks that its pages had no problem."""
    watched = WatchedContext(browser.new_context(**options))
    try:
        yield watched
    finally:
        watched.context.close()
    watched.check()


def wait_for_true(page: Page, expression: str, *, timeout: float = 30_000) -> None:
    """Wait until a JavaScript expression is truthy on ``page``, polling it every 100 ms.

    Instead of ``Page.wait_for_function``, which evaluates its predicate with ``eval`` inside
    the page, where the Content-Security-Policy (no 'unsafe-eval') refuses it. A navigation
    while polling is waited out."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} ms: {expression}")
        page.wait_for_timeout(100)


def watch_seeks(page: Page, audio_id: str = "meeting-audio") -> None:
    """Keep where each seek of the page's ``<audio id=audio_id>`` lands (``window.__seeks``),
    for ``wait_for_seek``; again after each navigation."""
    page.evaluate(
        """(id) => {
          const audio = document.getElementById(id);
          window.__seeks = [];
          audio.addEventListener("seeked", () => window.__seeks.push(audio.currentTime));
        }""",
        audio_id,
    )


def wait_for_seek(page: Page, seconds: float, tolerance: float = 0.3) -> None:
    """Wait until a seek (see ``watch_seeks``) lands within ``tolerance`` of ``seconds``.

    Where the audio starts playing at once, polling ``currentTime`` could miss the moment on a
    busy machine: the seek's own position is what the page promises."""
    wait_for_true(
        page, f"(window.__seeks || []).some((t) => Math.abs(t - {seconds}) < {tolerance})"
    )


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


@dataclass(frozen=True)
class Site:
    """A real ``mina serve`` on a fresh database: its URL, data directory and database."""

    base: str
    data_dir: Path
    sessions: sessionmaker[Session]
    backend: str


@contextmanager
def serve_site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    settings: dict[str, str] | None = None,
) -> Iterator[Site]:
    """``mina serve`` on a fresh database of the backend ``request.param`` names (sqlite or
    postgresql, for a module-scoped fixture parametrised over both), with ``settings``; the
    PostgreSQL database is emptied afterwards for the next module."""
    directory = tmp_path_factory.mktemp(f"{name}-{request.param}")
    data_dir = directory / "data"
    data_dir.mkdir()
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), data_dir / "mina.db")
        url = f"sqlite:///{data_dir / 'mina.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    engine = create_db_engine(url)
    serve = {"MINA_DATABASE_URL": url, "MINA_SECRET_KEY": TEST_SECRET, **(settings or {})}
    try:
        with run_mina(data_dir, directory / "mina.log", serve) as base:
            yield Site(base, data_dir, create_session_factory(engine), request.param)
    finally:
        engine.dispose()
        if request.param == "postgresql":
            truncate_all(url)


# MINA_TEST_SCREENSHOTS=DIR keeps the screenshots tests take of their pages there.
SHOTS = os.environ.get("MINA_TEST_SCREENSHOTS")


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot named ``name``, when MINA_TEST_SCREENSHOTS asks for them."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


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


def check_accessibility(page: Page, where: str) -> None:
    """axe-core finds no serious or critical WCAG violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{where}:\n{results.generate_report()}"
