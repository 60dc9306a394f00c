"""Real voices: mixes of recorded speakers, and recorded meetings with their own annotation.

The recordings are in ``tests/data/speech`` and ``tests/data/speakers`` (see the README there
for sources and licences). Each single-speaker clip belongs to one split; a speaker with enough
speech has a clip on each side, so tuning and evaluation mixes share voices but never audio.
A mix is made of one speaker's utterances (cut at pauses, 2-8 s) after another's, at the same
level (then each up to 2 dB louder or quieter), with seeded pauses of 0.3-1 s, so its reference
turns are known exactly. There is little speech per speaker (5 to 15 s a split), so utterances
are reused (reshuffled) to reach a mix's length: each is heard about three times in a mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.der import SpeakerTurn
from bench.speakers.audio import SAMPLE_RATE, read_wav
from bench.speakers.item import Item, Split, Utterance, assemble, cut_utterances, take_turns
from tests.speechdata import SPLITS as SPEECH_SPLITS

DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"
SPEAKERS_DIR = DATA_DIR / "speakers"


@dataclass(frozen=True)
class Clip:
    """A stretch of one speaker's recorded speech: a file, or the span of one (seconds)."""

    path: Path
    speaker: str
    split: Split
    start_s: float = 0.0
    end_s: float | None = None


@dataclass(frozen=True)
class MixSpec:
    name: str
    split: Split
    speakers: tuple[str, ...]
    seconds: float
    seed: int
    note: str = ""


@dataclass(frozen=True)
class Conversation:
    """A recorded meeting excerpt and its RTTM annotation."""

    name: str
    split: Split
    note: str

    @property
    def wav(self) -> Path:
        return SPEAKERS_DIR / f"{self.name}.wav"

    @property
    def rttm(self) -> Path:
        return SPEAKERS_DIR / f"{self.name}.rttm"


def _librivox(number: str) -> Clip:
    name = f"sense_and_sensibility_01_austen_64kb-{number}"
    return Clip(DATA_DIR / "speech" / f"{name}.wav", "librivox", SPEECH_SPLITS[name])


CLIPS = (
    Clip(DATA_DIR / "speech" / "jfk.wav", "jfk", SPEECH_SPLITS["jfk"]),
    *(_librivox(n) for n in ("0870", "0880", "0890", "0920", "0930")),
    Clip(SPEAKERS_DIR / "ami_MEO069.wav", "ami-MEO069", "tuning", 0.0, 16.3),
    Clip(SPEAKERS_DIR / "ami_MEO069.wav", "ami-MEO069", "evaluation", 16.3),
    Clip(SPEAKERS_DIR / "ami_FEE078_a.wav", "ami-FEE078", "tuning"),
    Clip(SPEAKERS_DIR / "ami_FEE078_b.wav", "ami-FEE078", "evaluation"),
    Clip(SPEAKERS_DIR / "ami_FEE083_a.wav", "ami-FEE083", "tuning"),
    Clip(SPEAKERS_DIR / "ami_FEE083_b.wav", "ami-FEE083", "evaluation"),
    Clip(SPEAKERS_DIR / "ami_MEE068.wav", "ami-MEE068", "tuning"),
    Clip(SPEAKERS_DIR / "ami_MEE075.wav", "ami-MEE075", "evaluation"),
)

# AMI speaker ids begin with their gender (F/M); jfk is a man; the LibriVox reader is one voice.
MIXES = (
    MixSpec("mix2_jfk_FEE078", "tuning", ("jfk", "ami-FEE078"), 50, 21),
    MixSpec("mix2_jfk_MEO069", "tuning", ("jfk", "ami-MEO069"), 50, 22, "two men"),
    MixSpec(
        "mix3_librivox_FEE083_MEE068", "tuning", ("librivox", "ami-FEE083", "ami-MEE068"), 60, 23
    ),
    MixSpec(
        "mix4_jfk_FEE078_MEO069_FEE083",
        "tuning",
        ("jfk", "ami-FEE078", "ami-MEO069", "ami-FEE083"),
        75,
        24,
    ),
    MixSpec("mix2_librivox_FEE083", "evaluation", ("librivox", "ami-FEE083"), 50, 31),
    MixSpec("mix2_FEE078_FEE083", "evaluation", ("ami-FEE078", "ami-FEE083"), 50, 32, "two women"),
    MixSpec(
        "mix3_MEO069_FEE078_MEE075",
        "evaluation",
        ("ami-MEO069", "ami-FEE078", "ami-MEE075"),
        60,
        33,
    ),
    MixSpec(
        "mix4_librivox_FEE078_MEO069_MEE075",
        "evaluation",
        ("librivox", "ami-FEE078", "ami-MEO069", "ami-MEE075"),
        75,
        34,
    ),
)

CONVERSATIONS = (
    Conversation("ami_dev00", "tuning", "AMI meeting, two people (one mostly), some overlap"),
    Conversation("ami_dev01", "evaluation", "AMI meeting, two people, short exchanges"),
    Conversation("ami_tst00", "evaluation", "AMI meeting, four people, overlap most of the time"),
)


def read_clip(clip: Clip) -> list[Utterance]:
    """The clip cut into utterances."""
    pcm = read_wav(clip.path)
    first = int(round(clip.start_s * SAMPLE_RATE))
    last = len(pcm) if clip.end_s is None else int(round(clip.end_s * SAMPLE_RATE))
    return cut_utterances(clip.speaker, pcm[first:last])


def speaker_pools(split: Split | None = None) -> dict[str, list[Utterance]]:
    """Each recorded speaker's utterances in ``split`` (or in both)."""
    pools: dict[str, list[Utterance]] = {}
    for clip in CLIPS:
        if split is None or clip.split == split:
            pools.setdefault(clip.speaker, []).extend(read_clip(clip))
    return pools


def load_mixes() -> list[Item]:
    pools = {split: speaker_pools(split) for split in ("tuning", "evaluation")}
    items = []
    for spec in MIXES:
        chosen = {speaker: pools[spec.split][speaker] for speaker in spec.speakers}
        order = take_turns(chosen, seconds=spec.seconds, seed=spec.seed)
        items.append(
            assemble(
                spec.name, "mix", spec.split, order, seed=spec.seed, gain_db=2.0, note=spec.note
            )
        )
    return items


def read_rttm(path: Path) -> tuple[SpeakerTurn, ...]:
    """The SPEAKER lines of an RTTM file as turns, in time order."""
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, round(start + duration, 3), fields[7]))
    return tuple(sorted(turns, key=lambda t: (t.start_s, t.end_s, t.speaker)))


def load_conversations() -> list[Item]:
    return [
        Item(c.name, "real", c.split, read_wav(c.wav), read_rttm(c.rttm), c.note)
        for c in CONVERSATIONS
    ]
