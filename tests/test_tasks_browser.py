"""The tasks page and the analytics page in a real Chromium against a real ``mina serve``, on
SQLite and PostgreSQL, at a laptop's and a phone's width, with a workspace of meetings, insights
and tasks: add a task, tick it off, edit a task's assignee and due date in place (Enter saves,
Escape cancels), see it overdue, delete one after a confirmation; axe-core finds no
accessibility violation on either page, nor while a task is edited or the dialog is open."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from mina import store
from mina.models import Task, TaskStatus, utcnow
from tests.browser import Site, log_in, open_context, screenshots_on_failure, serve_site, shoot
from tests.conftest import PASSWORD
from tests.meetingdata import principal_of
from tests.taskdata import TASKS, seed_workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """``mina serve`` (the fake engine: nothing here is transcribed) on a fresh database."""
    with serve_site(
        request, tmp_path_factory, "tasks", {"MINA_ENGINE": "fake", "MINA_VAD": "energy"}
    ) as running:
        yield running


def check_accessibility(page: Page, where: str) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, f"{where}:\n{results.generate_report()}"


def check_no_sideways_scroll(page: Page, width: int) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"


def make_user(site: Site) -> str:
    email = f"user-{secrets.token_hex(4)}@example.com"
    with site.sessions() as db:
        store.create_user(db, email=email, password=PASSWORD, name="Priya Raman")
        db.commit()
        principal = principal_of(db, email)
        seed_workspace(
            db, principal=principal, audio_dir=site.data_dir / "audio", today=utcnow().date()
        )
    return email


def task_named(site: Site, email: str, title: str) -> Task | None:
    with site.sessions() as db:
        workspace = principal_of(db, email).workspace.id
        return db.scalars(
            select(Task).where(
                Task.workspace_id == workspace, Task.title == title, Task.deleted_at.is_(None)
            )
        ).one_or_none()


OPEN = sum(1 for task in TASKS if task[6] is None)


@pytest.mark.parametrize("width", [1280, 390])
def test_tasks_add_complete_edit_delete(
    browser: Browser, site: Site, tmp_path: Path, width: int
) -> None:
    email = make_user(site)
    today = utcnow().date()
    name = f"tasks-{site.backend}-{width}"
    with (
        open_context(browser, viewport={"width": width, "height": 900}) as watched,
        screenshots_on_failure(tmp_path, page=(page := watched.new_page())),
    ):
        log_in(page, site.base, email, PASSWORD)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
        page.wait_for_url(f"{site.base}/tasks")
        rows = page.locator("#task-list > li")
        expect(rows).to_have_count(OPEN)
        overdue = page.locator(".task.is-overdue")
        expect(overdue).to_have_count(2)
        expect(overdue.first.locator(".badge-overdue")).to_have_text("Overdue")
        expect(page.locator(".task-when.due-today")).to_have_text("Due today")
        expect(page.locator(".task-when.due-tomorrow")).to_have_text("Due tomorrow")
        moment = rows.first.locator("a.task-from")
        expect(moment).to_have_attribute("href", re.compile(r"^/dashboard/meeting/\d+\?t=6000$"))
        check_no_sideways_scroll(page, width)
        check_accessibility(page, "the tasks page")
        shoot(page, f"{name}-list")
        open_count = page.locator('[data-count="open"]')
        expect(open_count).to_have_text(str(OPEN))

        # add a task
        add = page.locator("#task-add-form")
        add.get_by_label("Task").fill("Order the new laptops")
        add.get_by_label("Assignee").fill("Lena")
        add.get_by_label("Due date").fill((today + timedelta(days=9)).isoformat())
        add.get_by_role("button", name="Add task").click()
        added = rows.first
        expect(added.locator(".task-title")).to_have_text("Order the new laptops")
        expect(added.locator(".task-who")).to_have_text("Lena")
        expect(open_count).to_have_text(str(OPEN + 1))
        expect(add.get_by_label("Task")).to_have_value("")
        expect(page.locator("#task-status")).to_have_text("Added: Order the new laptops")
        made = task_named(site, email, "Order the new laptops")
        assert made is not None and made.assignee == "Lena"
        assert made.due_date == today + timedelta(days=9)

        # tick it off with its checkbox
        page.get_by_role("checkbox", name="Order the new laptops").check()
        expect(rows.first).to_have_class("task is-done")
        expect(rows.first.locator(".task-when")).to_have_text("Done today")
        expect(open_count).to_have_text(str(OPEN))
        expect(page.locator('[data-count="done"]')).to_have_text(str(len(TASKS) - OPEN + 1))
        made = task_named(site, email, "Order the new laptops")
        assert made is not None and made.status is TaskStatus.DONE and made.done_at is not None

        # edit the undated task: Escape leaves it as it was
        offsite = rows.filter(has_text="Book the room for the offsite")
        offsite.get_by_role("button", name="Edit Book the room for the offsite").click()
        form = offsite.get_by_role("form", name="Edit Book the room for the offsite")
        expect(form.get_by_label("Task")).to_be_focused()
        form.get_by_label("Task").fill("Something else")
        form.get_by_label("Task").press("Escape")
        expect(offsite.locator(".task-title")).to_have_text("Book the room for the offsite")
        expect(offsite.get_by_role("button", name="Edit Book the room")).to_be_focused()

        # ... and Enter saves a new assignee and a due date already past: it is overdue
        offsite.get_by_role("button", name="Edit Book the room for the offsite").click()
        check_accessibility(page, "the tasks page while a task is edited")
        shoot(page, f"{name}-editing")
        form.get_by_label("Assignee").fill("Marcus")
        form.get_by_label("Due").fill((today - timedelta(days=1)).isoformat())
        form.get_by_label("Assignee").press("Enter")
        expect(offsite.locator(".badge-overdue")).to_have_text("Overdue")
        expect(offsite.locator(".task-when")).to_have_text("was due yesterday")
        expect(offsite.locator(".task-who")).to_have_text("Marcus")
        expect(page.locator(".overdue-count")).to_have_text("3 overdue")
        edited = task_named(site, email, "Book the room for the offsite")
        assert edited is not None and edited.assignee == "Marcus"
        assert edited.due_date == today - timedelta(days=1)
        page.reload()  # the server says the same
        expect(offsite.locator(".badge-overdue")).to_have_text("Overdue")
        expect(page.locator(".task.is-overdue")).to_have_count(3)

        # delete one, after a confirmation
        renew = rows.filter(has_text="Renew the TLS certificate")
        renew.get_by_role("button", name="Delete Renew the TLS certificate").click()
        dialog = page.get_by_role("dialog", name="Delete this task?")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Renew the TLS certificate")
        check_accessibility(page, "the delete dialog")
        dialog.get_by_role("button", name="Delete task").click()
        expect(dialog).to_be_hidden()
        expect(renew).to_have_count(0)
        expect(open_count).to_have_text(str(OPEN - 1))
        assert task_named(site, email, "Renew the TLS certificate") is None

        # filters: by assignee (applied when picked), then the done tab
        page.get_by_label("Assigned to").select_option("Marcus")
        page.wait_for_url("**/tasks?assignee=Marcus")
        expect(rows).to_have_count(2)
        page.get_by_role("link", name="Done").click()
        page.wait_for_url("**/tasks?status=done&assignee=Marcus")
        expect(rows).to_have_count(1)
        expect(rows.first.locator(".task-title")).to_have_text(
            "Check the pricing page copy with legal"
        )


@pytest.mark.parametrize("width", [1280, 390])
def test_analytics_with_insights_and_tasks(
    browser: Browser, site: Site, tmp_path: Path, width: int
) -> None:
    email = make_user(site)
    name = f"analytics-{site.backend}-{width}"
    with (
        open_context(browser, viewport={"width": width, "height": 900}) as watched,
        screenshots_on_failure(tmp_path, page=(page := watched.new_page())),
    ):
        log_in(page, site.base, email, PASSWORD)
        page.goto(f"{site.base}/analytics?days=90")
        topics = page.get_by_role("region", name="Top topics per week: table")
        expect(topics.locator("tbody tr")).to_have_count(5)
        expect(topics.locator("tbody tr").first.locator(".topic-chip").first).to_have_text(
            "career growth"
        )
        expect(page.get_by_role("region", name="Sentiment per week: table")).to_contain_text(
            "-0.38"
        )
        expect(page.locator("#chart-sentiment")).to_be_visible()
        expect(page.locator("#chart-tasks")).to_be_visible()
        page.wait_for_timeout(500)  # the charts' first frame
        check_no_sideways_scroll(page, width)
        check_accessibility(page, "the analytics page")
        shoot(page, name)


def test_the_first_task_replaces_the_empty_state(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    email = f"user-{secrets.token_hex(4)}@example.com"
    with site.sessions() as db:
        store.create_user(db, email=email, password=PASSWORD, name="New Person")
        db.commit()
    with (
        open_context(browser, viewport={"width": 390, "height": 844}) as watched,
        screenshots_on_failure(tmp_path, page=(page := watched.new_page())),
    ):
        log_in(page, site.base, email, PASSWORD)
        page.goto(f"{site.base}/tasks")
        expect(page.get_by_role("heading", name="No tasks yet")).to_be_visible()
        expect(page.locator("#task-summary")).to_be_hidden()
        check_accessibility(page, "the tasks page without tasks")
        title = page.locator("#task-add-form").get_by_label("Task")
        title.press("Enter")  # nothing to add yet: it says so
        expect(page.locator("#add-error")).to_have_text("Write what needs doing first.")
        title.fill("Say hello to the team")
        title.press("Enter")
        expect(page.locator("#task-list > li")).to_have_count(1)
        expect(page.get_by_role("heading", name="No tasks yet")).to_be_hidden()
        expect(page.locator("#add-error")).to_be_hidden()
        expect(page.locator("#task-counts")).to_have_text("1 open")
        page.get_by_role("button", name="Delete Say hello to the team").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete task").click()
        expect(page.locator("#task-list > li")).to_have_count(0)
        expect(page.get_by_role("heading", name="No tasks yet")).to_be_visible()
        expect(page.locator("#task-counts")).to_have_text("0 open")
