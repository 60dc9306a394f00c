"""Diarization error rate (``bench/der.py``) on cases worked out by hand."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from bench.der import SpeakerTurn, add_scores, assign_max, score_diarization


def turns(*spans: tuple[float, float, str]) -> list[SpeakerTurn]:
    return [SpeakerTurn(s, e, who) for s, e, who in spans]


TWO = turns((0, 10, "A"), (10, 20, "B"), (25, 30, "A"))


def test_perfect_hypothesis_scores_zero() -> None:
    score = score_diarization(TWO, turns((0, 10, "0"), (10, 20, "1"), (25, 30, "0")))
    assert score.der == 0
    assert score.mapping == {"0": "A", "1": "B"}
    assert score.speaker_count_error == 0


def test_swapped_labels_score_zero() -> None:
    score = score_diarization(TWO, turns((0, 10, "1"), (10, 20, "0"), (25, 30, "1")))
    assert score.der == 0
    assert score.mapping == {"1": "A", "0": "B"}


def test_two_speakers_merged_into_one() -> None:
    # Collars of 0.25 s either side of 0, 10 and 20 leave 9.5 s of A and 9.5 s of B scored;
    # the one hypothesis speaker maps onto either, and the other's 9.5 s is confusion.
    ref = turns((0, 10, "A"), (10, 20, "B"))
    score = score_diarization(ref, turns((0, 20, "0")))
    assert score.reference_s == pytest.approx(19.0)
    assert score.confusion_s == pytest.approx(9.5)
    assert score.missed_s == score.false_alarm_s == 0
    assert score.der == pytest.approx(0.5)
    assert score.speaker_count_error == -1
    assert score_diarization(ref, turns((0, 20, "0")), collar=0).der == pytest.approx(0.5)


def test_one_speaker_split_in_two() -> None:
    # A's second half labelled as a new speaker: 5 s of confusion out of 20 s (no collar).
    ref = turns((0, 10, "A"), (10, 20, "B"))
    hyp = turns((0, 5, "0"), (5, 10, "2"), (10, 20, "1"))
    score = score_diarization(ref, hyp, collar=0)
    assert score.confusion_s == pytest.approx(5)
    assert score.der == pytest.approx(0.25)
    assert score.speaker_count_error == 1


def test_collar_forgives_small_boundary_shifts_only() -> None:
    ref = turns((0, 10, "A"))
    shifted = turns((0.2, 10.2, "0"))
    assert score_diarization(ref, shifted).der == 0
    # without a collar: 0.2 s missed at the start, 0.2 s of false alarm at the end, of 10 s
    bare = score_diarization(ref, shifted, collar=0)
    assert bare.missed_s == pytest.approx(0.2)
    assert bare.false_alarm_s == pytest.approx(0.2)
    assert bare.der == pytest.approx(0.04)
    # a shift past the collar: 0.25 s of the scored 0.25..9.75 missed
    late = score_diarization(ref, turns((0.5, 10, "0")))
    assert late.reference_s == pytest.approx(9.5)
    assert late.missed_s == pytest.approx(0.25)
    assert late.der == pytest.approx(0.25 / 9.5)


def test_missed_speech_and_false_alarm() -> None:
    ref = turns((0, 10, "A"), (20, 30, "B"))
    hyp = turns((0, 10, "0"), (12, 15, "1"))  # B never found; speech invented in the silence
    score = score_diarization(ref, hyp, collar=0)
    assert score.reference_s == pytest.approx(20)
    assert score.missed_s == pytest.approx(10)
    assert score.false_alarm_s == pytest.approx(3)
    assert score.confusion_s == 0
    assert score.der == pytest.approx(13 / 20)


def test_overlap_counts_each_reference_speaker() -> None:
    # A and B overlap from 5 to 10; a hypothesis with one speaker at a time misses one of them.
    ref = turns((0, 10, "A"), (5, 15, "B"))
    hyp = turns((0, 10, "0"), (10, 15, "1"))
    score = score_diarization(ref, hyp, collar=0)
    assert score.reference_s == pytest.approx(20)
    assert score.missed_s == pytest.approx(5)
    assert score.der == pytest.approx(0.25)
    both = turns((0, 10, "0"), (5, 15, "1"))
    assert score_diarization(ref, both, collar=0).der == 0


def test_empty_hypothesis_misses_everything() -> None:
    score = score_diarization(TWO, [])
    assert score.der == pytest.approx(1.0)
    assert score.missed_s == score.reference_s
    assert score_diarization([], []).der == 0
    assert score_diarization([], turns((0, 1, "0"))).der == float("inf")


def test_uem_limits_the_scored_time() -> None:
    ref = turns((0, 10, "A"))
    hyp = turns((0, 10, "0"), (40, 50, "0"))
    assert score_diarization(ref, hyp, collar=0).false_alarm_s == pytest.approx(10)
    assert score_diarization(ref, hyp, collar=0, uem=(0, 30)).der == 0


def test_added_scores_weigh_by_speech() -> None:
    short = score_diarization(turns((0, 10, "A")), [], collar=0)  # 10 s, all missed
    long = score_diarization(turns((0, 30, "A")), turns((0, 30, "0")), collar=0)  # 30 s, right
    total = add_scores([short, long])
    assert total.reference_s == pytest.approx(40)
    assert total.der == pytest.approx(0.25)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 5), (5, 2), (4, 6), (6, 6)])
def test_assignment_matches_brute_force(shape: tuple[int, int]) -> None:
    rng = random.Random(sum(shape))
    for _ in range(30):
        weights = np.array(
            [
                [rng.choice([0, 0, rng.random() * 10]) for _ in range(shape[1])]
                for _ in range(shape[0])
            ]
        )
        pairs = assign_max(weights)
        assert len(pairs) == min(shape)
        assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
        best = _brute_force_best(weights)
        assert sum(weights[r, c] for r, c in pairs) == pytest.approx(best)


def _brute_force_best(weights: np.ndarray) -> float:
    rows, cols = weights.shape
    if rows <= cols:
        return max(
            float(sum(weights[r, c] for r, c in enumerate(chosen)))
            for chosen in itertools.permutations(range(cols), rows)
        )
    return _brute_force_best(weights.T)
