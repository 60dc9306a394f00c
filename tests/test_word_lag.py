"""The confirmed-word lag meter on a fake clock: each word once, from its own audio's arrival;
audio with no arrival time (restored from disk, or long forgotten) is not counted."""

from __future__ import annotations

import pytest

from mina.observability.lag import KEEP_S, WordLagMeter

RATE = 16000
FRAME = 3200  # 100 ms


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def meter(clock: Clock, lags: list[float], **kwargs: float) -> WordLagMeter:
    return WordLagMeter(lags.append, sample_rate=RATE, clock=clock, **kwargs)  # type: ignore[arg-type]


def feed(lag: WordLagMeter, clock: Clock, seconds: float, start_bytes: int = 0) -> int:
    """Frames arriving in real time; returns the byte offset reached."""
    offset = start_bytes
    for _ in range(round(seconds * 10)):
        clock.now += 0.1
        offset += FRAME
        lag.mark_audio(offset)
    return offset


def test_each_word_counts_once_from_its_audio() -> None:
    clock, lags = Clock(), []
    lag = meter(clock, lags)
    feed(lag, clock, 3.0)  # audio 0-3 s arrived at 1000.1 .. 1003.0
    clock.now += 0.5
    lag.observe_words([(0.1, 0.45), (0.5, 0.9)])  # settled in an interim
    assert lags == pytest.approx([1003.5 - 1000.5, 1003.5 - 1000.9])
    # the utterance's final segment: the same words (the second one 0.3 s longer), then a new one
    clock.now += 1.0
    lag.observe_words([(0.1, 0.4), (0.55, 1.2), (1.3, 1.8)])
    assert lags[2:] == pytest.approx([1004.5 - 1001.8])
    assert len(lags) == 3


def test_audio_without_an_arrival_time_is_not_counted() -> None:
    clock, lags = Clock(), []
    # a recording restored from disk: 2 s were there before this process saw any frame
    lag = meter(clock, lags, start_s=1.0, known_from_bytes=2 * RATE * 2)
    feed(lag, clock, 1.0, start_bytes=2 * RATE * 2)
    # 0.5: before the restored segments' end; 1.5 and 1.99: audio from disk; 2.5 arrived live
    lag.observe_words([(0.3, 0.5), (1.2, 1.5), (1.6, 1.99), (2.1, 2.5)])
    assert lags == pytest.approx([1001.0 - 1000.5])
    lag.observe_words([(8.5, 9.0)])  # audio that has not arrived: no figure
    assert len(lags) == 1


def test_old_arrival_times_are_forgotten_and_not_misattributed() -> None:
    clock, lags = Clock(), []
    lag = meter(clock, lags)
    end = feed(lag, clock, KEEP_S * 2 + 10)
    lag.observe_words([(0.5, 1.0)])  # its arrival time was dropped
    assert lags == []
    lag.observe_words([(end / (RATE * 2) - 0.4, end / (RATE * 2) - 0.05)])
    assert lags == pytest.approx([0.0], abs=0.11)


def test_words_out_of_order_count_once_each() -> None:
    """An utterance's final segment is sent after its commit, by when the next utterance may
    have settled words: the earlier words still count, once."""
    lags: list[float] = []
    now = [0.0]
    meter = WordLagMeter(lags.append, sample_rate=RATE, clock=lambda: now[0])
    for second in range(1, 9):
        now[0] = float(second)
        meter.mark_audio(second * RATE * 2)
    now[0] = 9.0
    meter.observe_words([(0.4, 0.8)])  # settled from an interim
    meter.observe_words([(3.7, 4.1), (4.4, 4.8)])  # the next utterance, settled first
    meter.observe_words([(0.38, 0.82), (1.1, 1.5), (1.8, 2.2)])  # the first one's final
    meter.observe_words([(3.72, 4.1), (4.4, 4.8), (5.1, 5.5)])  # the second one's final
    assert lags == [8.0, 4.0, 4.0, 7.0, 6.0, 3.0]  # each from the frame holding its end
