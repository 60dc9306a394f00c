"""Who spoke when: voice embeddings of speech windows, clustered into speakers, smoothed into turns.

1. Voice activity (Silero, as the live path uses) finds the speech in each chunk of about ten
   minutes, so memory stays flat however long the meeting is.
2. Windows of 1.5 s every 0.5 s inside speech are embedded (``encoder.VoiceEncoder``: 256-d
   d-vectors, L2-normalised, so a dot product is a cosine).
3. Each chunk's windows are clustered by spectral clustering whose affinity keeps each window's
   nearest neighbours, the neighbour count chosen by the normalised maximum eigengap (NME-SC,
   Park et al. 2019), which also counts the speakers. Clusters whose voices are closer than
   ``MERGE_SIMILARITY`` are then joined, and the chunks' clusters are linked by centroid.
   A speaker count given by the user skips the counting.
4. Labels are smoothed along time and turned into turns, numbered in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from mina.live.vad import StreamingVad

SAMPLE_RATE = 16000
WINDOW_S = 1.5
HOP_S = 0.5
CHUNK_S = 600.0
# Voice activity: a 32 ms window is speech above this probability; pauses shorter than
# ``JOIN_GAP_S`` stay inside a region; regions shorter than ``MIN_REGION_S`` are ignored, the
# rest padded by ``SPEECH_PAD_S``. (Silero's usual 0.5 missed 13-30% of the speech of far-field
# meeting audio; 0.3 misses 1-9%.)
SPEECH_THRESHOLD = 0.3
JOIN_GAP_S = 0.6
MIN_REGION_S = 0.3
SPEECH_PAD_S = 0.2
# Clustering: at most this many speakers are counted in one chunk; two clusters (or chunk
# clusters) whose mean voices are at least ``MERGE_SIMILARITY`` alike are one speaker, from
# ``SMALL_MERGE_SIMILARITY`` when one has fewer than ``BIG_CLUSTER`` windows (its mean voice
# is less sure). Chosen on the tuning split of ``bench diarization``.
MAX_SPEAKERS = 10
MERGE_SIMILARITY = 0.85
SMALL_MERGE_SIMILARITY = 0.82
BIG_CLUSTER = 10
# A cluster of fewer windows than this (under 3.5 s of speech) joins its closest neighbour.
MIN_CLUSTER = 5
# Smoothing: a label is the most common one among this many neighbouring windows, and a turn
# shorter than ``MIN_TURN_S`` goes to its neighbours.
SMOOTH_WINDOWS = 5
MIN_TURN_S = 0.75

Audio = npt.NDArray[np.float32]
Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """What diarization needs of a voice encoder (``encoder.VoiceEncoder``)."""

    def embed_windows(self, audio: Audio, windows: Sequence[tuple[int, int]]) -> Vectors: ...


@dataclass(frozen=True)
class Turn:
    """One speaker talking from ``start_ms`` to ``end_ms`` (speakers are 0..N-1 in order of
    first appearance)."""

    start_ms: int
    end_ms: int
    speaker: int


@dataclass
class SpeechWindows:
    """The embedded windows of a whole recording, in time order (samples from its start)."""

    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    vectors: Vectors
    chunks: npt.NDArray[np.int32]
    regions: list[tuple[int, int]]

    @classmethod
    def empty(cls) -> SpeechWindows:
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros((0, 256), np.float32),
            np.zeros(0, np.int32),
            [],
        )

    def __len__(self) -> int:
        return int(self.starts.size)


def diarize(
    audio: Audio, *, speakers: int | None = None, encoder: Embedder | None = None
) -> list[Turn]:
    """The turns of a recording held in memory (float32 mono 16 kHz)."""
    return diarize_chunks(iter_chunks(audio), speakers=speakers, encoder=encoder)


def diarize_chunks(
    chunks: Iterable[Audio], *, speakers: int | None = None, encoder: Embedder | None = None
) -> list[Turn]:
    """The turns of a recording read in consecutive chunks (about ``CHUNK_S`` each), so a long
    meeting is never in memory at once. ``speakers``: how many there are, when known."""
    if encoder is None:
        from mina.speakers.encoder import VoiceEncoder

        encoder = VoiceEncoder.load()
    windows = embed_speech(chunks, encoder)
    labels = cluster_windows(windows, speakers=speakers)
    return to_turns(windows, labels)


# --- 1, 2: speech and its windows ------------------------------------------------------------


def embed_speech(chunks: Iterable[Audio], encoder: Embedder) -> SpeechWindows:
    """Find the speech of each chunk and embed its windows."""
    starts: list[npt.NDArray[np.int64]] = []
    vectors: list[Vectors] = []
    chunk_ids: list[npt.NDArray[np.int32]] = []
    regions: list[tuple[int, int]] = []
    offset = 0
    for index, chunk in enumerate(chunks):
        chunk_regions = speech_regions(chunk)
        positions = window_positions(chunk_regions, chunk.size)
        if positions:
            vectors.append(np.asarray(encoder.embed_windows(chunk, positions), np.float32))
            starts.append(np.array([s for s, _ in positions], np.int64) + offset)
            chunk_ids.append(np.full(len(positions), index, np.int32))
        regions.extend((s + offset, e + offset) for s, e in chunk_regions)
        offset += chunk.size
    if not starts:
        return SpeechWindows.empty()
    first = np.concatenate(starts)
    return SpeechWindows(
        starts=first,
        ends=first + int(WINDOW_S * SAMPLE_RATE),
        vectors=np.concatenate(vectors),
        chunks=np.concatenate(chunk_ids),
        regions=_merge_regions(regions),
    )


def speech_regions(audio: Audio) -> list[tuple[int, int]]:
    """Where someone speaks, as (start, end) samples, by Silero's voice activity."""
    if audio.size < 512:
        return []
    probabilities = StreamingVad().feed(np.ascontiguousarray(audio, np.float32))
    return _regions_from(probabilities >= SPEECH_THRESHOLD, 512)


def _regions_from(voiced: npt.NDArray[np.bool_], hop: int) -> list[tuple[int, int]]:
    regions: list[tuple[int, int]] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        s, e = int(start) * hop, int(end) * hop
        if regions and s - regions[-1][1] < JOIN_GAP_S * SAMPLE_RATE:
            regions[-1] = (regions[-1][0], e)
        else:
            regions.append((s, e))
    pad = int(SPEECH_PAD_S * SAMPLE_RATE)
    return [
        (max(0, s - pad), min(voiced.size * hop, e + pad))
        for s, e in regions
        if e - s >= MIN_REGION_S * SAMPLE_RATE
    ]


def _merge_regions(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in regions:
        if merged and start - merged[-1][1] < JOIN_GAP_S * SAMPLE_RATE:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def window_positions(regions: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Windows of ``WINDOW_S`` every ``HOP_S`` inside each region; a shorter region gets one
    window centred on it (the silence around a short remark says little of the voice)."""
    size, hop = int(WINDOW_S * SAMPLE_RATE), int(HOP_S * SAMPLE_RATE)
    if length < size:
        return [(0, length)] if regions else []
    windows: list[tuple[int, int]] = []
    for start, end in regions:
        if end - start <= size:
            first = min(max(0, (start + end - size) // 2), length - size)
            windows.append((first, first + size))
            continue
        position = start
        while position + size <= end:
            windows.append((position, position + size))
            position += hop
        if windows[-1][1] < end and end - size > windows[-1][0]:
            windows.append((end - size, end))
    return windows


# --- 3: clustering ---------------------------------------------------------------------------


def cluster_windows(
    windows: SpeechWindows, *, speakers: int | None = None
) -> npt.NDArray[np.int32]:
    """A speaker index for each window: clusters per chunk, linked across chunks."""
    if len(windows) == 0:
        return np.zeros(0, np.int32)
    labels = np.zeros(len(windows), np.int32)
    centroids: list[Vectors] = []
    weights: list[int] = []
    owners: list[tuple[int, npt.NDArray[np.int64]]] = []
    for chunk in np.unique(windows.chunks):
        members = np.flatnonzero(windows.chunks == chunk)
        local = cluster_vectors(windows.vectors[members], speakers=speakers)
        for k in np.unique(local):
            idx = members[local == k]
            centroids.append(_unit(windows.vectors[idx].mean(axis=0)))
            weights.append(int(idx.size))
            owners.append((len(owners), idx))
    links = _link(np.stack(centroids), np.array(weights), speakers=speakers)
    for cluster, idx in owners:
        labels[idx] = links[cluster]
    return labels


def cluster_vectors(vectors: Vectors, *, speakers: int | None = None) -> npt.NDArray[np.int32]:
    """Spectral clustering of unit vectors; ``speakers`` given or counted (NME-SC)."""
    n = len(vectors)
    if speakers == 1 or n < 4:
        return np.zeros(n, np.int32)
    # float32 throughout: a 10-minute chunk has up to 2,400 windows, and every n x n array
    # in float64 would be 46 MB
    similarity = np.clip(vectors @ vectors.T, -1.0, 1.0).astype(np.float32)
    np.fill_diagonal(similarity, 1.0)
    most = min(MAX_SPEAKERS, n - 1)
    nearest = _nearest(similarity, max(_neighbour_counts(n) + [max(2, n // 10 + 1)]) + 1)
    del similarity
    if speakers is not None:
        count = min(speakers, n)
        neighbours = max(2, min(n - 1, n // 10 + 1))
        laplacian = _laplacian(_neighbour_affinity(nearest, neighbours))
        _, vectors_k = np.linalg.eigh(laplacian)
        return _kmeans(vectors_k[:, :count].astype(np.float64), count)
    best: tuple[float, int, npt.NDArray[np.floating]] | None = None
    for neighbours in _neighbour_counts(n):
        laplacian = _laplacian(_neighbour_affinity(nearest, neighbours))
        values, spectral = np.linalg.eigh(laplacian)
        gaps = np.diff(values[: most + 1])
        count = int(np.argmax(gaps)) + 1
        gap = float(gaps[count - 1] / max(values[-1], 1e-9))
        ratio = neighbours / max(gap, 1e-9)
        if best is None or ratio < best[0]:
            best = (ratio, count, spectral[:, :most].copy())
        del laplacian, spectral
    assert best is not None
    _, count, spectral = best
    labels = (
        _kmeans(spectral[:, :count].astype(np.float64), count)
        if count > 1
        else np.zeros(n, np.int32)
    )
    return _merge_close(vectors, labels)


def _neighbour_counts(n: int) -> list[int]:
    top = max(2, min(n // 4, 40))
    return sorted({max(1, round(v)) for v in np.linspace(2, top, num=min(top - 1, 12))})


def _nearest(similarity: npt.NDArray[np.float32], count: int) -> npt.NDArray[np.int64]:
    """Each window's ``count`` most similar windows (itself first), most similar first, read
    a block of rows at a time so no n x n index array is made."""
    n = len(similarity)
    count = min(count, n)
    nearest = np.empty((n, count), np.int64)
    for start in range(0, n, 256):
        rows = -similarity[start : start + 256]
        top = np.argpartition(rows, kth=count - 1, axis=1)[:, :count]
        order = np.argsort(np.take_along_axis(rows, top, axis=1), axis=1, kind="stable")
        nearest[start : start + 256] = np.take_along_axis(top, order, axis=1)
    return nearest


def _neighbour_affinity(nearest: npt.NDArray[np.int64], neighbours: int) -> npt.NDArray[np.float32]:
    """1 between each window and its ``neighbours`` most similar windows, else 0, made
    symmetric."""
    n = len(nearest)
    binary = np.zeros((n, n), np.float32)
    np.put_along_axis(binary, nearest[:, : neighbours + 1], 1.0, axis=1)
    binary += binary.T
    binary *= 0.5
    return binary


def _laplacian(affinity: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The graph Laplacian D - A, in place of ``affinity``."""
    np.fill_diagonal(affinity, 0.0)
    degrees = affinity.sum(axis=1)
    affinity *= -1.0
    affinity[np.diag_indices_from(affinity)] = degrees
    return affinity


def _kmeans(points: npt.NDArray[np.float64], k: int, *, rounds: int = 10) -> npt.NDArray[np.int32]:
    """k-means with k-means++ seeding, deterministic (fixed seed), best of ``rounds``."""
    rng = np.random.default_rng(0)
    n = len(points)
    best_labels, best_cost = np.zeros(n, np.int32), np.inf
    for _ in range(rounds):
        centres = [points[rng.integers(n)]]
        for _ in range(1, k):
            d = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
            total = d.sum()
            pick = rng.choice(n, p=d / total) if total > 0 else rng.integers(n)
            centres.append(points[pick])
        centre = np.stack(centres)
        labels = np.zeros(n, np.int32)
        for step in range(100):
            distance = ((points[:, None, :] - centre[None]) ** 2).sum(axis=2)
            new = np.argmin(distance, axis=1).astype(np.int32)
            if step > 0 and np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                if np.any(labels == j):
                    centre[j] = points[labels == j].mean(axis=0)
        cost = float(((points - centre[labels]) ** 2).sum())
        if cost < best_cost:
            best_labels, best_cost = labels, cost
    return best_labels


def _merge_close(vectors: Vectors, labels: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Join clusters whose mean voices are alike (``_link``'s thresholds), then give each
    cluster of fewer than ``MIN_CLUSTER`` windows to the cluster its voice is closest to: a
    couple of seconds are too little to be sure of a new voice (a lone speaker's cough or
    laugh, the end of a sentence in another tone)."""
    groups = [np.flatnonzero(labels == k) for k in np.unique(labels)]
    centroids = np.stack([_unit(vectors[g].mean(axis=0)) for g in groups])
    links = _link(centroids, np.array([g.size for g in groups]), speakers=None)
    merged = np.zeros(len(labels), np.int32)
    for group, link in zip(groups, links, strict=True):
        merged[group] = link
    while True:
        kinds, sizes = np.unique(merged, return_counts=True)
        if kinds.size < 2 or sizes.min() >= MIN_CLUSTER:
            break
        tiny = int(kinds[int(np.argmin(sizes))])
        others = [int(k) for k in kinds if k != tiny]
        voice = _unit(vectors[merged == tiny].mean(axis=0))
        closest = max(others, key=lambda k: float(_unit(vectors[merged == k].mean(axis=0)) @ voice))
        merged[merged == tiny] = closest
    _, numbered = np.unique(merged, return_inverse=True)
    return numbered.astype(np.int32)


def _link(
    centroids: Vectors, weights: npt.NDArray[np.int64], *, speakers: int | None
) -> npt.NDArray[np.int32]:
    """Average-linkage agglomeration of clusters by their mean voices (``weights``: windows
    per cluster): the pair most over its threshold is joined while one is, or, with
    ``speakers``, the most alike pair until that many are left. Two clusters of at least
    ``BIG_CLUSTER`` windows are one speaker from ``MERGE_SIMILARITY``; a smaller one, whose
    mean voice is less sure, from ``SMALL_MERGE_SIMILARITY``. Returns a group index for each
    centroid."""
    groups: list[list[int]] = [[i] for i in range(len(centroids))]
    sums = [centroids[i].astype(np.float64) * weights[i] for i in range(len(centroids))]
    sizes = [int(w) for w in weights]
    while len(groups) > 1:
        means = np.stack([_unit(s) for s in sums])
        similarity = means @ means.T
        np.fill_diagonal(similarity, -np.inf)
        if speakers is not None:
            if len(groups) <= speakers:
                break
            margin = similarity
        else:
            small = np.minimum.outer(sizes, sizes) < BIG_CLUSTER
            margin = similarity - np.where(small, SMALL_MERGE_SIMILARITY, MERGE_SIMILARITY)
        a, b = np.unravel_index(int(np.argmax(margin)), margin.shape)
        if speakers is None and margin[a, b] < 0:
            break
        a, b = min(a, b), max(a, b)
        groups[a] += groups.pop(b)
        sums[a] = sums[a] + sums.pop(b)
        sizes[a] += sizes.pop(b)
    result = np.zeros(len(centroids), np.int32)
    for index, group in enumerate(groups):
        result[group] = index
    return result


def _unit(vector: npt.NDArray[np.floating]) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return np.asarray(vector / norm if norm > 0 else vector, np.float32)


# --- 4: turns --------------------------------------------------------------------------------


def to_turns(windows: SpeechWindows, labels: npt.NDArray[np.int32]) -> list[Turn]:
    """Smoothed labels as turns inside the speech regions, speakers numbered by first
    appearance."""
    if len(windows) == 0:
        return []
    labels = _smooth(labels)
    centres = (windows.starts + windows.ends) // 2
    pieces: list[tuple[int, int, int]] = []
    for start, end in windows.regions:
        inside = np.flatnonzero((centres >= start) & (centres < end))
        if inside.size == 0:
            nearest = int(np.argmin(np.abs(centres - (start + end) // 2)))
            pieces.append((start, end, int(labels[nearest])))
            continue
        bounds = [start]
        bounds += [
            int((centres[i] + centres[j]) // 2)
            for i, j in zip(inside[:-1], inside[1:], strict=True)
        ]
        bounds.append(end)
        for k, i in enumerate(inside):
            pieces.append((bounds[k], bounds[k + 1], int(labels[i])))
    turns = _absorb_short(_join(pieces))
    order: dict[int, int] = {}
    for _, _, speaker in turns:
        order.setdefault(speaker, len(order))
    return [
        Turn(start * 1000 // SAMPLE_RATE, end * 1000 // SAMPLE_RATE, order[speaker])
        for start, end, speaker in turns
    ]


def _smooth(labels: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Each label becomes the most common among its ``SMOOTH_WINDOWS`` neighbours (ties keep
    it)."""
    half = SMOOTH_WINDOWS // 2
    smoothed = labels.copy()
    for i in range(len(labels)):
        around = labels[max(0, i - half) : i + half + 1]
        values, counts = np.unique(around, return_counts=True)
        if counts.max() > np.sum(around == labels[i]):
            smoothed[i] = values[int(np.argmax(counts))]
    return smoothed


def _join(pieces: Iterable[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    joined: list[tuple[int, int, int]] = []
    for start, end, speaker in pieces:
        if (
            joined
            and joined[-1][2] == speaker
            and start - joined[-1][1] < JOIN_GAP_S * 4 * SAMPLE_RATE
        ):
            joined[-1] = (joined[-1][0], end, speaker)
        else:
            joined.append((start, end, speaker))
    return joined


def _absorb_short(turns: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """A turn shorter than ``MIN_TURN_S`` between others (touching it) goes to the longer
    neighbour."""
    shortest = MIN_TURN_S * SAMPLE_RATE
    changed = True
    while changed and len(turns) > 1:
        changed = False
        for i, (start, end, _speaker) in enumerate(turns):
            if end - start >= shortest:
                continue
            before = turns[i - 1] if i > 0 and turns[i - 1][1] >= start - 1 else None
            after = turns[i + 1] if i + 1 < len(turns) and turns[i + 1][0] <= end + 1 else None
            if before is None and after is None:
                continue
            pick = max((t for t in (before, after) if t is not None), key=lambda t: t[1] - t[0])
            turns[i] = (start, end, pick[2])
            turns = _join(turns)
            changed = True
            break
    return turns


def iter_chunks(audio: Audio) -> Iterator[Audio]:
    """A recording held in memory, in the chunks diarization reads."""
    step = int(CHUNK_S * SAMPLE_RATE)
    for i in range(0, audio.size, step):
        yield audio[i : i + step]
