"""Diarization error rate: who spoke when, scored against reference turns.

DER = (missed speech + false alarm + speaker confusion) / reference speech, all in seconds of
scored time. Speech where several reference speakers overlap counts once per speaker, so overlap
is scored in full (a diarizer that labels one speaker there misses the others). Hypothesis
speakers are mapped one-to-one onto reference speakers so that they agree for the longest time
(the Hungarian method); a hypothesis speaker left without a partner is all confusion or false
alarm. Time within ``collar`` seconds either side of a reference turn boundary is not scored, the
NIST md-eval convention (``pyannote.metrics`` calls the same forgiveness ``collar=0.5``, its
collar being the whole width). Without an explicit ``uem`` the scored span is the union of the
reference and hypothesis extents. A speaker's own overlapping turns count once (they speak or
they do not), as in md-eval; ``pyannote.metrics`` would count them twice.

On random references and hypotheses without such self-overlap, every part (speech, missed,
false alarm, confusion) equals ``pyannote.metrics`` 4.2's ``DiarizationErrorRate`` to 1e-9 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

COLLAR_S = 0.25


@dataclass(frozen=True)
class SpeakerTurn:
    """Someone speaking from ``start_s`` to ``end_s`` (seconds)."""

    start_s: float
    end_s: float
    speaker: str


@dataclass(frozen=True)
class DiarizationScore:
    """The parts of the DER of one recording (or of several, added up)."""

    reference_s: float
    missed_s: float
    false_alarm_s: float
    confusion_s: float
    reference_speakers: int
    hypothesis_speakers: int
    mapping: dict[str, str] = field(default_factory=dict)  # hypothesis -> reference speaker

    @property
    def error_s(self) -> float:
        return self.missed_s + self.false_alarm_s + self.confusion_s

    @property
    def der(self) -> float:
        if self.reference_s > 0:
            return self.error_s / self.reference_s
        return 0.0 if self.error_s == 0 else math.inf

    @property
    def speaker_count_error(self) -> int:
        """Found minus true speakers: negative when speakers were merged, positive when split."""
        return self.hypothesis_speakers - self.reference_speakers


def add_scores(scores: Iterable[DiarizationScore]) -> DiarizationScore:
    """The scores of several recordings as one: their DER is total error over total speech."""
    parts = list(scores)
    return DiarizationScore(
        reference_s=sum(s.reference_s for s in parts),
        missed_s=sum(s.missed_s for s in parts),
        false_alarm_s=sum(s.false_alarm_s for s in parts),
        confusion_s=sum(s.confusion_s for s in parts),
        reference_speakers=sum(s.reference_speakers for s in parts),
        hypothesis_speakers=sum(s.hypothesis_speakers for s in parts),
    )


def score_diarization(
    reference: Sequence[SpeakerTurn],
    hypothesis: Sequence[SpeakerTurn],
    *,
    collar: float = COLLAR_S,
    uem: tuple[float, float] | None = None,
) -> DiarizationScore:
    """The DER of ``hypothesis`` against ``reference`` (see the module docstring)."""
    reference = [t for t in reference if t.end_s > t.start_s]
    hypothesis = [t for t in hypothesis if t.end_s > t.start_s]
    ref_labels = sorted({t.speaker for t in reference})
    hyp_labels = sorted({t.speaker for t in hypothesis})
    if uem is None:
        everything = [*reference, *hypothesis]
        if not everything:
            return DiarizationScore(0.0, 0.0, 0.0, 0.0, 0, 0)
        uem = (min(t.start_s for t in everything), max(t.end_s for t in everything))
    start, end = uem

    collars = _union([(b - collar, b + collar) for t in reference for b in (t.start_s, t.end_s)])
    ref_spans = {label: _union(_spans(reference, label)) for label in ref_labels}
    hyp_spans = {label: _union(_spans(hypothesis, label)) for label in hyp_labels}
    edges = {start, end}
    for spans in (collars, *ref_spans.values(), *hyp_spans.values()):
        edges.update(x for span in spans for x in span if start < x < end)
    cuts = np.array(sorted(edges))
    middles = (cuts[:-1] + cuts[1:]) / 2
    scored = np.diff(cuts) * ~_inside(collars, middles)

    ref = _activity([ref_spans[k] for k in ref_labels], middles)
    hyp = _activity([hyp_spans[k] for k in hyp_labels], middles)
    together = ref.T.astype(float) @ (hyp * scored[:, None])
    pairs = assign_max(together)
    correct = np.zeros(len(middles))
    for r, h in pairs:
        correct += ref[:, r] & hyp[:, h]
    n_ref = ref.sum(axis=1)
    n_hyp = hyp.sum(axis=1)
    return DiarizationScore(
        reference_s=float((n_ref * scored).sum()),
        missed_s=float((np.maximum(n_ref - n_hyp, 0) * scored).sum()),
        false_alarm_s=float((np.maximum(n_hyp - n_ref, 0) * scored).sum()),
        confusion_s=float(((np.minimum(n_ref, n_hyp) - correct) * scored).sum()),
        reference_speakers=len(ref_labels),
        hypothesis_speakers=len(hyp_labels),
        mapping={hyp_labels[h]: ref_labels[r] for r, h in pairs if together[r, h] > 0},
    )


def assign_max(weights: np.ndarray) -> list[tuple[int, int]]:
    """A one-to-one matching of rows to columns with the largest total weight.

    The Hungarian method with potentials (Kuhn-Munkres, O(n^2 m)); rectangular matrices match
    min(rows, columns) pairs. Returns (row, column) pairs sorted by row.
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0:
        return []
    flipped = w.shape[0] > w.shape[1]
    if flipped:
        w = w.T
    rows, cols = w.shape
    cost = (w.max() - w).tolist()  # minimise cost == maximise weight (each row gets one column)
    u = [0.0] * (rows + 1)
    v = [0.0] * (cols + 1)
    owner = [0] * (cols + 1)  # owner[j]: the row (1-based) holding column j; 0 = free
    way = [0] * (cols + 1)
    for row in range(1, rows + 1):
        owner[0] = row
        j0 = 0
        least = [math.inf] * (cols + 1)
        used = [False] * (cols + 1)
        while owner[j0] != 0:
            used[j0] = True
            i0 = owner[j0]
            delta = math.inf
            j1 = 0
            for j in range(1, cols + 1):
                if used[j]:
                    continue
                reduced = cost[i0 - 1][j - 1] - u[i0] - v[j]
                if reduced < least[j]:
                    least[j] = reduced
                    way[j] = j0
                if least[j] < delta:
                    delta = least[j]
                    j1 = j
            for j in range(cols + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    least[j] -= delta
            j0 = j1
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(owner[j] - 1, j - 1) for j in range(1, cols + 1) if owner[j]]
    if flipped:
        pairs = [(c, r) for r, c in pairs]
    return sorted(pairs)


def _spans(turns: Sequence[SpeakerTurn], label: str) -> list[tuple[float, float]]:
    return [(t.start_s, t.end_s) for t in turns if t.speaker == label]


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, disjoint spans covering the same time as ``spans``."""
    merged: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _activity(spans: list[list[tuple[float, float]]], times: np.ndarray) -> np.ndarray:
    """A (times x speakers) table: who speaks at each of ``times``."""
    table = np.zeros((len(times), len(spans)), dtype=bool)
    for column, speaker_spans in enumerate(spans):
        table[:, column] = _inside(speaker_spans, times)
    return table


def _inside(spans: list[tuple[float, float]], times: np.ndarray) -> np.ndarray:
    """Which ``times`` fall in one of the sorted, disjoint ``spans``."""
    if not spans:
        return np.zeros(len(times), dtype=bool)
    starts = np.array([s for s, _ in spans])
    ends = np.array([e for _, e in spans])
    index = np.searchsorted(starts, times, side="right") - 1
    return (index >= 0) & (times < ends[np.maximum(index, 0)])
