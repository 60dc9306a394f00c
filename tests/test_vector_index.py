"""The in-memory vector index on SQLite and PostgreSQL: new meetings appended rather than
reloaded, edits and deletions never coming back, a rebuild in the background when dead rows
pile up, a refresh in one workspace never stalling searches (there or in another workspace),
and another workspace's passages never returned. Vectors are random unit vectors: the index
does not care what they mean (tests/test_semantic_search.py uses the real model)."""

from __future__ import annotations

import threading
import time

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from mina import store
from mina.models import Meeting, Passage, utcnow
from mina.semantic.index import VectorIndex, quantize, shortlist, signs
from mina.semantic.model import DIMENSIONS
from mina.settings import Settings
from mina.store.passages import NewPassage, replace_passages, search_version
from tests.meetingdata import Said, add_meeting, principal_of

ADA, GRACE = "ada@example.com", "grace@example.com"
RNG = np.random.default_rng(11)


def _unit(count: int) -> npt.NDArray[np.float32]:
    vectors = RNG.standard_normal((count, DIMENSIONS)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _meeting(db: Session, settings: Settings, email: str, title: str) -> Meeting:
    said = [Said(f"line {i} of {title}", i * 1000, i * 1000 + 900, "Ada") for i in range(4)]
    said[-1] = Said(said[-1].text, 3000, 3900, "Grace")
    return add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=settings.audio_dir,
        title=title,
        started_at=utcnow(),
        said=said,
        audio_s=1.0,
    )


def _embed(db: Session, meeting: Meeting) -> npt.NDArray[np.float32]:
    """One passage per segment, each a new random vector; the vectors in segment order."""
    segments = store.list_transcript(db, meeting_id=meeting.id)
    vectors = _unit(len(segments))
    replace_passages(
        db,
        meeting=meeting,
        passages=[
            NewPassage(s.id, s.start_ms, s.end_ms, s.speaker, s.text, v, scale)
            for s, (v, scale) in zip(segments, quantize(vectors), strict=True)
        ],
    )
    db.commit()
    return vectors


def _best(
    index: VectorIndex, db: Session, workspace_id: int, query: np.ndarray, **f: object
) -> int:
    found = index.search(db, workspace_id=workspace_id, query=query, k=1, **f)  # type: ignore[arg-type]
    return found[0].passage_id if found else 0


def _passage(db: Session, meeting: Meeting, position: int) -> int:
    rows = db.query(Passage.id).filter(Passage.meeting_id == meeting.id).order_by(Passage.id)
    return int(rows.all()[position][0])


def test_changes_are_caught_up_in_place_and_never_come_back(
    db: Session, settings: Settings, ada_token: str
) -> None:
    first = _meeting(db, settings, ADA, "first")
    first_vectors = _embed(db, first)
    workspace = first.workspace_id
    index = VectorIndex(rebuild_dead_share=0.5)
    assert _best(index, db, workspace, first_vectors[1]) == _passage(db, first, 1)
    loaded = index.current(db, workspace).columns

    second = _meeting(db, settings, ADA, "second")
    second_vectors = _embed(db, second)
    assert _best(index, db, workspace, second_vectors[2]) == _passage(db, second, 2)
    assert index.current(db, workspace).columns is loaded  # appended, not reloaded
    assert index.current(db, workspace).size == 8

    # an edit re-embeds the meeting: its old vectors never come back, its new ones do
    old = first_vectors[0]
    first_vectors = _embed(db, first)
    assert _best(index, db, workspace, first_vectors[0]) == _passage(db, first, 0)
    found = index.search(db, workspace_id=workspace, query=old, k=8)
    current = {p for (p,) in db.query(Passage.id).filter(Passage.workspace_id == workspace)}
    assert len(found) == 8 and {f.passage_id for f in found} == current
    assert found[0].score < 0.5  # the old vector's passage is gone
    assert index.current(db, workspace).dead == 4 and index.rebuilds(workspace) == 0

    # the filters: a meeting, a speaker
    assert _best(index, db, workspace, first_vectors[3], meeting_id=second.id) != _passage(
        db, first, 3
    )
    by_grace = index.search(
        db, workspace_id=workspace, query=first_vectors[0], k=8, speaker="grace"
    )
    assert {f.passage_id for f in by_grace} == {_passage(db, first, 3), _passage(db, second, 3)}

    # a deleted meeting's rows are dead at once; past a quarter dead, it rebuilds in the background
    store.delete_meeting(db, meeting=second)
    db.commit()
    found = index.search(db, workspace_id=workspace, query=second_vectors[2], k=8)
    assert {f.passage_id for f in found} == {_passage(db, first, i) for i in range(4)}
    index.wait_for_rebuilds()
    assert index.rebuilds(workspace) == 1
    rebuilt = index.current(db, workspace)
    assert rebuilt.dead == 0 and rebuilt.size == 4 and rebuilt.columns is not loaded
    assert _best(index, db, workspace, first_vectors[2]) == _passage(db, first, 2)


def test_a_refresh_never_stalls_searches_here_or_in_another_workspace(
    db: Session, settings: Settings, ada_token: str
) -> None:
    store.create_user(db, email=GRACE, password="a long password", name="Grace")
    db.commit()
    ours = _meeting(db, settings, ADA, "ours")
    ours_vectors = _embed(db, ours)
    theirs = _meeting(db, settings, GRACE, "theirs")
    theirs_vectors = _embed(db, theirs)
    index = VectorIndex()
    assert _best(index, db, ours.workspace_id, ours_vectors[0]) == _passage(db, ours, 0)

    # our workspace is being refreshed (slowly) by someone else while a meeting arrives
    refreshing = index._slot(ours.workspace_id).lock
    refreshing.acquire()
    try:
        later = _meeting(db, settings, ADA, "later")
        later_vectors = _embed(db, later)
        answers: list[int] = []
        started = time.perf_counter()
        searching = threading.Thread(
            target=lambda: answers.append(
                _best(index, db, ours.workspace_id, later_vectors[0], meeting_id=later.id)
            )
        )
        searching.start()
        searching.join(5)
        assert answers == [0]  # the index as it was, at once: the new meeting is not in it yet
        assert time.perf_counter() - started < 5
        # another workspace, even its first load, does not wait for ours
        assert _best(index, db, theirs.workspace_id, theirs_vectors[1]) == _passage(db, theirs, 1)
    finally:
        refreshing.release()
    assert _best(index, db, ours.workspace_id, later_vectors[0]) == _passage(db, later, 0)

    # another workspace's passages never come back, however near the query
    for vector in theirs_vectors:
        found = index.search(db, workspace_id=ours.workspace_id, query=vector, k=20)
        assert found and all(
            db.get(Passage, f.passage_id).workspace_id == ours.workspace_id  # type: ignore[union-attr]
            for f in found
        )


def test_deleting_meetings_in_bulk_moves_the_search_version(
    db: Session, settings: Settings, ada_token: str
) -> None:
    gone = _meeting(db, settings, ADA, "gone")
    vectors = _embed(db, gone)
    kept = _meeting(db, settings, ADA, "kept")
    _embed(db, kept)
    index = VectorIndex(rebuild_dead_share=0.9)
    assert _best(index, db, gone.workspace_id, vectors[0]) == _passage(db, gone, 0)
    before = search_version(db, workspace_id=gone.workspace_id)
    store.delete_meetings(db, meeting_ids=[gone.id])  # as retention does
    db.commit()
    assert search_version(db, workspace_id=kept.workspace_id) == before + 1
    found = index.search(db, workspace_id=kept.workspace_id, query=vectors[0], k=8)
    assert len(found) == 4 and index.current(db, kept.workspace_id).dead == 4


def test_re_embedding_the_newest_meeting_is_seen(
    db: Session, settings: Settings, ada_token: str
) -> None:
    """An edit to the meeting embedded last: its passages had the highest ids, and the new
    ones must be found (not the old vectors under ids the table gives out again)."""
    first = _meeting(db, settings, ADA, "first")
    _embed(db, first)
    newest = _meeting(db, settings, ADA, "newest")
    old = _embed(db, newest)
    workspace = newest.workspace_id
    index = VectorIndex(rebuild_dead_share=0.9)
    assert _best(index, db, workspace, old[1]) == _passage(db, newest, 1)

    new = _embed(db, newest)  # the edit: the newest meeting re-embedded
    for position in range(4):
        assert _best(index, db, workspace, new[position]) == _passage(db, newest, position)
    found = index.search(db, workspace_id=workspace, query=old[1], k=1)
    assert found[0].score < 0.5, "the old vector came back"


def test_the_shortlist_holds_the_rows_whose_signs_differ_least() -> None:
    vectors = np.stack([np.frombuffer(v, dtype=np.int8) for v, _ in quantize(_unit(500))])
    words = signs(vectors)
    query = _unit(1)[0]
    # a row's signs against the query's, counted one dimension at a time
    distance = ((vectors > 0) != (query > 0)).sum(axis=1)
    listed = shortlist(words, query, 40)
    assert len(listed) >= 40 and list(listed) == sorted(listed)
    # every row closer than the farthest listed one is listed, none farther
    edge = distance[listed].max()
    assert set(listed) == set(np.flatnonzero(distance <= edge))
    assert (distance <= edge - 1).sum() < 40

    leave_out = np.zeros(500, dtype=np.bool_)
    leave_out[listed[:20]] = True
    kept = shortlist(words, query, 40, leave_out=leave_out)
    assert len(kept) >= 40 and not set(kept) & set(listed[:20])


def test_a_shortlisted_search_keeps_to_the_filters_and_the_living_rows(
    db: Session, settings: Settings, ada_token: str
) -> None:
    meetings = [_meeting(db, settings, ADA, f"meeting {i}") for i in range(3)]
    vectors = [_embed(db, m) for m in meetings]
    workspace = meetings[0].workspace_id
    every_row = VectorIndex(rebuild_dead_share=0.9)
    shortlisted = VectorIndex(rebuild_dead_share=0.9, shortlist_from=1, shortlist_length=6)
    assert _best(shortlisted, db, workspace, vectors[2][1]) == _passage(db, meetings[2], 1)
    for i in range(3, 6):  # caught up: the new rows' signs are written as they are appended
        meetings.append(_meeting(db, settings, ADA, f"meeting {i}"))
        vectors.append(_embed(db, meetings[-1]))
    for m, vs in zip(meetings, vectors, strict=True):
        for position, v in enumerate(vs):  # a passage's own vector, a little off: found first
            near = v + 0.3 * _unit(1)[0] / np.sqrt(DIMENSIONS)
            assert _best(shortlisted, db, workspace, near) == _passage(db, m, position)
            assert _best(every_row, db, workspace, near) == _passage(db, m, position)
    # the filters leave their rows out of the shortlist: only the meeting's passages come back
    query = vectors[0][0]
    found = shortlisted.search(
        db, workspace_id=workspace, query=query, k=4, meeting_id=meetings[3].id
    )
    assert {f.passage_id for f in found} == {_passage(db, meetings[3], i) for i in range(4)}
    by_grace = shortlisted.search(db, workspace_id=workspace, query=query, k=24, speaker="Grace")
    assert {f.passage_id for f in by_grace} == {_passage(db, m, 3) for m in meetings}
    # a deleted meeting's rows never make the shortlist, however near
    store.delete_meeting(db, meeting=meetings[0])
    db.commit()
    found = shortlisted.search(db, workspace_id=workspace, query=query, k=6)
    assert len(found) == 6
    assert all(db.get(Passage, f.passage_id).meeting_id != meetings[0].id for f in found)  # type: ignore[union-attr]
    assert shortlisted.current(db, workspace).dead == 4
