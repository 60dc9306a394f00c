"""The pacer: short interim steps while the decode pool has headroom, longer ones as streams share
it, never past the longest step; a stream that stopped decoding stops counting."""

from __future__ import annotations

import pytest

from mina.live.pacing import ACTIVE_S, StepPacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pacer(clock: Clock, *, replicas: int = 2) -> StepPacer:
    return StepPacer(
        replicas=replicas, min_step_s=0.5, max_step_s=2.0, target_busy=0.5, clock=clock
    )


def test_a_lone_stream_steps_as_often_as_it_may() -> None:
    clock = Clock()
    paced = pacer(clock)
    assert paced.step_s("a") == 0.5  # nothing measured yet
    paced.observe("a", 0.2)
    # 1 stream x 0.2 s over 2 replicas at half their time: 0.2 s, below the shortest step
    assert paced.step_s("a") == 0.5


def test_steps_lengthen_as_streams_share_the_replicas_up_to_the_longest() -> None:
    clock = Clock()
    paced = pacer(clock)
    for stream in "abcd":
        paced.observe(stream, 0.3)
    # 4 streams x 0.3 s / (2 replicas x 0.5) = 1.2 s
    assert paced.step_s("a") == pytest.approx(1.2)
    # a fifth stream asking counts itself: 5 x 0.3 / 1 = 1.5 s
    assert paced.step_s("e") == pytest.approx(1.5)
    for stream in "efghij":
        paced.observe(stream, 0.3)
    assert paced.step_s("a") == 2.0
    # slower decodes (a loaded machine) lengthen the step too, through the moving average
    slow = pacer(Clock(), replicas=4)
    slow.observe("a", 0.2)
    for _ in range(30):
        slow.observe("a", 1.0)
    assert slow.step_s("a") == pytest.approx(0.5, abs=0.01)  # 1 x ~1.0 / (4 x 0.5)
    assert slow.decode_s is not None and slow.decode_s > 0.99


def test_streams_that_stopped_decoding_stop_counting() -> None:
    clock = Clock()
    paced = pacer(clock)
    for stream in "abcd":
        paced.observe(stream, 0.3)
    assert paced.speaking() == 4
    clock.now += ACTIVE_S / 2
    paced.observe("a", 0.3)
    clock.now += ACTIVE_S / 2 + 0.01  # b, c and d went quiet (or stopped) a while ago
    assert paced.speaking() == 1
    assert paced.step_s("a") == 0.5
