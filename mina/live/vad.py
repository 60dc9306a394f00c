"""Streaming voice activity detection with the Silero VAD model that ships in faster-whisper.

faster-whisper runs Silero over a whole file at once; a live stream needs the same model fed
incrementally, so that each new frame costs one small inference and silence costs nothing else.
The model sees 512-sample windows (32 ms at 16 kHz) with 64 samples of context, and carries its
recurrent state across calls, exactly as faster-whisper's batched call does between batches.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

WINDOW = 512
CONTEXT = 64
SAMPLE_RATE = 16000


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    import onnxruntime
    from faster_whisper.utils import get_assets_path

    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 4
    path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
    return onnxruntime.InferenceSession(
        path, providers=["CPUExecutionProvider"], sess_options=options
    )


_load_lock = threading.Lock()


def load_vad_model() -> Any:
    """The shared ONNX session (thread-safe to run; loaded once per process)."""
    with _load_lock:
        return _session()


class _Windowed:
    """Cuts a stream fed in pieces of any size into whole 512-sample windows."""

    _pending: npt.NDArray[np.float32]

    def _windows(self, audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        pending = np.concatenate([self._pending, audio]) if self._pending.size else audio
        count = pending.size // WINDOW
        self._pending = pending[count * WINDOW :].copy()
        return pending[: count * WINDOW].reshape(count, WINDOW)


class StreamingVad(_Windowed):
    """Speech probability for each 32 ms window of a stream, fed in pieces of any size.

    ``feed()`` returns the probabilities of the windows it completed. The stream position is
    counted in samples from the start of the stream (``samples_done``).
    """

    def __init__(self) -> None:
        self._session = load_vad_model()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.samples_done = 0

    def feed(self, audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        windows = self._windows(audio)
        count = len(windows)
        if count == 0:
            return np.zeros(0, dtype=np.float32)
        contexts = np.empty((count, CONTEXT), dtype=np.float32)
        contexts[0] = self._context
        if count > 1:
            contexts[1:] = windows[:-1, -CONTEXT:]
        self._context = windows[-1, -CONTEXT:].copy()
        batch = np.concatenate([contexts, windows], axis=1)
        output, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self.samples_done += count * WINDOW
        return np.asarray(output, dtype=np.float32).reshape(-1)


class EnergyVad(_Windowed):
    """A loudness gate with StreamingVad's interface: probability 1.0 for a 32 ms window whose
    RMS exceeds ``threshold``, else 0.0. For test signals (tones) and very small machines."""

    def __init__(self, threshold: float = 0.01) -> None:
        self.threshold = threshold
        self._pending = np.zeros(0, dtype=np.float32)
        self.samples_done = 0

    def feed(self, audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        windows = self._windows(audio).astype(np.float64)
        count = len(windows)
        if count == 0:
            return np.zeros(0, dtype=np.float32)
        rms = np.sqrt(np.mean(windows * windows, axis=1))
        self.samples_done += count * WINDOW
        voiced: npt.NDArray[np.float32] = (rms > self.threshold).astype(np.float32)
        return voiced


VAD_KINDS = ("silero", "energy")


def create_vad(kind: str) -> StreamingVad | EnergyVad:
    if kind == "silero":
        return StreamingVad()
    if kind == "energy":
        return EnergyVad()
    raise ValueError(f"unknown VAD {kind!r}; use one of {', '.join(VAD_KINDS)}")
