"""Make the voice-encoder reference embeddings in tests/data/voice/ with the real resemblyzer.

Not run by the tests, and not runnable in Mina's environment: it needs the reference stack
(resemblyzer 0.1.4 with torch, librosa and webrtcvad) in a scratch virtual environment, e.g.

    uv venv /tmp/rzref
    uv pip install --python /tmp/rzref/bin/python torch==2.15.0 resemblyzer==0.1.4 \
        librosa==0.11.0 webrtcvad==2.0.10 "setuptools<81"
    /tmp/rzref/bin/python scripts/voice_reference.py

(webrtcvad imports pkg_resources, which setuptools 81 dropped.) Inputs are the clips in
tests/data/speech, read as 16-bit PCM / 32768 like ``mina.audio.pcm16_to_float32``, with
resemblyzer's ``normalize_volume`` (-30 dBFS, increase only) and no VAD trimming, so that Mina's
encoder sees exactly the same samples.
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import librosa
import numpy as np
import resemblyzer
import torch
from resemblyzer import VoiceEncoder, normalize_volume, wav_to_mel_spectrogram

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech"
OUT = ROOT / "tests" / "data" / "voice" / "reference.npz"
JFK = "jfk"
CLIPS = [
    JFK,
    "sense_and_sensibility_01_austen_64kb-0870",
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
    "sense_and_sensibility_01_austen_64kb-0920",
    "sense_and_sensibility_01_austen_64kb-0930",
]
# Windows (clip, start sample, end sample) of one call each: the whole clip is normalised once,
# then each window's own samples give its mel frames and one partial embedding.
WINDOWS = [
    (JFK, 0, 24_000),
    (JFK, 12_000, 36_000),
    (JFK, 80_000, 104_000),
    (JFK, 50_000, 66_000),  # 1.0 s: a second window length in the same call
    ("sense_and_sensibility_01_austen_64kb-0870", 0, 24_000),
    ("sense_and_sensibility_01_austen_64kb-0870", 40_000, 64_000),
    ("sense_and_sensibility_01_austen_64kb-0920", 16_000, 40_000),
]
SHORT_SAMPLES = 8_000  # a 0.5 s utterance: shorter than one 1.6 s partial


def _read(name: str) -> np.ndarray:
    with wave.open(str(SPEECH / f"{name}.wav"), "rb") as handle:
        assert handle.getframerate() == 16_000 and handle.getnchannels() == 1
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / np.float32(32768.0)


def _normalised(wav: np.ndarray) -> np.ndarray:
    return normalize_volume(wav, -30, increase_only=True).astype(np.float32)


def main() -> int:
    torch.manual_seed(0)
    encoder = VoiceEncoder("cpu", verbose=False)
    clips = {name: _read(name) for name in CLIPS}

    names = [*CLIPS, f"{JFK}[:{SHORT_SAMPLES}]"]
    inputs = [
        *(_normalised(clips[name]) for name in CLIPS),
        _normalised(clips[JFK][:SHORT_SAMPLES]),
    ]
    utterances = np.stack([encoder.embed_utterance(wav) for wav in inputs]).astype(np.float32)

    mels = []
    for name, start, end in WINDOWS:
        mels.append(wav_to_mel_spectrogram(_normalised(clips[name])[start:end]))
    with torch.no_grad():
        windows = np.concatenate(
            [encoder(torch.from_numpy(mel[None])).numpy() for mel in mels]
        ).astype(np.float32)

    np.savez_compressed(
        OUT,
        utterance_names=np.array(names),
        utterances=utterances,
        window_clips=np.array([name for name, _, _ in WINDOWS]),
        window_bounds=np.array([(start, end) for _, start, end in WINDOWS], dtype=np.int64),
        windows=windows,
        first_window_mel=mels[0].astype(np.float32),
    )
    versions = (
        f"resemblyzer {getattr(resemblyzer, '__version__', '0.1.4')}, torch {torch.__version__}, "
        f"librosa {librosa.__version__}, numpy {np.__version__}"
    )
    sys.stdout.write(
        f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes) with {versions}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
