"""The in-memory vector index of each workspace's passages, refreshed from the table.

The ``passages`` table is the truth (both databases); each process keeps, per workspace, the
vectors as a float32 matrix with the ids, meetings, meeting dates and speakers beside them, and
reloads it when the workspace's ``search_versions`` row has moved (one primary-key read per
search), so several web processes see the same results. A search is exact: one matrix-vector
product over the rows the filters keep (workspace always; meeting, date range, speaker), then
the top ``k``. See ``bench semantic`` for its latency and memory at scale.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from mina.semantic.model import DIMENSIONS
from mina.store import passages as passage_store


def quantize(vectors: npt.NDArray[np.float32]) -> list[tuple[bytes, float]]:
    """Each unit vector as int8 bytes and its scale (``int8 * scale`` is the vector)."""
    out = []
    for row in vectors:
        peak = float(np.abs(row).max()) or 1.0
        scale = peak / 127.0
        out.append((np.round(row / scale).astype(np.int8).tobytes(), scale))
    return out


@dataclass(frozen=True)
class Found:
    passage_id: int
    score: float


@dataclass
class _Workspace:
    version: int
    ids: npt.NDArray[np.int64]
    meetings: npt.NDArray[np.int64]
    dates: npt.NDArray[np.float64]  # the meeting's created_at, as epoch seconds
    speakers: npt.NDArray[np.int32]  # a code per passage: speaker_codes[name.lower()]
    speaker_codes: dict[str, int]
    vectors: npt.NDArray[np.float32]

    @property
    def nbytes(self) -> int:
        parts = (self.ids, self.meetings, self.dates, self.speakers, self.vectors)
        return sum(int(a.nbytes) for a in parts)


class VectorIndex:
    """Every workspace's vectors in this process (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workspaces: dict[int, _Workspace] = {}

    def memory_bytes(self) -> int:
        return sum(w.nbytes for w in self._workspaces.values())

    def _current(self, session: Session, workspace_id: int) -> _Workspace:
        version = passage_store.search_version(session, workspace_id=workspace_id)
        with self._lock:
            loaded = self._workspaces.get(workspace_id)
            if loaded is not None and loaded.version == version:
                return loaded
            loaded = _load(session, workspace_id, version)
            self._workspaces[workspace_id] = loaded
            return loaded

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
        index = self._current(session, workspace_id)
        if not len(index.ids):
            return []
        keep: npt.NDArray[np.bool_] | None = None

        def narrow(condition: npt.NDArray[np.bool_]) -> None:
            nonlocal keep
            keep = condition if keep is None else keep & condition

        if meeting_id is not None:
            narrow(index.meetings == meeting_id)
        if date_from is not None:
            narrow(index.dates >= date_from.timestamp())
        if date_to is not None:
            narrow(index.dates < date_to.timestamp())
        if speaker:
            code = index.speaker_codes.get(speaker.strip().lower(), -1)
            narrow(index.speakers == code)
        rows = np.flatnonzero(keep) if keep is not None else None
        vectors = index.vectors if rows is None else index.vectors[rows]
        if not len(vectors):
            return []
        scores = vectors @ query.astype(np.float32)
        count = min(k, len(scores))
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top])]
        positions = top if rows is None else rows[top]
        return [
            Found(int(index.ids[p]), float(scores[t])) for p, t in zip(positions, top, strict=True)
        ]


def _load(session: Session, workspace_id: int, version: int) -> _Workspace:
    """The workspace's passages as arrays, filled in place (the vectors take 1.5 KB each)."""
    count = passage_store.count_workspace_passages(session, workspace_id=workspace_id)
    ids = np.zeros(count, dtype=np.int64)
    meetings = np.zeros(count, dtype=np.int64)
    dates = np.zeros(count, dtype=np.float64)
    speakers = np.zeros(count, dtype=np.int32)
    vectors = np.zeros((count, DIMENSIONS), dtype=np.float32)
    codes: dict[str, int] = {}
    at = 0
    for batch in passage_store.stream_workspace_passages(session, workspace_id=workspace_id):
        batch = batch[: count - at]  # passages added since the count wait for the next version
        if not batch:
            break
        end = at + len(batch)
        raw = np.frombuffer(b"".join(row[6] for row in batch), dtype=np.int8)
        scales = np.array([row[7] for row in batch], dtype=np.float32)
        vectors[at:end] = raw.reshape(len(batch), DIMENSIONS).astype(np.float32) * scales[:, None]
        ids[at:end] = [row[0] for row in batch]
        meetings[at:end] = [row[1] for row in batch]
        speakers[at:end] = [codes.setdefault((row[5] or "").lower(), len(codes)) for row in batch]
        dates[at:end] = [row[8].timestamp() for row in batch]
        at = end
    return _Workspace(
        version=version,
        ids=ids[:at],
        meetings=meetings[:at],
        dates=dates[:at],
        speakers=speakers[:at],
        speaker_codes=codes,
        vectors=vectors[:at],
    )
