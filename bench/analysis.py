"""How a live stream did: the events one client received, scored against what was said.

``bench streaming`` (the real server on the wall clock) and ``bench simulate`` (the stream
session in virtual time) score their streams here, so their lags, WER and lists of lost,
duplicated or invented words mean the same.

A word counts as confirmed when it first appears in an ``interim`` event's ``confirmed`` prefix
and its final segment agrees, or else when that final segment arrives. Lags are measured against
the moment its audio had been sent (``t0 + end_ms``).
"""

from __future__ import annotations

import difflib
import math
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

import jiwer

from bench.meeting_audio import MeetingStream, Placed
from bench.stats import percentile
from tests.speechdata import normalize_text, word_error_rate

START_SLACK_MS = 400  # how far a final decode may move an utterance's first word
SPIKE_S = 5.0  # confirmed-word lags above this are listed as spikes

_NOT_WORD = re.compile(r"[^\w']+")


@dataclass
class StreamRun:
    """What one client sent and received; times are ``time.monotonic()``."""

    label: str
    stream: MeetingStream
    offset_s: float
    session_id: str = ""
    t0: float = math.nan  # the wall-clock instant of audio time zero
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    stopped: dict[str, Any] | None = None
    error: str | None = None
    max_send_late_s: float = 0.0
    drain_s: float = math.nan  # stop sent -> stopped received


@dataclass
class WordTiming:
    text: str
    start_ms: int
    end_ms: int
    final_at: float  # arrival of its final segment
    shown_at: float  # first shown as confirmed (interim prefix or final)
    segment_end_ms: int  # end of its segment's last word: its final cannot arrive sooner


@dataclass
class StreamFigures:
    label: str
    audio_s: float
    words: list[WordTiming]
    interim_lags: list[float]
    hypothesis: str
    reference: str
    wer: float
    errors: dict[str, int]
    interims: int
    finals: int
    unmatched_interims: int
    issues: list[str]
    drain_s: float
    max_send_late_s: float
    error: str | None
    utterances: list[dict[str, Any]]

    def confirmed_lags(self, t0: float) -> list[float]:
        return [w.shown_at - (t0 + w.end_ms / 1000) for w in self.words]

    def final_lags(self, t0: float) -> list[float]:
        return [w.final_at - (t0 + w.end_ms / 1000) for w in self.words]

    def final_floor_lags(self) -> list[float]:
        """The final-segment lag each word would have if its segment arrived the instant its
        last word was spoken: what cutting segments at sentence ends and pauses costs alone."""
        return [(w.segment_end_ms - w.end_ms) / 1000 for w in self.words]


def squash(text: str) -> str:
    """Letters, digits and apostrophes only, lower case: what a word is, without punctuation
    or spacing (a final decode may write "everyone," where an interim wrote "everyone.")."""
    return _NOT_WORD.sub("", text.lower())


def match_confirmed(confirmed: str, words: list[WordTiming], first: int) -> tuple[list[int], bool]:
    """The final words from ``first`` on that a settled interim text showed: the indices of
    ``words`` aligned with its words (in order, by difflib), and whether all of them aligned.

    Compared without spacing and punctuation (``squash``): a final decode may write
    "everyone," where an interim wrote "everyone.", or capitalise a sentence start. A word the
    final decode changed is not credited; the words around it still are, when the final has them.
    A word Whisper splits in one text and not the other ("cold-hearted") is not credited.
    """
    tokens = [t for t in (squash(part) for part in confirmed.split()) if t]
    window = words[first : first + len(tokens) + 8]
    finals = [squash(w.text) for w in window]
    blocks = difflib.SequenceMatcher(None, tokens, finals, autojunk=False).get_matching_blocks()
    matched = [first + b + k for _, b, size in blocks for k in range(size)]
    return matched, len(matched) == len(tokens)


def _tokens(texts: list[str]) -> tuple[list[str], list[int]]:
    """Normalised tokens of each text, and the index of the text each token came from."""
    tokens, owners = [], []
    for index, text in enumerate(texts):
        for token in normalize_text(text).split():
            tokens.append(token)
            owners.append(index)
    return tokens, owners


def utterance_errors(utterances: list[Placed], hypothesis: str) -> list[dict[str, Any]]:
    """Errors (substitutions, deletions, insertions) per utterance, by alignment (not by time:
    word times can be wrong, and the stream and offline cut segments differently)."""
    ref_tokens, ref_owner = _tokens([u.reference for u in utterances])
    hyp_tokens = normalize_text(hypothesis).split()
    output = jiwer.process_words(" ".join(ref_tokens), " ".join(hyp_tokens) or "<empty>")
    errors = [0] * len(utterances)
    heard: list[list[str]] = [[] for _ in utterances]
    for chunk in output.alignments[0]:
        if chunk.type == "insert":
            owner = ref_owner[max(0, chunk.ref_start_idx - 1)]
            errors[owner] += chunk.hyp_end_idx - chunk.hyp_start_idx
            heard[owner].extend(hyp_tokens[chunk.hyp_start_idx : chunk.hyp_end_idx])
            continue
        for offset, index in enumerate(range(chunk.ref_start_idx, chunk.ref_end_idx)):
            owner = ref_owner[index]
            if chunk.type != "equal":
                errors[owner] += 1
            if chunk.type != "delete":
                heard[owner].append(hyp_tokens[chunk.hyp_start_idx + offset])
    return [
        {
            "name": u.name,
            "start_s": round(u.start_s, 2),
            "errors": errors[i],
            "reference_words": len(normalize_text(u.reference).split()),
            "heard": " ".join(heard[i]),
        }
        for i, u in enumerate(utterances)
    ]


def alignment_issues(run: StreamRun, words: list[WordTiming]) -> tuple[dict[str, int], list[str]]:
    """Error counts, and the lost (>= 3 reference words) and inserted (>= 2) runs, located."""
    utterances = run.stream.utterances
    ref_tokens, ref_owner = _tokens([u.reference for u in utterances])
    hyp_tokens, hyp_owner = _tokens([w.text for w in words])
    output = jiwer.process_words(" ".join(ref_tokens), " ".join(hyp_tokens) or "<empty>")
    counts = {
        "reference_words": len(ref_tokens),
        "hits": output.hits,
        "substitutions": output.substitutions,
        "deletions": output.deletions,
        "insertions": output.insertions,
    }
    issues = []
    for chunk in output.alignments[0]:
        if chunk.type == "delete" and chunk.ref_end_idx - chunk.ref_start_idx >= 3:
            placed = utterances[ref_owner[chunk.ref_start_idx]]
            lost = " ".join(ref_tokens[chunk.ref_start_idx : chunk.ref_end_idx])
            issues.append(
                f"{run.label}: lost {chunk.ref_end_idx - chunk.ref_start_idx} words "
                f"'{lost}' (utterance {placed.name} at {placed.start_s:.1f}-{placed.end_s:.1f} s)"
            )
        elif chunk.type == "insert" and chunk.hyp_end_idx - chunk.hyp_start_idx >= 2 and hyp_tokens:
            inserted = hyp_tokens[chunk.hyp_start_idx : chunk.hyp_end_idx]
            size = len(inserted)
            before = hyp_tokens[max(0, chunk.hyp_start_idx - size) : chunk.hyp_start_idx]
            kind = "duplicated" if before == inserted else "inserted"
            word = words[hyp_owner[chunk.hyp_start_idx]]
            issues.append(
                f"{run.label}: {kind} {size} words '{' '.join(inserted)}' "
                f"at {word.start_ms / 1000:.1f} s"
            )
    return counts, issues


def analyse(run: StreamRun) -> StreamFigures:
    finals = [(t, m["segment"]) for t, m in run.events if m.get("type") == "final"]
    interims = [(t, m) for t, m in run.events if m.get("type") == "interim"]
    issues: list[str] = []
    seqs = [segment["seq"] for _, segment in finals]
    if seqs != list(range(len(seqs))):
        issues.append(f"{run.label}: final segments arrived with seq {seqs[:20]}...")
    finals.sort(key=lambda item: item[1]["seq"])
    words: list[WordTiming] = []
    previous_end = -1
    for arrived, segment in finals:
        if segment["start_ms"] < previous_end - 100:
            issues.append(
                f"{run.label}: segment {segment['seq']} starts at {segment['start_ms']} ms, "
                f"before the previous one ended ({previous_end} ms)"
            )
        previous_end = segment["end_ms"]
        for word in segment["words"]:
            words.append(
                WordTiming(
                    word["text"],
                    word["start_ms"],
                    word["end_ms"],
                    arrived,
                    arrived,
                    segment["end_ms"],
                )
            )
    if run.stopped is not None:
        # the server counts words as the whitespace-separated tokens of the segment texts
        received = sum(len(segment["text"].split()) for _, segment in finals)
        if run.stopped.get("segments") != len(finals) or run.stopped.get("words") != received:
            issues.append(
                f"{run.label}: 'stopped' counts {run.stopped.get('segments')} segments / "
                f"{run.stopped.get('words')} words, the client received {len(finals)} / "
                f"{received}"
            )
    elif run.error is None:
        issues.append(f"{run.label}: no 'stopped' event")

    # earliest confirmation: an interim's confirmed prefix starts at the open segment's first
    # word, which is the next final word with that start time that had not arrived yet (or,
    # if the server dropped that word, the next one after it)
    by_start: dict[int, list[int]] = {}
    for index, word in enumerate(words):
        by_start.setdefault(word.start_ms, []).append(index)
    unmatched = 0
    interim_lags = []
    for arrived, message in interims:
        if message.get("text"):
            interim_lags.append(arrived - (run.t0 + message["end_ms"] / 1000))
        confirmed = (message.get("confirmed") or "").strip()
        if not confirmed:
            continue
        # the final decode times words on its own: its first word may start a little before
        # or after the interim's
        near = range(message["start_ms"] - START_SLACK_MS, message["start_ms"] + START_SLACK_MS)
        candidates = [
            i
            for start_ms in near
            for i in by_start.get(start_ms, [])
            if words[i].final_at >= arrived
        ]
        later = next(
            (
                i
                for i, w in enumerate(words)
                if w.start_ms >= message["start_ms"] and w.final_at >= arrived
            ),
            None,
        )
        if later is not None:
            candidates.append(later)
        best: list[int] = []
        whole = False
        for first in candidates:
            matched, complete = match_confirmed(confirmed, words, first)
            if len(matched) > len(best) or (len(matched) == len(best) and complete and not whole):
                best, whole = matched, complete
        for index in best:
            words[index].shown_at = min(words[index].shown_at, arrived)
        if not whole:
            # the final decode of the utterance corrected a settled word: that word counts as
            # shown only when its final segment arrives
            unmatched += 1

    hypothesis = " ".join(segment["text"] for _, segment in finals)
    counts, located = alignment_issues(run, words)
    issues.extend(located)
    spikes = [
        (word.shown_at - (run.t0 + word.end_ms / 1000), word)
        for word in words
        if word.shown_at - (run.t0 + word.end_ms / 1000) > SPIKE_S
    ]
    if spikes:
        worst, word = max(spikes, key=lambda item: item[0])
        issues.append(
            f"{run.label}: {len(spikes)} words confirmed more than {SPIKE_S:.0f} s after their "
            f"audio (worst '{word.text}' at {word.end_ms / 1000:.1f} s: {worst:.1f} s)"
        )
    return StreamFigures(
        label=run.label,
        audio_s=run.stream.duration_s,
        words=words,
        interim_lags=interim_lags,
        hypothesis=hypothesis,
        reference=run.stream.reference,
        wer=word_error_rate(run.stream.reference, hypothesis),
        errors=counts,
        interims=len(interims),
        finals=len(finals),
        unmatched_interims=unmatched,
        issues=issues,
        drain_s=run.drain_s,
        max_send_late_s=run.max_send_late_s,
        error=run.error,
        utterances=utterance_errors(run.stream.utterances, hypothesis),
    )


def summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
        "min": round(min(values), 3),
    }


def pooled_wer(figures: list[StreamFigures]) -> float:
    references = [normalize_text(f.reference) for f in figures]
    hypotheses = [normalize_text(f.hypothesis) or "<empty>" for f in figures]
    return float(jiwer.wer(references, hypotheses))
