"""The settings page's Webhooks section in a real Chromium against a real ``mina serve``, on
SQLite and PostgreSQL, at a laptop's and a phone's width: an owner adds a webhook (the secret
shown once, with a copy button), a task made in the workspace reaches a receiver on 127.0.0.1
signed with that secret, the delivery log shows it, the webhook is turned off and deleted.
axe-core finds no serious or critical accessibility problem."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, expect

from mina import store
from tests.browser import (
    Site,
    check_accessibility,
    log_in,
    open_context,
    screenshots_on_failure,
    serve_site,
    shoot,
)
from tests.conftest import PASSWORD
from tests.meetingdata import principal_of
from tests.test_webhooks import Receiver, receiver, verify

pytestmark = pytest.mark.slow
__all__ = ["receiver"]  # the fixture, shared with the API tests


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with serve_site(
        request, tmp_path_factory, "webhooks", {"MINA_ENGINE": "fake", "MINA_VAD": "energy"}
    ) as running:
        yield running


def make_user(site: Site) -> str:
    email = f"owner-{secrets.token_hex(4)}@example.com"
    with site.sessions() as db:
        store.create_user(db, email=email, password=PASSWORD, name="Ada Lovelace")
        db.commit()
    return email


def add_task(site: Site, email: str, title: str) -> None:
    with site.sessions() as db:
        principal = principal_of(db, email)
        store.create_task(
            db, workspace_id=principal.workspace.id, user_id=principal.user.id, title=title
        )
        db.commit()


@pytest.mark.parametrize("width", [1280, 390])
def test_add_a_webhook_see_its_deliveries_turn_it_off_and_delete_it(
    browser: Browser, site: Site, receiver: Receiver, tmp_path: Path, width: int
) -> None:
    email = make_user(site)
    name = f"webhooks-{site.backend}-{width}"
    with (
        open_context(browser, viewport={"width": width, "height": 900}) as watched,
        screenshots_on_failure(tmp_path, page=(page := watched.new_page())),
    ):
        log_in(page, site.base, email, PASSWORD)
        page.goto(f"{site.base}/settings")
        section = page.locator("#webhooks")
        expect(section.get_by_role("heading", name="Webhooks")).to_be_visible()
        expect(page.locator("#webhook-empty")).to_be_visible()
        check_accessibility(page, "the settings page without webhooks")

        # nothing chosen: a clear message, nothing sent
        section.get_by_label("Payload URL").fill(receiver.url)
        section.get_by_role("checkbox", name="meeting.completed").uncheck()
        section.get_by_role("button", name="Add webhook").click()
        expect(section.get_by_role("alert")).to_have_text("Choose at least one event.")

        section.get_by_role("checkbox", name="task.created").check()
        section.get_by_role("button", name="Add webhook").click()
        reveal = page.locator("#webhook-secret")
        expect(reveal).to_be_visible()
        secret = page.locator("#webhook-secret-value").inner_text()
        assert secret.startswith("whsec_")
        section.get_by_role("button", name="Copy secret").click()
        expect(page.locator("#webhook-copy-status")).not_to_be_empty()
        item = section.locator(".webhook-item")
        expect(item).to_have_count(1)
        expect(item.get_by_role("heading", name=receiver.url)).to_be_visible()
        expect(item).to_contain_text("No deliveries yet.")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
        check_accessibility(page, "the settings page with the new secret")
        shoot(page, f"{name}-secret")

        # a task reaches the receiver, signed with the secret the page showed once
        add_task(site, email, "Send the quote")
        got = receiver.wait_for(1)[0]
        assert got.json["task"]["title"] == "Send the quote"
        assert verify(secret, got.body, got.headers["x-mina-signature"])
        page.reload()
        expect(page.locator("#webhook-secret")).to_be_hidden()
        assert secret not in page.content()
        log = section.get_by_role("table", name=f"Recent deliveries to {receiver.url}")
        expect(log).to_be_visible()
        expect(log.locator("tbody tr").first).to_contain_text("task.created")
        expect(log.locator("tbody tr").first).to_contain_text("delivered")
        expect(log.locator("tbody tr").first).to_contain_text("200")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the log makes the page scroll sideways by {overflow} px"
        check_accessibility(page, "the settings page with a delivery log")
        shoot(page, f"{name}-log")

        # turned off: nothing more is sent
        active = section.get_by_role("checkbox", name="Active")
        expect(active).to_be_checked()
        active.uncheck()
        expect(active).to_be_enabled()
        page.reload()
        expect(section.get_by_role("checkbox", name="Active")).not_to_be_checked()
        add_task(site, email, "Not sent")
        page.wait_for_timeout(1500)
        assert len(receiver.received) == 1

        def accept(dialog: Dialog) -> None:
            dialog.accept()

        page.on("dialog", accept)
        section.get_by_role("button", name=f"Delete the webhook to {receiver.url}").click()
        expect(page.locator("#webhook-empty")).to_be_visible()
        expect(section.locator(".webhook-item")).to_have_count(0)
        shoot(page, f"{name}-deleted")
