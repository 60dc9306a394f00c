"""GET /api/meetings parameters and the meetings list page, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import store
from tests.searchhelp import make_meeting

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ada_principal(db: Session) -> store.Principal:
    user = store.get_user_by_email(db, email="ada@example.com")
    assert user is not None
    return store.get_principal(db, user=user)


@pytest.fixture
def archive(user_client: TestClient, db: Session) -> dict[str, int]:
    """Ada's meetings: three with transcripts over three days, one failed."""
    ada = ada_principal(db)
    ids = {}
    ids["billing"] = make_meeting(
        db,
        ada,
        "Billing sync",
        ["Welcome.", "The billing page is slow.", "We will fix the billing page."],
        when=T0,
        minutes=30,
    ).id
    ids["roadmap"] = make_meeting(
        db, ada, "Roadmap", ["The roadmap has the billing work in it."], when=T0 + timedelta(days=1)
    ).id
    ids["failed"] = make_meeting(
        db,
        ada,
        "Broken call",
        ["Nothing useful."],
        when=T0 + timedelta(days=2),
        status=store.MeetingStatus.FAILED,
    ).id
    db.commit()
    return ids


def test_list_returns_the_page_shape(user_client: TestClient, archive: dict[str, int]) -> None:
    body = user_client.get("/api/meetings").json()
    assert set(body) == {"items", "total", "total_exact", "page", "per_page"}
    assert (body["total"], body["page"], body["per_page"], body["total_exact"]) == (3, 1, 20, True)
    assert [m["title"] for m in body["items"]] == ["Broken call", "Roadmap", "Billing sync"]
    first = body["items"][2]
    assert first["matches"] == [] and first["duration_ms"] == 30 * 60 * 1000
    assert first["word_count"] == 12 and first["segment_count"] == 3


def test_search_returns_matches_linking_to_moments(
    user_client: TestClient, archive: dict[str, int]
) -> None:
    body = user_client.get("/api/meetings", params={"q": '"billing page"'}).json()
    assert body["total"] == 1 and body["total_exact"]
    (item,) = body["items"]
    assert item["id"] == archive["billing"]
    assert [m["start_ms"] for m in item["matches"]] == [4000, 8000]
    assert all("<mark>" in m["snippet"] for m in item["matches"])
    assert all(isinstance(m["segment_id"], int) for m in item["matches"])
    # relevance by default, another sort on request
    ranked = user_client.get("/api/meetings", params={"q": "billing"}).json()
    assert [m["title"] for m in ranked["items"]] == ["Billing sync", "Roadmap"]
    oldest_last = user_client.get("/api/meetings", params={"q": "billing", "sort": "newest"})
    assert [m["title"] for m in oldest_last.json()["items"]] == ["Roadmap", "Billing sync"]


def test_filters_and_paging(user_client: TestClient, archive: dict[str, int]) -> None:
    def titles(**params: object) -> list[str]:
        response = user_client.get("/api/meetings", params=params)
        assert response.status_code == 200, response.text
        return [m["title"] for m in response.json()["items"]]

    assert titles(status="failed") == ["Broken call"]
    assert titles(**{"from": "2026-03-03"}) == ["Broken call", "Roadmap"]
    assert titles(**{"from": "2026-03-02", "to": "2026-03-02"}) == ["Billing sync"]
    assert titles(sort="longest")[0] == "Billing sync"
    assert titles(sort="oldest", per_page=1, page=2) == ["Roadmap"]
    assert titles(per_page=2, page=3) == []
    assert titles(q="billing", status="completed", **{"to": "2026-03-02"}) == ["Billing sync"]
    assert titles(q="   ") == ["Broken call", "Roadmap", "Billing sync"]  # blank: no search
    assert titles(q="!!!") == []


@pytest.mark.parametrize(
    "params",
    [
        {"status": "finished"},
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": "2026-03-05", "to": "2026-03-01"},
        {"sort": "loudest"},
        {"page": "0"},
        {"page": "x"},
        {"per_page": "0"},
        {"per_page": "101"},
        {"q": "x" * 201},
    ],
)
def test_bad_parameters_answer_422_with_the_error_shape(
    user_client: TestClient, params: dict[str, str]
) -> None:
    response = user_client.get("/api/meetings", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]) == {"code", "message"}


@pytest.mark.parametrize("q", ['"', "AND", "NEAR(", "a:*", "title:x", "(", "*", "'", "\\"])
def test_search_syntax_never_fails(
    user_client: TestClient, archive: dict[str, int], q: str
) -> None:
    response = user_client.get("/api/meetings", params={"q": q})
    assert response.status_code == 200, response.text


def test_another_workspace_never_appears_in_lists_or_search(
    user_client: TestClient, other_client: TestClient, archive: dict[str, int]
) -> None:
    theirs = other_client.get("/api/meetings").json()
    assert theirs["items"] == [] and theirs["total"] == 0
    for q in ("billing", '"billing page"', "bill", "roadmap"):
        body = other_client.get("/api/meetings", params={"q": q}).json()
        assert body["items"] == [] and body["total"] == 0, q
        page = other_client.get("/dashboard/meetings", params={"q": q}).text
        assert "Billing sync" not in page and "Roadmap" not in page
        assert "No meetings yet" in page
    assert user_client.get("/api/meetings", params={"q": "roadmap"}).json()["total"] == 1


def test_meetings_page_searches_and_escapes(
    user_client: TestClient, db: Session, archive: dict[str, int]
) -> None:
    make_meeting(db, ada_principal(db), "Security <review>", ["<script>alert(1)</script> billing"])
    db.commit()
    page = user_client.get("/dashboard/meetings", params={"q": "billing"}).text
    assert "3 meetings match" in page
    assert f'href="/dashboard/meeting/{archive["billing"]}?t=4000"' in page
    assert "<mark>billing</mark>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Security &lt;review&gt;" in page
    filtered = user_client.get(
        "/dashboard/meetings", params={"q": "billing", "status": "failed"}
    ).text
    assert "Nothing matches" in filtered and "No meetings yet" not in filtered
    # odd parameters on a page are dropped, not errors
    odd = user_client.get(
        "/dashboard/meetings", params={"status": "x", "from": "nope", "page": "-3", "sort": "?"}
    )
    assert odd.status_code == 200 and "4 meetings" in odd.text


def test_meetings_page_pages(user_client: TestClient, db: Session) -> None:
    ada = ada_principal(db)
    for i in range(23):
        make_meeting(db, ada, f"Standup {i:02d}", ["Daily standup."], when=T0 + timedelta(hours=i))
    db.commit()
    first = user_client.get("/dashboard/meetings", params={"q": "standup", "sort": "oldest"}).text
    assert "Page 1 of 2" in first and "Standup 00" in first and "Standup 20" not in first
    next_link = re.search(r'rel="next" href="([^"]+)"', first)
    assert next_link, "no link to the next page"
    second = user_client.get(next_link.group(1).replace("&amp;", "&")).text
    assert "Standup 20" in second and "Standup 22" in second and "Standup 00" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_empty_workspace_says_no_meetings_yet(user_client: TestClient) -> None:
    page = user_client.get("/dashboard/meetings").text
    assert "No meetings yet" in page and "Nothing matches" not in page
    searched = user_client.get("/dashboard/meetings", params={"q": "anything"}).text
    assert "No meetings yet" in searched
