"""Full-text search and the meetings list, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mina import store
from mina.models import MeetingStatus, Segment
from mina.search import parse_query
from mina.store import meeting_search
from tests.searchhelp import make_meeting, make_user

DAY = timedelta(days=1)
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def titles(results: store.MeetingResults) -> list[str]:
    return [hit.meeting.title for hit in results.items]


def search(db: Session, principal: store.Principal, q: str | None, **kwargs: object):  # type: ignore[no-untyped-def]
    return store.search_meetings(db, workspace_id=principal.workspace.id, q=q, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def ada(db: Session) -> store.Principal:
    return make_user(db, "ada@example.com")


def test_finds_words_in_transcripts_and_titles_with_snippets(
    db: Session, ada: store.Principal
) -> None:
    spoken = make_meeting(
        db,
        ada,
        "Weekly sync",
        ["Good morning everyone.", "The billing page is slow for new customers.", "Thanks."],
    )
    titled = make_meeting(db, ada, "Billing review", ["Nothing about money here."])
    make_meeting(db, ada, "Hiring", ["We need two engineers."])
    db.commit()

    results = search(db, ada, "billing")
    assert results.searching and results.total == 2 and results.total_exact
    assert sorted(titles(results)) == ["Billing review", "Weekly sync"]
    by_id = {hit.meeting.id: hit for hit in results.items}
    (match,) = by_id[spoken.id].matches
    segment = db.scalar(select(Segment).where(Segment.meeting_id == spoken.id, Segment.seq == 1))
    assert segment is not None
    assert (match.segment_id, match.start_ms) == (segment.id, 4000)
    assert "<mark>billing</mark> page is slow" in match.snippet.lower()
    assert by_id[titled.id].matches == []  # a title match has no passage


def test_ranking_puts_title_matches_then_stronger_passages_first(
    db: Session, ada: store.Principal
) -> None:
    make_meeting(
        db,
        ada,
        "Weak",
        ["We talked about many things, the roadmap among them, and lunch, and the weather too."],
    )
    make_meeting(db, ada, "Strong", ["Roadmap, roadmap: the roadmap."])
    make_meeting(db, ada, "Roadmap planning", ["Let us start."])
    db.commit()
    assert titles(search(db, ada, "roadmap")) == ["Roadmap planning", "Strong", "Weak"]
    # the other sorts reorder the same matches
    newest = search(db, ada, "roadmap", sort=store.MeetingSort.OLDEST)
    assert titles(newest) == ["Weak", "Strong", "Roadmap planning"]


def test_prefix_matches_the_word_being_typed(db: Session, ada: store.Principal) -> None:
    make_meeting(db, ada, "Finance", ["The budget for marketing is approved."])
    make_meeting(db, ada, "Other", ["Buddy system for onboarding."])
    db.commit()
    assert titles(search(db, ada, "budg")) == ["Finance"]
    assert titles(search(db, ada, "market")) == ["Finance"]
    assert sorted(titles(search(db, ada, "bu"))) == ["Finance", "Other"]
    # only the last word (or one ending in *) is a prefix
    assert titles(search(db, ada, "budg approved")) == []
    assert titles(search(db, ada, "budg* approved")) == ["Finance"]
    snippet = search(db, ada, "budg").items[0].matches[0].snippet
    assert "<mark>budget</mark>" in snippet


def test_phrase_search_keeps_words_together_and_in_order(db: Session, ada: store.Principal) -> None:
    make_meeting(db, ada, "Together", ["The billing page needs a redesign."])
    make_meeting(db, ada, "Apart", ["This page is about billing, not design."])
    db.commit()
    assert titles(search(db, ada, '"billing page"')) == ["Together"]
    assert sorted(titles(search(db, ada, "billing page"))) == ["Apart", "Together"]
    snippet = search(db, ada, '"billing page"').items[0].matches[0].snippet
    assert "billing" in snippet and "<mark>" in snippet


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unclosed phrase',
        "AND",
        "billing AND",
        "OR OR",
        "NOT",
        "(",
        ")",
        "NEAR(a b",
        "*",
        "a*b*",
        "title:billing",
        "^billing",
        "-billing",
        "billing'",
        "'",
        "\\",
        "{x}",
        ":*",
        "&|!",
        "<->",
        "a:*b",
        "\x00",
        "ℌ𝔢𝔩𝔩𝔬",
        "x" * 500,
    ],
)
def test_any_input_is_safe(db: Session, ada: store.Principal, query: str) -> None:
    make_meeting(db, ada, "Billing", ["The billing page and the AND operator."])
    db.commit()
    results = search(db, ada, query)
    assert results.searching and results.total == len(results.items) <= 1


def test_snippets_escape_html(db: Session, ada: store.Principal) -> None:
    make_meeting(db, ada, "XSS <b>check</b>", ['<script>alert("x")</script> then billing & more'])
    db.commit()
    (hit,) = search(db, ada, "billing").items
    snippet = hit.matches[0].snippet
    assert "<script>" not in snippet
    assert "&lt;script&gt;" in snippet and "<mark>billing</mark>" in snippet
    assert "&amp;" in snippet


def test_search_follows_edits_and_deletes(db: Session, ada: store.Principal) -> None:
    meeting = make_meeting(db, ada, "Quarterly", ["We discussed the pricing table.", "Bye."])
    db.commit()
    segment = db.scalar(select(Segment).where(Segment.meeting_id == meeting.id, Segment.seq == 0))
    assert segment is not None
    assert titles(search(db, ada, "pricing")) == ["Quarterly"]

    segment.edited_text = "We discussed the invoice emails."
    db.commit()
    assert titles(search(db, ada, "pricing")) == []  # the original is not searchable
    (hit,) = search(db, ada, "invoice").items
    assert "<mark>invoice</mark>" in hit.matches[0].snippet

    segment.edited_text = None  # back to what the engine heard
    db.commit()
    assert titles(search(db, ada, "pricing")) == ["Quarterly"]
    assert titles(search(db, ada, "invoice")) == []

    db.delete(segment)
    db.commit()
    assert titles(search(db, ada, "pricing")) == []
    assert titles(search(db, ada, "bye")) == ["Quarterly"]

    store.update_meeting(db, meeting=meeting, title="Annual")
    db.commit()
    assert titles(search(db, ada, "quarterly")) == []
    assert titles(search(db, ada, "annual")) == ["Annual"]

    store.delete_meeting(db, meeting=meeting)
    db.commit()
    assert search(db, ada, "bye").total == 0
    assert search(db, ada, "annual").total == 0


def test_deleting_a_meeting_by_cascade_leaves_no_index_entries(
    db: Session, ada: store.Principal, backend: str
) -> None:
    meeting = make_meeting(db, ada, "Cascade", ["Unique zebra words here."])
    db.commit()
    db.execute(text("DELETE FROM meetings WHERE id = :id"), {"id": meeting.id})
    db.commit()
    assert search(db, ada, "zebra").total == 0
    if backend == "sqlite":
        # the external-content index is consistent with its content (FTS5 integrity check)
        db.execute(
            text("INSERT INTO segments_fts(segments_fts, rank) VALUES ('integrity-check', 1)")
        )
        db.execute(
            text("INSERT INTO meetings_fts(meetings_fts, rank) VALUES ('integrity-check', 1)")
        )


def test_filters_sorts_and_pages(db: Session, ada: store.Principal) -> None:
    for i in range(7):
        make_meeting(
            db,
            ada,
            f"Meeting {i}",
            [f"Common words in meeting number {i}."],
            when=T0 + i * DAY,
            minutes=10 + (i * 3) % 7,
            status=MeetingStatus.FAILED if i == 3 else MeetingStatus.COMPLETED,
        )
    db.commit()
    listed = search(db, ada, None, per_page=3)
    assert not listed.searching and listed.total == 7 and listed.total_exact
    assert titles(listed) == ["Meeting 6", "Meeting 5", "Meeting 4"]
    assert titles(search(db, ada, None, per_page=3, page=3)) == ["Meeting 0"]
    beyond = search(db, ada, None, per_page=3, page=4)
    assert beyond.items == [] and beyond.total == 7
    assert titles(search(db, ada, None, sort=store.MeetingSort.OLDEST, per_page=2)) == [
        "Meeting 0",
        "Meeting 1",
    ]
    longest = titles(search(db, ada, None, sort=store.MeetingSort.LONGEST))
    assert longest[:2] == ["Meeting 2", "Meeting 4"]  # 16 and 15 minutes
    assert titles(search(db, ada, None, status=MeetingStatus.FAILED)) == ["Meeting 3"]
    window = search(db, ada, None, date_from=date(2026, 6, 2), date_to=date(2026, 6, 4))
    assert titles(window) == ["Meeting 3", "Meeting 2", "Meeting 1"]  # both ends inclusive
    # the same filters apply to a search
    found = search(
        db,
        ada,
        "common",
        date_from=date(2026, 6, 2),
        date_to=date(2026, 6, 4),
        status=MeetingStatus.COMPLETED,
        sort=store.MeetingSort.NEWEST,
    )
    assert titles(found) == ["Meeting 2", "Meeting 1"] and found.total == 2
    paged = search(db, ada, "common", per_page=5, page=2, sort=store.MeetingSort.NEWEST)
    assert titles(paged) == ["Meeting 1", "Meeting 0"] and paged.total == 7
    assert search(db, ada, "common", per_page=5, page=3).items == []


def test_a_capped_search_says_so_and_still_pages(
    db: Session, ada: store.Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(6):
        make_meeting(db, ada, f"M{i}", ["alpha one.", "alpha two."], when=T0 + i * DAY)
    db.commit()
    monkeypatch.setattr(meeting_search, "SEARCH_WINDOW", 4)
    monkeypatch.setattr(meeting_search, "SEARCH_WINDOW_MAX", 16)
    first = search(db, ada, "alpha", per_page=2, sort=store.MeetingSort.NEWEST)
    assert not first.total_exact and first.total == 2  # 4 newest passages: 2 meetings
    assert titles(first) == ["M5", "M4"]
    # a deeper page widens the window
    third = search(db, ada, "alpha", per_page=2, page=3, sort=store.MeetingSort.NEWEST)
    assert titles(third) == ["M1", "M0"] and third.total == 6
    monkeypatch.setattr(meeting_search, "SEARCH_WINDOW", 100)
    exact = search(db, ada, "alpha")
    assert exact.total_exact and exact.total == 6


@pytest.mark.parametrize("walk_rows", [1, 3, 5, 1000])
def test_postgresql_two_step_window_finds_the_same_passages(
    db: Session, ada: store.Principal, monkeypatch: pytest.MonkeyPatch, walk_rows: int
) -> None:
    """The walk over the newest passages and the index for the older ones join seamlessly
    (SQLite ignores the setting)."""
    grace = make_user(db, "grace@example.com")
    for i in range(4):
        make_meeting(
            db, ada, f"A{i}", ["omega here.", "nothing", "omega again."], when=T0 + i * DAY
        )
        make_meeting(db, grace, f"G{i}", ["omega too."], when=T0 + i * DAY)
    db.commit()
    monkeypatch.setattr(meeting_search, "POSTGRESQL_WALK_ROWS", walk_rows)
    monkeypatch.setattr(meeting_search, "SEARCH_WINDOW", 5)
    capped = search(db, ada, "omega", sort=store.MeetingSort.NEWEST, per_page=3)
    assert titles(capped) == ["A3", "A2", "A1"] and not capped.total_exact
    assert [len(hit.matches) for hit in capped.items] == [2, 2, 1]
    monkeypatch.setattr(meeting_search, "SEARCH_WINDOW", 100)
    full = search(db, ada, "omega", sort=store.MeetingSort.NEWEST)
    assert titles(full) == ["A3", "A2", "A1", "A0"] and full.total_exact


def test_postgresql_plans_each_search_for_its_words(
    db: Session, ada: store.Principal, backend: str
) -> None:
    """psycopg prepares a statement on the server after its fifth run, and PostgreSQL's generic
    plan for it ignores which words are searched: at 1M segments, searches for rare words took
    150-190 ms that way instead of 25. Every connection plans each statement anew."""
    if backend != "postgresql":
        pytest.skip("a PostgreSQL setting")
    assert db.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    make_meeting(db, ada, "Plans", ["omega here."])
    db.commit()
    for _ in range(8):  # past psycopg's prepare threshold, with the setting still on
        assert titles(search(db, ada, "omega")) == ["Plans"]
    assert db.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"


def test_other_workspaces_never_appear(db: Session, ada: store.Principal) -> None:
    grace = make_user(db, "grace@example.com")
    make_meeting(db, ada, "Ada secret plans", ["The merger with Globex."])
    make_meeting(db, grace, "Grace notes", ["Compilers and Globex."])
    db.commit()
    assert titles(search(db, grace, "globex")) == ["Grace notes"]
    assert titles(search(db, grace, "secret")) == []
    assert titles(search(db, grace, None)) == ["Grace notes"]
    assert titles(search(db, ada, "globex")) == ["Ada secret plans"]


def test_parse_query_quotes_every_word() -> None:
    parsed = parse_query('"Billing page" AND plan* o\'clock ( bud')
    assert parsed.fts5() == '"billing page" AND "and" AND "plan"* AND "o" AND "clock" AND "bud"*'
    assert parsed.tsquery() == ("'billing' <-> 'page' & 'and' & 'plan':* & 'o' & 'clock' & 'bud':*")
    assert parse_query("   ").is_empty and parse_query('" * ( ) "').is_empty
    assert [t.prefix for t in parse_query("plan b").terms] == [False, False]  # b is too short
    assert parse_query('plan "b c"').terms[0].prefix is False  # a phrase came last
