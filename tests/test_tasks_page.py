"""The /tasks page as the server renders it (both databases): the list across meetings, its
tabs, search, assignee filter and pages, how due dates read, the links to each task's moment,
empty states, and another workspace's tasks never shown."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from mina.models import TaskStatus, utcnow
from mina.settings import Settings
from mina.web.tasks_page import describe_due
from tests.conftest import PASSWORD
from tests.meetingdata import Said, add_meeting, principal_of

SAID = [
    Said("Good morning.", 0, 2_000, "Ada"),
    Said("Grace will send the budget tomorrow.", 2_000, 65_000, "Ada"),
]


def titles(page: str) -> list[str]:
    """The titles of the tasks listed, in order."""
    found = re.findall(r'<p class="task-title" id="task-\d+-title">([^<]*)</p>', page)
    return [html.unescape(t) for t in found]


def tab_count(page: str, tab: str) -> int:
    match = re.search(rf'data-count="{tab}">(\d+)<', page)
    assert match, tab
    return int(match.group(1))


def _seed(db: Session, settings: Settings) -> dict[str, int]:
    me = principal_of(db, "ada@example.com")
    if store.get_user_by_email(db, email="grace@example.com") is None:
        store.create_user(db, email="grace@example.com", password=PASSWORD, name="Grace")
        db.commit()
    them = principal_of(db, "grace@example.com")
    meeting = add_meeting(
        db,
        principal=me,
        audio_dir=settings.audio_dir,
        title="Budget & planning",
        said=SAID,
        audio_s=70,
        started_at=utcnow() - timedelta(days=2),
    )
    segment = store.list_transcript(db, meeting_id=meeting.id)[1]
    today = utcnow().date()
    ids = {}

    def add(title: str, **kwargs: object) -> int:
        task = store.create_task(
            db, workspace_id=me.workspace.id, user_id=me.user.id, title=title, **kwargs
        )
        ids[title] = task.id
        return task.id

    add("Send the budget", meeting=meeting, segment=segment, assignee="Grace", due_date=today)
    add("Book the room", assignee="Ada", due_date=today + timedelta(days=1))
    add("File the report", assignee="grace", due_date=today - timedelta(days=3))
    add("Someday, maybe")
    done = add("Old news", assignee="Ada", due_date=today - timedelta(days=10))
    task = store.get_task(db, workspace_id=me.workspace.id, task_id=done)
    assert task is not None
    store.update_task(db, task=task, status=TaskStatus.DONE)
    store.create_task(
        db, workspace_id=them.workspace.id, user_id=them.user.id, title="Their secret plan"
    )
    db.commit()
    ids["meeting"] = meeting.id
    ids["start_ms"] = segment.start_ms
    return ids


def test_tasks_page_lists_open_tasks_with_due_dates_and_moments(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    ids = _seed(db, settings)
    page = user_client.get("/tasks")
    assert page.status_code == 200
    text = page.text
    # open ones by due date (overdue first), the undated last; done ones on their own tab
    assert titles(text) == ["File the report", "Send the budget", "Book the room", "Someday, maybe"]
    assert (tab_count(text, "open"), tab_count(text, "done"), tab_count(text, "all")) == (4, 1, 5)
    assert "1 overdue" in text
    assert text.count('class="badge badge-overdue">Overdue</span>') == 1
    assert "Due today" in text and "Due tomorrow" in text and "was due " in text
    link = f'href="/dashboard/meeting/{ids["meeting"]}?t={ids["start_ms"]}"'
    assert link in text and "Budget &amp; planning" in text
    assert 'href="/tasks" aria-current="page"' in text  # the nav names the page
    assert "Their secret plan" not in text
    # the page carries its tasks for its script, as the API gives them
    data = json.loads(text.split('id="tasks-data">')[1].split("</script>")[0])
    api = user_client.get("/api/tasks?status=open").json()["items"]
    assert data["tasks"] == api and data["tab"] == "open"
    assert data["today"] == utcnow().date().isoformat()

    theirs = other_client.get("/tasks").text
    assert titles(theirs) == ["Their secret plan"]
    assert "Send the budget" not in theirs and tab_count(theirs, "all") == 1


def test_tasks_page_tabs_search_and_assignee(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    _seed(db, settings)
    done = user_client.get("/tasks?status=done").text
    assert titles(done) == ["Old news"] and "Done today" in done
    assert 'class="badge badge-overdue"' not in done  # a done task is never overdue
    everything = titles(user_client.get("/tasks?status=all").text)
    assert everything[-1] == "Old news" and len(everything) == 5
    # done ones by when they were done, the latest first, whatever their due dates
    me = principal_of(db, "ada@example.com")
    for title in ("Book the room", "Someday, maybe"):
        task = next(
            t for t in store.list_tasks(db, workspace_id=me.workspace.id).items if t.title == title
        )
        store.update_task(db, task=task, status=TaskStatus.DONE)
        db.commit()
    assert titles(user_client.get("/tasks?status=done").text) == [
        "Someday, maybe",
        "Book the room",
        "Old news",
    ]

    assert titles(user_client.get("/tasks?q=BUDGET").text) == ["Send the budget"]
    # the assignee matches whatever its case; the select offers each person once
    by_grace = user_client.get("/tasks?assignee=Grace").text
    assert titles(by_grace) == ["File the report", "Send the budget"]
    options = re.findall(r'<option value="([^"]*)"[^>]*>', by_grace.split('id="task-assignee"')[1])
    assert options[:3] == ["", "Ada", "Grace"]
    assert 'value="Grace" selected' in by_grace
    assert titles(user_client.get("/tasks?status=all&assignee=ada&q=news").text) == ["Old news"]

    nothing = user_client.get("/tasks?q=zebra").text
    assert titles(nothing) == [] and "No task matches" in nothing and "zebra" in nothing
    # odd parameters are dropped, not errors
    odd = user_client.get("/tasks?status=bogus&page=abc&q=" + "x" * 500)
    assert odd.status_code == 200 and "No task matches" in odd.text


def test_tasks_page_empty_states_and_pages(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    first = user_client.get("/tasks").text
    assert "No tasks yet" in first and titles(first) == []
    me = principal_of(db, "ada@example.com")
    for n in range(52):
        store.create_task(
            db,
            workspace_id=me.workspace.id,
            user_id=me.user.id,
            title=f"Task {n:02d}",
            due_date=date(2030, 1, 1) + timedelta(days=n),
        )
    db.commit()
    page_one = user_client.get("/tasks").text
    assert len(titles(page_one)) == 50 and "Page 1 of 2" in page_one
    assert 'rel="next" href="/tasks?page=2"' in page_one
    page_two = user_client.get("/tasks?page=2").text
    assert titles(page_two) == ["Task 50", "Task 51"]
    assert 'rel="prev" href="/tasks"' in page_two
    beyond = user_client.get("/tasks?page=9").text
    assert "No tasks on this page" in beyond

    task = store.list_tasks(db, workspace_id=me.workspace.id).items[0]
    store.update_task(db, task=task, status=TaskStatus.DONE)
    db.commit()
    assert "Nothing done yet" not in user_client.get("/tasks?status=done").text
    for t in store.list_tasks(db, workspace_id=me.workspace.id, per_page=100).items:
        store.update_task(db, task=t, status=TaskStatus.DONE)
    db.commit()
    all_done = user_client.get("/tasks").text
    assert "All done" in all_done and "52 tasks done" in all_done


def test_due_dates_read_as_words() -> None:
    today = date(2026, 3, 11)  # a Wednesday
    said = {
        days: (describe_due(today + timedelta(days=days), today).text)
        for days in (-400, -3, -1, 0, 1, 2, 6, 7, 300)
    }
    assert said == {
        -400: "was due 4 Feb 2025",
        -3: "was due 8 Mar",
        -1: "was due yesterday",
        0: "Due today",
        1: "Due tomorrow",
        2: "Due Friday",
        6: "Due Tuesday",
        7: "Due 18 Mar",
        300: "Due 5 Jan 2027",
    }
    assert describe_due(today - timedelta(days=1), today).state == "overdue"
