"""The in-memory vector index of each workspace's passages, refreshed from the table.

The ``passages`` table is the truth (both databases); each process keeps, per workspace, the
int8 vectors of the configured model's passages (a byte a dimension: 384 with MiniLM) with the
ids, meetings, meeting dates and speakers beside them, and looks at the workspace's
``search_versions`` row on every search (one primary-key read), so several web processes see
the same results.

When the version has moved, the index catches up in place of reloading: it appends the rows
newer than the newest it holds, marks the older rows of the meetings those rows belong to dead
(an edit re-embeds the whole meeting), and marks dead the rows of meetings that no longer
exist. Dead rows past a quarter of the index rebuild the workspace in a background thread.
Each workspace has its own lock, held only by whoever refreshes it: a search that finds it
taken serves the index as it was (an immutable snapshot) rather than wait, and a change in one
workspace never stalls searches in another. Only a workspace's first search in the process
waits for its load.

A search scores the int8 vectors by cosine similarity (usearch's SIMD kernels) over the rows
the filters keep (workspace always; meeting, date range, speaker), then the best candidates
again against the float query, and returns the top ``k``. Up to ``SHORTLIST_FROM`` rows it
scores them all. Past that it first takes a shortlist (1% of the rows, at least
``SHORTLIST``) by the Hamming distance of the vectors' signs (48 bytes a row, 6 ms at 1M
rows; the first pass of binary quantization with rescoring, as Qdrant does it) and scores
only those. Measured before choosing it, on really embedded sentences, it kept every answer
that scoring all rows found, where an inverted-file index and an HNSW graph lost some. See
``bench semantic`` for its latency, memory and what it misses at 1M rows.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from mina.semantic.model import DEFAULT_MODEL, EmbeddingModel, embedding_model
from mina.store import passages as passage_store

logger = logging.getLogger(__name__)

# dead rows past this share of a workspace's index rebuild it in the background
REBUILD_DEAD_SHARE = 0.25
_THREADS = min(4, os.cpu_count() or 1)
RESCORED = 32  # candidates past k that the int8 query ranks, to be scored with the float one
SHORTLIST_FROM = 65_536  # rows (after the filters) from which a search scores a shortlist only
SHORTLIST = 8_192  # the shortlist's least length (otherwise 1% of the rows)


def _exact_search() -> Callable[..., Any]:
    """usearch's exact search, imported on first use after onnxruntime: importing usearch
    2.26 first makes the later onnxruntime import crash the process (their bundled native
    libraries clash)."""
    import onnxruntime  # noqa: F401
    from usearch.index import search

    return search


def quantize(vectors: npt.NDArray[np.float32]) -> list[tuple[bytes, float]]:
    """Each unit vector as int8 bytes and its scale (``int8 * scale`` is the vector)."""
    out = []
    for row in vectors:
        peak = float(np.abs(row).max()) or 1.0
        scale = peak / 127.0
        out.append((np.round(row / scale).astype(np.int8).tobytes(), scale))
    return out


def signs(vectors: npt.NDArray[np.int8]) -> npt.NDArray[np.uint64]:
    """Each row's signs (bit set where positive) as 64-bit words: shape (dimensions / 64,
    rows)."""
    packed = np.packbits(vectors > 0, axis=1).view(np.uint64)
    return np.ascontiguousarray(packed.T)


def shortlist(
    words: npt.NDArray[np.uint64],
    query: npt.NDArray[np.float32],
    length: int,
    *,
    leave_out: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.int64]:
    """The positions of the ``length`` rows (a few more on ties) whose signs differ least from
    the query's, among the rows ``leave_out`` does not mark, in position order."""
    mine = np.packbits(query > 0).view(np.uint64)
    bits = 64 * len(words)
    distance = np.bitwise_count(words[0] ^ mine[0]).astype(np.uint16)
    for w in range(1, len(words)):
        distance += np.bitwise_count(words[w] ^ mine[w])
    if leave_out is not None:
        distance[leave_out] = bits + 1  # farther than any row
    # the distance within which ``length`` rows lie, from the histogram (cheaper than a sort)
    within = int(np.searchsorted(np.cumsum(np.bincount(distance, minlength=bits + 2)), length))
    return np.flatnonzero(distance <= min(within, bits))


def _int8(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    peak = float(np.abs(vector).max()) or 1.0
    return np.round(vector * (127.0 / peak)).astype(np.int8)


@dataclass(frozen=True)
class Found:
    passage_id: int
    score: float
    vector: npt.NDArray[np.float32] | None = None  # the stored vector, as a unit vector


class _Columns:
    """A workspace's rows, in id order, in arrays that grow by doubling. Rows past a snapshot's
    ``size`` are written only by the refresher; readers look at ``[:size]`` only."""

    def __init__(self, capacity: int, dimensions: int) -> None:
        capacity = max(capacity, 1024)
        self.ids = np.zeros(capacity, dtype=np.int64)
        self.meetings = np.zeros(capacity, dtype=np.int64)
        self.dates = np.zeros(capacity, dtype=np.float64)  # the meeting's created_at, epoch s
        self.speakers = np.zeros(capacity, dtype=np.int32)  # a code: speaker_codes[name.lower()]
        self.alive = np.ones(capacity, dtype=np.bool_)
        self.vectors = np.zeros((capacity, dimensions), dtype=np.int8)
        self.signs = np.zeros((dimensions // 64, capacity), dtype=np.uint64)  # see ``signs``

    @property
    def capacity(self) -> int:
        return len(self.ids)

    def grown(self, size: int, needed: int) -> _Columns:
        """These columns, or a copy of their first ``size`` rows with room for ``needed``."""
        if needed <= self.capacity:
            return self
        bigger = _Columns(max(needed, self.capacity * 2), self.vectors.shape[1])
        for name in ("ids", "meetings", "dates", "speakers", "alive", "vectors"):
            getattr(bigger, name)[:size] = getattr(self, name)[:size]
        bigger.signs[:, :size] = self.signs[:, :size]
        return bigger

    def write(self, at: int, rows: Sequence[Any], codes: dict[str, int]) -> int:
        """Rows of ``stream_workspace_passages`` written from ``at``; the new size."""
        end = at + len(rows)
        raw = np.frombuffer(b"".join(row[6] for row in rows), dtype=np.int8)
        self.vectors[at:end] = raw.reshape(len(rows), self.vectors.shape[1])
        self.signs[:, at:end] = signs(self.vectors[at:end])
        self.ids[at:end] = [row[0] for row in rows]
        self.meetings[at:end] = [row[1] for row in rows]
        self.speakers[at:end] = [
            codes.setdefault((row[5] or "").lower(), len(codes)) for row in rows
        ]
        self.dates[at:end] = [row[8].timestamp() for row in rows]
        self.alive[at:end] = True
        return end


@dataclass(frozen=True)
class _Snapshot:
    """One workspace's index as of ``version``: its first ``size`` rows, ``dead`` of them
    marked dead (deleted from the table since they were read)."""

    version: int
    size: int
    dead: int
    columns: _Columns
    speaker_codes: dict[str, int] = field(default_factory=dict)

    @property
    def last_id(self) -> int:
        return int(self.columns.ids[self.size - 1]) if self.size else 0

    @property
    def live(self) -> int:
        return self.size - self.dead

    @property
    def nbytes(self) -> int:
        c = self.columns
        parts = (c.ids, c.meetings, c.dates, c.speakers, c.alive, c.vectors, c.signs)
        return sum(int(a.nbytes) for a in parts)


class _Slot:
    """A workspace's current snapshot and the lock its refresher holds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.snapshot: _Snapshot | None = None
        self.rebuilds = 0


class VectorIndex:
    """Every workspace's vectors in this process (see the module docstring)."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        rebuild_dead_share: float = REBUILD_DEAD_SHARE,
        shortlist_from: int = SHORTLIST_FROM,
        shortlist_length: int = SHORTLIST,
    ) -> None:
        self.model = embedding_model(model)  # only its passages are read, and its queries
        self._rebuild_dead_share = rebuild_dead_share
        self._shortlist_from = shortlist_from
        self._shortlist_length = shortlist_length
        self._slots_lock = threading.Lock()  # only to find or add a slot
        self._slots: dict[int, _Slot] = {}
        self._rebuilders: list[threading.Thread] = []

    def memory_bytes(self) -> int:
        return sum(s.snapshot.nbytes for s in list(self._slots.values()) if s.snapshot)

    def wait_for_rebuilds(self, timeout: float = 60.0) -> None:
        """Let background rebuilds finish (tests and the bench)."""
        for thread in list(self._rebuilders):
            thread.join(timeout)

    def rebuilds(self, workspace_id: int) -> int:
        """How many times the workspace was rebuilt in the background."""
        return self._slot(workspace_id).rebuilds

    def _slot(self, workspace_id: int) -> _Slot:
        with self._slots_lock:
            return self._slots.setdefault(workspace_id, _Slot())

    def current(self, session: Session, workspace_id: int) -> _Snapshot:
        """The workspace's snapshot, caught up with the table when nobody else is doing it."""
        version = passage_store.search_version(session, workspace_id=workspace_id)
        slot = self._slot(workspace_id)
        held = slot.snapshot
        if held is not None and held.version == version:
            return held
        if held is None:
            with slot.lock:  # the first load: only this workspace's searches wait for it
                if slot.snapshot is None:
                    slot.snapshot = _load(session, self.model, workspace_id, version)
                return slot.snapshot
        if not slot.lock.acquire(blocking=False):
            return held  # someone is refreshing it: serve what we have
        rebuild = False
        try:
            fresh, rebuild = _catch_up(
                session, self.model, workspace_id, held, version, self._rebuild_dead_share
            )
            slot.snapshot = fresh
        finally:
            if not rebuild:
                slot.lock.release()
        if rebuild:  # the thread releases the lock when its snapshot is in
            self._rebuild_later(session, workspace_id, slot)
        return slot.snapshot

    def _rebuild_later(self, session: Session, workspace_id: int, slot: _Slot) -> None:
        bind = session.get_bind()

        def rebuild() -> None:
            try:
                with Session(bind) as own:
                    version = passage_store.search_version(own, workspace_id=workspace_id)
                    slot.snapshot = _load(own, self.model, workspace_id, version)
                    slot.rebuilds += 1
            except Exception:
                logger.exception("rebuilding the vector index of workspace %d", workspace_id)
            finally:
                slot.lock.release()

        self._rebuilders = [t for t in self._rebuilders if t.is_alive()]
        thread = threading.Thread(target=rebuild, name=f"vector-index-{workspace_id}", daemon=True)
        self._rebuilders.append(thread)
        thread.start()

    def search(
        self,
        session: Session,
        *,
        workspace_id: int,
        query: npt.NDArray[np.float32],
        k: int,
        meeting_id: int | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        speaker: str | None = None,
    ) -> list[Found]:
        """The ``k`` passages nearest ``query`` (a unit vector) that pass the filters, best
        first, with their cosine similarity."""
        index = self.current(session, workspace_id)
        c, size = index.columns, index.size
        if not index.live:
            return []
        keep: npt.NDArray[np.bool_] | None = None

        def narrow(condition: npt.NDArray[np.bool_]) -> None:
            nonlocal keep
            keep = condition if keep is None else keep & condition

        if meeting_id is not None:
            narrow(c.meetings[:size] == meeting_id)
        if date_from is not None:
            narrow(c.dates[:size] >= date_from.timestamp())
        if date_to is not None:
            narrow(c.dates[:size] < date_to.timestamp())
        if speaker:
            narrow(c.speakers[:size] == index.speaker_codes.get(speaker.strip().lower(), -1))
        rows = np.flatnonzero(keep) if keep is not None else None
        count = size if rows is None else len(rows)
        if count >= self._shortlist_from:
            rows = self._shortlist(index, query, keep, count)
        vectors = c.vectors[:size] if rows is None else c.vectors[rows]
        wanted = min(k + RESCORED, len(vectors))
        pool = wanted
        if not pool:
            return []
        while True:  # dead rows are dropped from the results (copying the rest would cost more)
            matches = _exact_search()(
                vectors, _int8(query), pool, "cos", exact=True, threads=_THREADS
            )
            keys = np.asarray(matches.keys, dtype=np.int64)
            positions = keys if rows is None else rows[keys]
            positions = positions[c.alive[positions]] if index.dead else positions
            if len(positions) >= wanted or pool == len(vectors):
                break
            pool = min(pool * 4, len(vectors))
        # the candidates scored again against the float query (the int8 one ranks them to
        # within its rounding), as the cosine of each stored vector
        candidates = c.vectors[positions].astype(np.float32)
        norms = np.linalg.norm(candidates, axis=1)
        candidates /= np.where(norms > 0, norms, 1.0)[:, None]
        scores = candidates @ query.astype(np.float32)
        best = np.argsort(-scores, kind="stable")[:k]
        return [Found(int(c.ids[positions[i]]), float(scores[i]), candidates[i]) for i in best]

    def _shortlist(
        self,
        index: _Snapshot,
        query: npt.NDArray[np.float32],
        keep: npt.NDArray[np.bool_] | None,
        count: int,
    ) -> npt.NDArray[np.int64]:
        """The rows worth scoring among the ``count`` that the filters ``keep`` (all when
        None), dead rows left out."""
        c, size = index.columns, index.size
        leave_out = None if keep is None else ~keep
        if index.dead:
            dead = ~c.alive[:size]
            leave_out = dead if leave_out is None else leave_out | dead
        length = max(self._shortlist_length, count // 100)
        return shortlist(c.signs[:, :size], query, length, leave_out=leave_out)


def _load(session: Session, model: EmbeddingModel, workspace_id: int, version: int) -> _Snapshot:
    """The workspace's passages of ``model``, read whole."""
    count = passage_store.count_workspace_passages(
        session, workspace_id=workspace_id, model=model.name
    )
    # room for the meetings of the coming weeks before the arrays are copied to grow
    columns = _Columns(count + count // 8, model.dimensions)
    codes, size = dict[str, int](), 0
    for batch in passage_store.stream_workspace_passages(
        session, workspace_id=workspace_id, model=model.name
    ):
        columns = columns.grown(size, size + len(batch))
        size = columns.write(size, batch, codes)
    return _Snapshot(version, size, 0, columns, codes)


def _catch_up(
    session: Session,
    model: EmbeddingModel,
    workspace_id: int,
    held: _Snapshot,
    version: int,
    dead_share: float,
) -> tuple[_Snapshot, bool]:
    """``held`` with the rows added since, and the rows of replaced and deleted meetings
    marked dead; and whether the workspace needs a rebuild (too many dead rows). A row gone
    some other way stays until then: the search drops what the table no longer has."""
    columns, codes, size = held.columns, dict(held.speaker_codes), held.size
    last = held.last_id
    touched: set[int] = set()
    for batch in passage_store.stream_workspace_passages(
        session, workspace_id=workspace_id, model=model.name, after_id=last
    ):
        columns = columns.grown(size, size + len(batch))
        size = columns.write(size, batch, codes)
        touched.update(row[1] for row in batch)
    old = np.arange(held.size)
    dying = np.zeros(held.size, dtype=np.bool_)
    if touched:  # a meeting's new rows replace its old ones
        dying |= np.isin(columns.meetings[: held.size], list(touched))
    # a deleted meeting's rows (its meetings are ~1% of the rows: far cheaper than a count)
    existing = passage_store.workspace_meeting_ids(session, workspace_id=workspace_id)
    dying |= ~np.isin(columns.meetings[: held.size], list(existing))
    newly_dead = old[dying & columns.alive[: held.size]]
    columns.alive[newly_dead] = False  # old snapshots may see it too: those rows are gone
    dead = held.dead + len(newly_dead)
    rebuild = dead > dead_share * max(size, 1)
    if rebuild:
        logger.info(
            "workspace %d's vector index rebuilds (%d rows, %d dead)", workspace_id, size, dead
        )
    return _Snapshot(version, size, dead, columns, codes), rebuild
