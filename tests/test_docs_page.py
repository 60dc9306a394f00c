"""``/docs`` works offline: a real Chromium, with every request to another host blocked, loads
Swagger UI from the package and lists every operation of ``/openapi.json``; trying an operation
and opening the Authorize dialog break none of the page's Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Route, expect

from tests.browser import open_chromium, open_context, run_mina, screenshots_on_failure

pytestmark = pytest.mark.slow

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_docs_list_every_operation_with_no_other_host(tmp_path: Path) -> None:
    settings = {"MINA_ENGINE": "fake", "MINA_VAD": "energy"}
    with (
        run_mina(tmp_path / "data", tmp_path / "mina.log", settings) as base,
        open_chromium() as browser,
        open_context(browser, viewport={"width": 1280, "height": 900}) as watched,
    ):
        spec = httpx.get(f"{base}/openapi.json").json()
        operations = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
        page = watched.new_page()
        asked_elsewhere: list[str] = []

        def only_local(route: Route) -> None:
            url = route.request.url
            if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                asked_elsewhere.append(url)
                route.abort()

        page.route("**/*", only_local)
        with screenshots_on_failure(tmp_path, docs=page):
            page.goto(f"{base}/docs")
            blocks = page.locator(".opblock")
            expect(blocks).to_have_count(len(operations), timeout=20_000)
            for method, path in operations:
                block = page.locator(f".opblock-{method.lower()}").filter(
                    has=page.locator(".opblock-summary-path", has_text=path)
                )
                expect(block.first).to_be_visible()
            expect(page.get_by_role("button", name="Authorize")).to_be_visible()
            expect(page.locator(".info .title")).to_contain_text("Mina")
            page.screenshot(path=str(tmp_path / "docs-1280.png"))
            # try an operation: its parameters, the request it sends, the answer shown
            health = page.locator(".opblock-get").filter(
                has=page.locator(".opblock-summary-path", has_text="/healthz")
            )
            health.locator(".opblock-summary").click()
            health.get_by_role("button", name="Try it out").click()
            health.get_by_role("button", name="Execute").click()
            answer = health.locator(".live-responses-table td.response-col_status").last
            expect(answer).to_have_text("200")
            page.get_by_role("button", name="Authorize").first.click()
            expect(page.get_by_role("heading", name="Available authorizations")).to_be_visible()
            page.keyboard.press("Escape")
            page.set_viewport_size({"width": 390, "height": 844})
            expect(blocks.first).to_be_visible()
            page.screenshot(path=str(tmp_path / "docs-390.png"))
        assert asked_elsewhere == [], f"/docs asked other hosts: {asked_elsewhere}"
    assert len(operations) >= 15
