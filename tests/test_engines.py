"""Speech engines: the registry, the fake engine, model integrity, and real tiny.en accuracy."""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mina.audio import decode_file
from mina.engines import (
    EngineError,
    ModelIntegrityError,
    ModelUnavailableError,
    SpeechEngine,
    TranscribeOptions,
    UnknownEngineError,
    Word,
    available_engines,
    clear_engine_cache,
    get_engine,
    join_words,
    load_engine,
)
from mina.engines.fake import FakeEngine, synthesize_words
from mina.engines.whisper import (
    TINY_EN_SHA256,
    ModelSpec,
    WhisperEngine,
    drop_packed_words,
    drop_stutters,
    drop_unheard_ending,
    resolve_model,
    tiny_en_model_dir,
    transcribe_file,
    verify_model_dir,
)
from tests.speechdata import Clip, get_clip, load_clips, word_error_rate

RATE = 16000


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    clear_engine_cache()
    yield
    clear_engine_cache()


# Registry


def test_builtin_engines_are_available() -> None:
    assert {"whisper", "fake"} <= set(available_engines())


def test_unknown_engine_names_the_choices() -> None:
    with pytest.raises(UnknownEngineError) as caught:
        get_engine("no-such-engine")
    message = str(caught.value)
    assert "no-such-engine" in message
    assert "whisper" in message and "fake" in message
    assert isinstance(caught.value, LookupError)


def test_load_engine_keeps_one_instance_per_options(fresh_cache: None) -> None:
    first = load_engine("fake", model="a")
    assert load_engine("fake", model="a") is first
    assert load_engine("fake", model="b") is not first
    clear_engine_cache()
    assert load_engine("fake", model="a") is not first


def test_load_engine_refuses_unhashable_options(fresh_cache: None) -> None:
    with pytest.raises(TypeError, match="hashable"):
        load_engine("fake", model=["not", "hashable"])


def _install_plugin(root: Path, entry: str, module: str, source: str) -> None:
    """A real installed distribution (dist-info on sys.path) declaring a mina.engines entry."""
    dist = root / "mina_demo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mina-demo-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(f"[mina.engines]\n{entry}\n", encoding="utf-8")
    (root / f"{module}.py").write_text(source, encoding="utf-8")


PLUGIN_SOURCE = """
from mina.engines.base import Word


class EchoEngine:
    name = "echo"
    sample_rate = 16000

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def transcribe(self, audio, *, prompt="", language=None):
        return [Word(" " + prompt, 0.0, len(audio) / 16000, 1.0)]


def create_engine(*, model="echo-1", **_options):
    return EchoEngine(model)
"""


def test_entry_point_engines_are_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    entry = "echo = mina_demo_echo:create_engine"
    _install_plugin(tmp_path, entry, "mina_demo_echo", PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "echo" in available_engines()
    engine = load_engine("echo", model="echo-2")
    assert isinstance(engine, SpeechEngine)
    assert engine.model_name == "echo-2"
    words = engine.transcribe(np.zeros(RATE, np.float32), prompt="hi")
    assert words == [Word(" hi", 0.0, 1.0, 1.0)]


def test_entry_points_cannot_replace_builtins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _install_plugin(tmp_path, "fake = mina_demo_shadow:create_engine", "mina_demo_shadow", "")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="mina.engines.registry"):
        engine = get_engine("fake")
    assert isinstance(engine, FakeEngine)
    assert "built in" in caplog.text


def test_broken_entry_point_gives_engine_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, "broken = mina_demo_missing_module:create", "unrelated", "")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(EngineError, match="broken"):
        get_engine("broken")


# Fake engine


def test_fake_engine_reads_synthesized_words() -> None:
    engine = get_engine("fake")
    audio = synthesize_words([3, 7, 12, 0, 99], tail_s=1.0)
    words = engine.transcribe(audio)
    texts = [w.text for w in words]
    assert texts == [" word0003", " word0007", " word0012", " word0000", " word0099."]
    for index, word in enumerate(words):
        assert word.start == pytest.approx(0.3 + index * 0.7, abs=0.015)
        assert word.end == pytest.approx(0.7 + index * 0.7, abs=0.015)
    assert join_words(words) == "word0003 word0007 word0012 word0000 word0099."
    # A full stop needs 0.6 s of quiet after the word, inside the buffer.
    assert engine.transcribe(audio[: -round(0.5 * RATE)])[-1].text == " word0099"


def test_fake_engine_hears_nothing_in_silence_and_faint_noise() -> None:
    engine = FakeEngine()
    noise = np.random.default_rng(1).standard_normal(5 * RATE).astype(np.float32) * 0.005
    assert engine.transcribe(np.zeros(5 * RATE, np.float32)) == []
    assert engine.transcribe(noise) == []
    assert engine.transcribe(np.zeros(0, np.float32)) == []
    assert engine.calls == 3


def test_fake_engine_is_deterministic_on_real_speech() -> None:
    audio = decode_file(get_clip("jfk").wav)
    first = FakeEngine().transcribe(audio)
    assert first, "speech should give words"
    assert FakeEngine().transcribe(audio.copy()) == first


def test_fake_engine_agrees_with_itself_on_overlapping_buffers() -> None:
    """Words inside any window come out as the same words at the same absolute times."""
    audio = synthesize_words(list(range(20, 32)), word_s=0.35, gap_s=0.25)
    engine = FakeEngine()
    reference = engine.transcribe(audio)
    for start_s, end_s in [(0.0, 3.0), (1.37, 4.9), (2.013, 6.666), (3.3, 7.7)]:
        start, end = round(start_s * RATE), round(end_s * RATE)
        words = engine.transcribe(audio[start:end])
        inside = [w for w in reference if w.start >= start_s + 0.02 and w.end <= end_s - 0.62]
        shifted = [(w.text, w.start + start / RATE, w.end + start / RATE) for w in words]
        for expected in inside:
            assert any(
                text == expected.text
                and abs(s - expected.start) <= 0.011
                and abs(e - expected.end) <= 0.011
                for text, s, e in shifted
            ), (expected, shifted)


def test_fake_engine_hears_a_cut_word_as_the_same_word() -> None:
    audio = synthesize_words([42, 43], word_s=0.5, gap_s=0.3, lead_s=0.2)
    cut = audio[: round((0.2 + 0.5 + 0.3 + 0.2) * RATE)]  # second word 0.2 s in
    words = FakeEngine().transcribe(cut)
    assert [w.text for w in words] == [" word0042", " word0043"]
    assert words[1].end == pytest.approx(1.2, abs=0.011)


def test_fake_engine_checks_its_input() -> None:
    with pytest.raises(ValueError, match="1-D"):
        FakeEngine().transcribe(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="Nyquist"):
        synthesize_words([150])


def test_fake_engine_accepts_the_settings_options(fresh_cache: None, tmp_path: Path) -> None:
    engine = load_engine("fake", model="tiny.en", data_dir=tmp_path)
    assert isinstance(engine, SpeechEngine)
    assert (engine.name, engine.model_name, engine.sample_rate) == ("fake", "tiny.en", RATE)


# Model integrity


def _corrupt_copy(tmp_path: Path) -> Path:
    """The tiny.en folder's small files beside a garbage model.bin."""
    source = tiny_en_model_dir()
    copy = tmp_path / "tiny.en"
    copy.mkdir()
    for item in source.iterdir():
        if item.name != "model.bin":
            shutil.copyfile(item, copy / item.name)
    (copy / "model.bin").write_bytes(b"not a model" * 1000)
    return copy


def test_installed_tiny_en_matches_the_pinned_digest() -> None:
    verify_model_dir(tiny_en_model_dir(), TINY_EN_SHA256)


def test_corrupted_model_is_refused_before_loading(tmp_path: Path) -> None:
    copy = _corrupt_copy(tmp_path)
    actual = hashlib.sha256((copy / "model.bin").read_bytes()).hexdigest()
    with pytest.raises(ModelIntegrityError) as caught:
        WhisperEngine(ModelSpec("tiny.en", copy, TINY_EN_SHA256))
    message = str(caught.value)
    assert str(copy / "model.bin") in message
    assert TINY_EN_SHA256 in message and actual in message
    assert caught.value.actual == actual


def test_verification_is_redone_when_the_file_changes(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"good weights")
    good = hashlib.sha256(b"good weights").hexdigest()
    verify_model_dir(folder, good)
    verify_model_dir(folder, good)  # cached
    (folder / "model.bin").write_bytes(b"evil weights")
    with pytest.raises(ModelIntegrityError):
        verify_model_dir(folder, good)


def test_missing_model_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="missing"):
        verify_model_dir(tmp_path, TINY_EN_SHA256)


def test_unknown_model_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"tiny\.en.*base"):
        resolve_model("large-v9", data_dir=tmp_path)


def test_token_cap_must_fit_whisper_context() -> None:
    spec = ModelSpec("tiny.en", tiny_en_model_dir(), TINY_EN_SHA256)
    with pytest.raises(ValueError, match="max_new_tokens"):
        WhisperEngine(spec, options=TranscribeOptions(max_new_tokens=400))


# The real tiny.en model

WER_BOUNDS = {  # measured with tiny.en int8, beam 1: 0.0, 0.0, 0.25
    "jfk": 0.1,
    "sense_and_sensibility_01_austen_64kb-0870": 0.1,
    "sense_and_sensibility_01_austen_64kb-0880": 0.35,
}


@pytest.fixture(scope="module")
def whisper() -> WhisperEngine:
    engine = load_engine("whisper", model="tiny.en")
    assert isinstance(engine, WhisperEngine)
    return engine


@pytest.mark.slow
@pytest.mark.parametrize("clip", load_clips("tuning"), ids=lambda clip: clip.name[-4:])
def test_tiny_en_transcribes_speech(whisper: WhisperEngine, clip: Clip) -> None:
    audio = decode_file(clip.wav)
    words = whisper.transcribe(audio)
    assert word_error_rate(clip.reference, join_words(words)) <= WER_BOUNDS[clip.name]
    duration = audio.size / RATE
    # Words carry their leading space, except pieces that continue a word ("old" "-sposed").
    assert all(w.text.startswith((" ", "-")) and w.text.strip() for w in words)
    assert all(0.0 <= w.start <= w.end <= duration + 0.05 for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    assert all(0.0 <= w.probability <= 1.0 for w in words)


@pytest.mark.slow
def test_tiny_en_words_carry_punctuation_and_true_times(whisper: WhisperEngine) -> None:
    audio = decode_file(get_clip("sense_and_sensibility_01_austen_64kb-0870").wav)
    padded = np.concatenate([np.zeros(2 * RATE, np.float32), audio])
    words = whisper.transcribe(padded)
    assert words[-1].text == " them."
    assert any(w.text == " Mr." for w in words)
    assert 1.8 <= words[0].start <= 2.6  # the speech starts after 2 s of silence


@pytest.mark.slow
def test_tiny_en_hears_nothing_in_silence(whisper: WhisperEngine) -> None:
    quiet = np.random.default_rng(0).standard_normal(5 * RATE).astype(np.float32) * 0.001
    assert whisper.transcribe(np.zeros(5 * RATE, np.float32)) == []
    assert whisper.transcribe(quiet) == []  # Whisper's " ." non-words are dropped
    assert whisper.transcribe(np.zeros(800, np.float32)) == []


@pytest.mark.slow
def test_tiny_en_accepts_a_prompt_longer_than_its_context(whisper: WhisperEngine) -> None:
    clip = get_clip("jfk")
    audio = decode_file(clip.wav)
    earlier = " ".join(c.reference.capitalize() + "." for c in load_clips("evaluation"))
    words = whisper.transcribe(audio, prompt=earlier * 20)
    assert word_error_rate(clip.reference, join_words(words)) <= 0.15


@pytest.mark.slow
def test_tiny_en_drops_a_hallucinated_repeat_loop(whisper: WhisperEngine) -> None:
    # A repetitive prompt makes tiny.en loop ("The meeting began." over and over) instead of
    # transcribing; one pass cannot retry, so the loop must be cut, not returned.
    audio = decode_file(get_clip("jfk").wav)
    text = join_words(whisper.transcribe(audio, prompt="The meeting began. " * 300))
    assert text.count("meeting began") <= 1


@pytest.mark.slow
def test_tiny_en_serves_concurrent_calls(whisper: WhisperEngine) -> None:
    clips = [decode_file(get_clip(name).wav) for name in WER_BOUNDS]
    alone = [whisper.transcribe(audio) for audio in clips]
    together: dict[int, list[Word]] = {}

    def run(index: int) -> None:
        together[index] = whisper.transcribe(clips[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clips))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [together[i] for i in range(len(clips))] == alone


@pytest.mark.slow
def test_transcribe_file_yields_segments_with_words(whisper: WhisperEngine) -> None:
    clip = get_clip("jfk")
    segments = list(transcribe_file(clip.wav))
    assert segments
    text = " ".join(s.text for s in segments)
    assert word_error_rate(clip.reference, text) <= 0.1
    for segment in segments:
        assert segment.words
        assert join_words(segment.words) == segment.text
        assert segment.start == segment.words[0].start and segment.end == segment.words[-1].end
        assert 0.0 < segment.avg_probability <= 1.0
    assert "," in text  # beam search with punctuation: "And so, my fellow Americans"


@pytest.mark.slow
def test_streaming_decodes_encode_the_buffer_not_a_whole_window(
    whisper: WhisperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streaming decode of 3 s encodes those 3 s and the margin after them; a final decode
    (the words that are stored) a longer margin, or Whisper's whole 30 s window when it has
    none."""
    from faster_whisper import WhisperModel

    frames: list[int] = []
    encode = WhisperModel.encode

    def spy(self: WhisperModel, features: np.ndarray) -> object:
        frames.append(features.shape[-1])
        return encode(self, features)

    monkeypatch.setattr(WhisperModel, "encode", spy)
    clip = get_clip("jfk")
    audio = decode_file(clip.wav)[: 3 * RATE]
    margin = whisper.options.streaming_window_margin_s
    assert margin is not None
    # faster-whisper may encode a second window when the first decode ends at a timestamp before
    # the end of the audio (how often depends on the CPU's arithmetic): every window counts
    streamed = whisper.transcribe(audio)
    assert frames and set(frames) == {int(np.ceil((3 + margin) * 100))}
    frames.clear()
    final = whisper.transcribe(audio, final=True)
    final_margin = whisper.options.final_window_margin_s
    assert final_margin is not None and final_margin > margin
    assert frames and set(frames) == {int(np.ceil((3 + final_margin) * 100))}
    assert join_words(streamed).startswith("And so") and join_words(final).startswith("And so")
    monkeypatch.setattr(whisper, "options", replace(whisper.options, final_window_margin_s=None))
    frames.clear()
    whisper.transcribe(audio, final=True)
    assert frames and set(frames) == {3000}  # None: whole 30 s windows


def test_a_word_piece_whisper_loops_on_is_kept_once() -> None:
    pieces = [Word(" we", 0.0, 0.2, 0.9), Word(" need", 0.2, 0.4, 0.9), Word(" h", 0.4, 0.5, 0.3)]
    pieces += [Word("-a", 0.5 + i / 100, 0.51 + i / 100, 0.2) for i in range(30)]
    repeated = [Word(text, 1.0 + i / 5, 1.1 + i / 5, 0.9) for i, text in enumerate([" no,"] * 2)]
    repeated.append(Word(" no.", 1.4, 1.6, 0.9))
    kept = drop_stutters(pieces + repeated)
    assert [w.text for w in kept] == [" we", " need", " h", "-a", " no,", " no,", " no."]


def words_at(spec: list[tuple[str, float, float, float]]) -> list[Word]:
    return [Word(text, start, end, probability) for text, start, end, probability in spec]


def test_words_squeezed_into_no_time_are_dropped() -> None:
    # a greedy decode of jfk.wav that repeated its last sentence in the window's last 100 ms
    said = [" Ask", " what", " you", " can", " do", " for", " your", " country."]
    spoken = [Word(text, 0.3 * i, 0.3 * i + 0.25, 0.99) for i, text in enumerate(said)]
    invented = [Word(text, 2.44, 2.44 + 0.1 * (i == 7), 0.9) for i, text in enumerate(said)]
    assert drop_packed_words(spoken + invented) == spoken
    # fast speech and two short words at a window's edge are speech
    quick = words_at([(" in", 0.0, 0.08, 0.9), (" a", 0.08, 0.12, 0.9), (" bit", 0.12, 0.3, 0.9)])
    edge = words_at([(" for", 1.0, 1.2, 0.9), (" them.", 1.96, 1.98, 0.5), (" So", 1.98, 2.0, 0.2)])
    assert drop_packed_words(quick) == quick
    assert drop_packed_words(edge) == edge


def test_a_doubted_sign_off_after_the_speech_is_dropped() -> None:
    speech = words_at(
        [(" for", 0.0, 0.2, 0.9), (" your", 0.2, 0.5, 0.9), (" country.", 0.5, 0.7, 1)]
    )
    thanks = words_at([(" Thank", 0.7, 0.7, 0.03), (" you.", 0.7, 0.96, 0.98)])
    assert drop_unheard_ending(speech + thanks) == speech
    # said and heard: a confident last sentence, a long one, or a lone one stays
    heard = words_at([(" Thank", 0.9, 1.1, 0.8), (" you.", 1.1, 1.3, 0.98)])
    assert drop_unheard_ending(speech + heard) == speech + heard
    long = thanks + words_at([(" for", 1.0, 1.2, 0.9), (" coming", 1.2, 1.5, 0.9)])
    assert drop_unheard_ending(speech + long) == speech + long
    assert drop_unheard_ending(thanks) == thanks


def test_a_final_decode_drops_the_sign_off_whisper_invents_after_speech(
    whisper: WhisperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last 3.1 s of jfk.wav and 0.1 s of silence, with the prompt a live stream had: the
    final decode ends "... for your country. Thank you." ("Thank" at probability 0.03)."""
    clip = get_clip("jfk")
    audio = np.concatenate([decode_file(clip.wav)[int(7.896 * RATE) :], np.zeros(RATE // 10)])
    audio = audio.astype(np.float32)
    prompt = "And so am I fellow Americans. Ask not. Yeah. What your country can do for you."
    with monkeypatch.context() as patched:
        patched.setattr("mina.engines.whisper.drop_unheard_ending", lambda words: words)
        invented = join_words(whisper.transcribe(audio, prompt=prompt, final=True))
    assert invented.endswith("country. Thank you."), invented  # what the model does here
    text = join_words(whisper.transcribe(audio, prompt=prompt, final=True))
    assert text == invented.removesuffix(" Thank you."), text
