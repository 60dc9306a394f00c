"""Teams in a real Chromium against a real ``mina serve``: the owner invites someone from the
settings page, the invitee opens the link in their own browser, signs up, accepts, finds the
owner's workspace in the switcher with a viewer's pages, and switches; the owner changes their
role and removes them. axe-core finds no serious or critical problem, at a laptop's and a
phone's width. (The API is tested on both databases in tests/test_teams.py.)"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

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

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with serve_site(
        request, tmp_path_factory, "teams", {"MINA_ENGINE": "fake", "MINA_VAD": "energy"}
    ) as running:
        yield running


def test_invite_accept_switch_change_role_and_remove(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    owner_email = f"ada-{secrets.token_hex(4)}@example.com"
    guest_email = f"grace-{secrets.token_hex(4)}@example.com"
    with site.sessions() as db:
        store.create_user(db, email=owner_email, password=PASSWORD, name="Ada Lovelace")
        db.commit()
    with (
        open_context(browser, viewport={"width": 1280, "height": 900}) as owner_context,
        open_context(browser, viewport={"width": 1280, "height": 900}) as guest_context,
        screenshots_on_failure(
            tmp_path,
            owner=(owner := owner_context.new_page()),
            guest=(guest := guest_context.new_page()),
        ),
    ):
        owner.on("dialog", lambda dialog: dialog.accept())
        log_in(owner, site.base, owner_email, PASSWORD)
        owner.goto(f"{site.base}/settings")
        team = owner.locator("#team")
        expect(team.locator("#member-rows tr")).to_have_count(1)
        expect(team.locator("#member-rows")).to_contain_text("Ada Lovelace (you)")

        team.get_by_label("Email").fill(guest_email)
        team.locator("#invite-role").select_option("viewer")
        team.get_by_role("button", name="Invite").click()
        link = team.locator("#invite-link")
        expect(link).to_contain_text("/invite/")
        url = link.inner_text().strip()
        expect(team.locator("#invite-list")).to_contain_text(guest_email)
        check_accessibility(owner, "settings with a pending invitation")
        shoot(owner, "teams-settings-1280")

        # the invitee: no account yet
        guest.goto(url)
        expect(guest.get_by_role("heading", name="Join Ada Lovelace's Workspace")).to_be_visible()
        check_accessibility(guest, "the invitation page")
        guest.get_by_role("link", name="Create an account to join").click()
        expect(guest.get_by_label("Email")).to_have_value(guest_email)
        guest.get_by_label("Name").fill("Grace Hopper")
        guest.get_by_label("Password").fill(PASSWORD)
        guest.get_by_role("button", name="Create account").click()
        guest.get_by_role("button", name="Accept and join").click()
        guest.wait_for_url(f"{site.base}/dashboard")
        expect(guest.get_by_role("status").first).to_contain_text("You joined")
        nav = guest.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Meetings")).to_be_visible()
        expect(nav.get_by_role("link", name="Upload")).to_have_count(0)

        switcher = guest.locator(".ws-switch summary")
        switcher.click()
        menu = guest.locator(".ws-menu")
        expect(menu.locator("button.ws-item")).to_have_count(2)
        current = menu.locator('button[aria-current="true"]')
        expect(current).to_contain_text("Ada Lovelace's Workspace")
        check_accessibility(guest, "the dashboard with the workspace switcher open")
        shoot(guest, "teams-switcher-1280")
        guest.set_viewport_size({"width": 390, "height": 844})
        shoot(guest, "teams-switcher-390")
        check_accessibility(guest, "the switcher on a phone")
        menu.get_by_role("button", name="Grace Hopper's Workspace").click()
        guest.wait_for_url(f"{site.base}/dashboard")
        expect(guest.locator(".ws-switch summary")).to_contain_text("Grace Hopper's Workspace")
        expect(nav.get_by_role("link", name="Upload")).to_have_count(1)

        # the owner sees the new viewer, makes them a member, then removes them
        owner.reload()
        row = team.locator("#member-rows tr", has_text="Grace Hopper")
        expect(row).to_contain_text(guest_email)
        row.get_by_label("Role of Grace Hopper").select_option("member")
        expect(owner.locator("#team-status")).to_have_text("Grace Hopper is now member.")
        owner.set_viewport_size({"width": 390, "height": 844})
        shoot(owner, "teams-settings-390")
        check_accessibility(owner, "settings with two members on a phone")
        row.get_by_role("button", name="Remove Grace Hopper").click()
        expect(team.locator("#member-rows tr")).to_have_count(1)
        with site.sessions() as db:
            owner_ws = store.get_user_by_email(db, email=owner_email)
            assert owner_ws is not None
            grace = store.get_user_by_email(db, email=guest_email)
            assert grace is not None
            assert [w.name for w in store.list_user_workspaces(db, user_id=grace.id)] == [
                "Grace Hopper's Workspace"
            ]
