"""The stream session and LocalAgreement, driven by the deterministic fake engine."""

from __future__ import annotations

import random
from dataclasses import replace

from mina.engines.base import AudioArray, Word
from mina.engines.fake import FakeEngine
from mina.live.config import StreamConfig
from mina.live.final_segments import segment_words, to_new_segment
from mina.live.reconcile import LocalAgreement, TimedWord
from mina.live.streaming import StepResult, StreamSession
from tests.livehelp import FRAME, sentences_pcm, words_of

CONFIG = StreamConfig(vad="energy")


def _words(*texts: str, start: float = 0.0) -> list[Word]:
    return [Word(f" {t}", start + i * 0.5, start + i * 0.5 + 0.4, 0.9) for i, t in enumerate(texts)]


def test_local_agreement_confirms_what_two_hypotheses_share() -> None:
    agreement = LocalAgreement()
    assert agreement.insert(_words("hello", "word"), 0.0) == []
    confirmed = agreement.insert(_words("hello", "world", "again"), 0.0)
    assert [w.text.strip() for w in confirmed] == ["hello"]
    assert [w.text.strip() for w in agreement.tentative()] == ["world", "again"]
    confirmed = agreement.insert(_words("Hello,", "world", "again", "today"), 0.0)
    assert [w.text.strip() for w in confirmed] == [
        "world",
        "again",
    ]  # "Hello," was confirmed already
    assert [w.text.strip() for w in agreement.flush()] == ["today"]


def test_local_agreement_drops_words_repeated_from_the_confirmed_tail() -> None:
    agreement = LocalAgreement()
    agreement.insert(_words("one", "two", "three"), 0.0)
    agreement.insert(_words("one", "two", "three"), 0.0)
    assert [w.text.strip() for w in agreement.flush()] == []
    # the buffer was trimmed at 1.4 s; Whisper repeats "three" at its start: not a new word
    repeated = [Word(" three", 0.0, 0.3, 0.9), Word(" four", 0.5, 0.9, 0.9)]
    agreement.insert(repeated, 1.0)
    confirmed = agreement.insert(repeated, 1.0)
    assert [w.text.strip() for w in confirmed] == ["four"]


def _stream(pcm: bytes, config: StreamConfig = CONFIG) -> tuple[list[str], StreamSession]:
    session = StreamSession(FakeEngine(), config)
    texts = []
    for offset in range(0, len(pcm), FRAME):
        session.feed(pcm[offset : offset + FRAME])
        texts += [s.text for s in session.step().finals]
    texts += [s.text for s in session.finish().finals]
    return texts, session


def test_every_word_reaches_a_final_segment_exactly_once() -> None:
    sentences = ([1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11, 12])
    texts, _ = _stream(sentences_pcm(*sentences))
    words = [w.rstrip(".").lower() for text in texts for w in text.split()]
    assert words == words_of(*sentences)
    # a pause ends a segment
    assert len(texts) == 3


def test_silence_costs_no_decoding() -> None:
    pcm = b"\x00\x00" * 16000 * 20  # 20 s of silence
    texts, session = _stream(pcm)
    assert texts == [] and session.decodes == 0


def test_long_speech_without_pauses_is_cut_and_bounded() -> None:
    numbers = [n % 100 for n in range(60)]  # ~42 s of words 0.3 s apart, no pause
    config = StreamConfig(vad="energy", max_buffer_s=8.0, max_segment_s=6.0)
    session = StreamSession(FakeEngine(sentence_gap_s=None), config)
    pcm = sentences_pcm(numbers)
    texts = []
    longest = 0
    for offset in range(0, len(pcm), FRAME):
        session.feed(pcm[offset : offset + FRAME])
        texts += [s.text for s in session.step().finals]
        longest = max(longest, session._buffer.size)
    texts += [s.text for s in session.finish().finals]
    assert longest <= (config.max_buffer_s + 1) * 16000
    assert [w.lower() for t in texts for w in t.split()] == words_of(numbers)
    assert len(texts) >= 5


def test_resumed_stream_continues_the_clock() -> None:
    pcm = sentences_pcm([3, 4, 5])
    session = StreamSession(FakeEngine(), CONFIG, start_sample=16000 * 60)
    for offset in range(0, len(pcm), FRAME):
        session.feed(pcm[offset : offset + FRAME])
        session.step()
    (segment,) = session.finish().finals
    assert 60.0 < segment.start < 61.0


def test_segment_words_cuts_at_sentences_and_pauses() -> None:
    words = [
        TimedWord(" Hello", 0.0, 0.5, 0.9),
        TimedWord(" there,", 0.6, 1.0, 0.9),
        TimedWord(" friend.", 1.1, 1.7, 0.9),
        TimedWord(" After", 1.8, 2.1, 0.9),
        TimedWord(" a", 2.2, 2.3, 0.9),
        TimedWord(" pause", 4.0, 4.5, 0.9),
    ]
    segments = segment_words(words, StreamConfig())
    assert [s.text for s in segments] == ["Hello there, friend.", "After a", "pause"]
    assert segments[0].start == 0.0 and segments[0].end == 1.7


def test_sentences_start_with_a_capital_letter() -> None:
    words = [
        TimedWord(" Good", 0.0, 0.3, 0.9),
        TimedWord(" morning.", 0.3, 0.8, 0.9),
        TimedWord(" let's", 0.9, 1.1, 0.9),
        TimedWord(" start.", 1.1, 1.6, 0.9),
        TimedWord(" first,", 3.0, 3.3, 0.9),
        TimedWord(" the", 3.3, 3.5, 0.9),
        TimedWord(" iPhone", 3.5, 4.0, 0.9),
    ]
    segments = segment_words(words, StreamConfig())
    assert [s.text for s in segments] == ["Good morning. Let's start.", "First, the iPhone"]
    assert segments[0].words[2].text == " Let's"


class _FinalPassEngine(FakeEngine):
    """Streaming decodes hear every word; the final decode spells them in upper case, or (with
    ``lose_words``) hears only the first word of the utterance."""

    def __init__(self, *, lose_words: bool = False) -> None:
        super().__init__()
        self.lose_words = lose_words
        self.final_calls = 0

    def transcribe(
        self,
        audio: AudioArray,
        *,
        prompt: str = "",
        language: str | None = None,
        final: bool = False,
    ) -> list[Word]:
        words = super().transcribe(audio, prompt=prompt, language=language)
        if not final:
            return words
        self.final_calls += 1
        if self.lose_words:
            return words[:1]
        return [replace(w, text=w.text.upper()) for w in words]


def _run(engine: FakeEngine, pcm: bytes, config: StreamConfig) -> tuple[list[str], list[str]]:
    """Final segment texts, and every interim text shown on the way."""
    session = StreamSession(engine, config)
    finals, interims = [], []
    for offset in range(0, len(pcm), FRAME):
        session.feed(pcm[offset : offset + FRAME])
        result = session.step()
        finals += [s.text for s in result.finals]
        if result.interim is not None:
            interims.append(result.interim.text)
    finals += [s.text for s in session.finish().finals]
    return finals, interims


def test_final_segments_come_from_the_final_decode_of_each_utterance() -> None:
    sentences = ([1, 2, 3, 4, 5, 6], [7, 8, 9, 10])
    engine = _FinalPassEngine()
    finals, interims = _run(engine, sentences_pcm(*sentences, pause_s=1.0), CONFIG)
    assert engine.final_calls == 2  # one per utterance
    assert [w.rstrip(".") for t in finals for w in t.split()] == [
        w.upper() for w in words_of(*sentences)
    ]
    # while each utterance lasted, its streamed words were shown as interim text
    assert any("word0003" in text for text in interims)


def test_a_final_decode_that_loses_words_keeps_the_streamed_ones() -> None:
    sentences = ([11, 12, 13, 14, 15, 16],)
    engine = _FinalPassEngine(lose_words=True)
    finals, _ = _run(engine, sentences_pcm(*sentences, pause_s=1.0), CONFIG)
    assert engine.final_calls == 1
    assert [w.rstrip(".").lower() for t in finals for w in t.split()] == words_of(*sentences)


def test_one_pass_streams_the_agreed_words_as_finals() -> None:
    sentences = ([1, 2, 3, 4, 5, 6],)
    engine = _FinalPassEngine()
    finals, _ = _run(engine, sentences_pcm(*sentences), replace(CONFIG, two_pass=False))
    assert engine.final_calls == 0
    assert [w.rstrip(".").lower() for t in finals for w in t.split()] == words_of(*sentences)


def test_a_busy_engine_skips_interim_decodes_but_not_final_segments() -> None:
    sentences = ([1, 2, 3, 4, 5, 6], [7, 8, 9])
    pcm = sentences_pcm(*sentences, pause_s=1.0)
    engine = _FinalPassEngine()
    session = StreamSession(engine, CONFIG)
    finals = []
    for offset in range(0, len(pcm), FRAME):
        session.feed(pcm[offset : offset + FRAME])
        result = session.step(decode_interim=False)
        assert result.interim is None or not result.interim.text
        finals += [s.text for s in result.finals]
    finals += [s.text for s in session.finish().finals]
    assert session.decodes == engine.final_calls == 2
    assert [w.rstrip(".") for t in finals for w in t.split()] == [
        w.upper() for w in words_of(*sentences)
    ]


def test_long_speech_is_final_decoded_in_parts() -> None:
    """Past ``max_buffer_s`` without a pause, the confirmed words are decoded once more up to a
    cut after them: every stored word comes from a final decode, each exactly once."""
    numbers = [n % 100 for n in range(60)]  # ~42 s of words 0.3 s apart, no pause
    config = replace(CONFIG, max_buffer_s=8.0, max_segment_s=6.0)
    engine = _FinalPassEngine()
    engine.sentence_gap_s = None
    finals, _ = _run(engine, sentences_pcm(numbers), config)
    assert engine.final_calls >= 4  # the cuts, then the end of the stream
    assert [w.rstrip(".") for t in finals for w in t.split()] == [
        w.upper() for w in words_of(numbers)
    ]


def test_stored_words_are_the_words_of_the_text() -> None:
    """Whisper splits some words in pieces (" cold" "-hearted"): stored, they are one word, so
    a segment's words match its text's words one for one."""
    pieces = [
        TimedWord(" A", 0.0, 0.2, 0.9),
        TimedWord(" cold", 0.2, 0.5, 0.8),
        TimedWord("-hearted", 0.5, 0.9, 0.6),
        TimedWord(" man.", 0.9, 1.2, 0.9),
    ]
    (segment,) = segment_words(pieces, StreamConfig())
    stored = to_new_segment(segment, 0)
    assert [w["text"] for w in stored.words] == stored.text.split() == ["A", "cold-hearted", "man."]
    assert stored.words[1] == {
        "text": "cold-hearted",
        "start_ms": 200,
        "end_ms": 900,
        "probability": 0.6,
    }


def _stepped(
    pcm: bytes, config: StreamConfig, *, defer: bool, seed: int
) -> tuple[list[tuple[int, object]], int]:
    """Frames of uneven sizes stepped one at a time (as the recorder does between decodes),
    with the busy flag and the pacer's step varying; what each frame's step gave, and how many
    steps were deferred (``defer``: as the recorder, a step ``may_work`` rules out is put off)."""
    rng = random.Random(seed)
    session = StreamSession(_FinalPassEngine(), config)
    events: list[tuple[int, object]] = []
    deferred = 0
    offset = index = 0
    while offset < len(pcm):
        size = rng.choice([FRAME, FRAME, FRAME, 1601, 3 * FRAME, 0])
        session.feed(pcm[offset : offset + size])
        offset += size
        index += 1
        busy = rng.random() < 0.2
        step_s = rng.choice([None, 0.5, 0.8, 2.0])
        if defer and not session.may_work(decode_interim=not busy, step_s=step_s):
            session.defer(decode_interim=not busy, step_s=step_s)
            deferred += 1
            continue
        result = session.step(decode_interim=not busy, step_s=step_s)
        events += _events(index, result)
    events += _events(index + 1, session.finish())
    return events, deferred


def _events(index: int, result: StepResult) -> list[tuple[int, object]]:
    events: list[tuple[int, object]] = [
        (index, (s.text, s.start, s.end, s.words)) for s in result.finals
    ]
    if result.interim_changed:
        events.append((index, result.interim))
    if result.decoded:
        events.append((index, "decoded"))
    return events


def test_deferred_steps_change_nothing_a_stream_produces() -> None:
    """A step that ``may_work`` rules out, deferred, would have decoded nothing and ended no
    utterance: every final, interim and decode comes at the same frame as with every step run,
    over pauses just at and past the pause that ends an utterance, long speech cut in parts,
    odd frame sizes, a busy engine and a changing step."""
    pcm = b"".join(
        sentences_pcm(*sentences, pause_s=pause)
        for sentences, pause in [
            (([1, 2, 3, 4, 5, 6], [7, 8, 9]), 0.5),
            (([10, 11], [12, 13, 14, 15]), 0.6),
            (([n % 100 for n in range(40)],), 1.2),  # past max_buffer_s: cut in parts
            (([16], [17, 18, 19]), 2.5),
        ]
    )
    pcm += b"\x00\x00" * 16000 * 3  # trailing silence
    config = replace(CONFIG, max_buffer_s=8.0, max_segment_s=6.0)
    for seed in range(3):
        every, none_deferred = _stepped(pcm, config, defer=False, seed=seed)
        some, deferred = _stepped(pcm, config, defer=True, seed=seed)
        assert none_deferred == 0
        assert some == every
        steps = sum(1 for _ in range(0, len(pcm), FRAME))
        assert deferred > steps / 2  # most frames need no step of their own
        assert sum(1 for _, e in every if isinstance(e, tuple)) >= 6
