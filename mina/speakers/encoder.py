"""Voice embeddings (d-vectors): resemblyzer's pretrained voice encoder, run with numpy alone.

The weights are ``pretrained.pt`` from the resemblyzer 0.1.4 wheel (Apache-2.0), installed
without its dependencies (``requirements-weights.lock``): resemblyzer itself is never imported,
since it imports torch. The file is a legacy-format torch checkpoint (a run of pickles followed
by raw storage bytes, not the newer zip format); ``read_model_state`` reads it with an unpickler
that knows only float tensors, after its SHA-256 has been checked against ``WEIGHTS_SHA256``.

The network and its front end are resemblyzer's, reproduced step by step:

- volume normalised to -30 dBFS, only ever raised (``normalize_volume``);
- a power mel spectrogram as librosa 0.11 computes it: 25 ms periodic Hann window (400
  samples), 10 ms hop, centred frames with zero padding, Slaney mel filterbank, 40 bands, not
  logged;
- three LSTM layers (40 -> 256 -> 256 -> 256) over the frames, then the last layer's final
  hidden state through a linear 256 -> 256 projection, ReLU and L2 normalisation.

resemblyzer's ``preprocess_wav`` also cuts silences out with webrtcvad; this encoder does not:
Mina finds speech itself (Silero) and hands over audio already cut to it.

Everything is float32. The LSTM runs time step by time step with many windows side by side,
its input projections for all steps computed at once, so a meeting's windows cost a few
matrix products per step rather than one small one per window. Those products are small
(64 x 256 by 256 x 1024), and numpy's OpenBLAS splits each across every core: on a busy 2-core
machine two BLAS threads took 4 to 8 times the CPU time of one, and longer on the clock too,
so the encoder runs BLAS on one thread while it computes (``threadpoolctl``). A ``VoiceEncoder``
is immutable: one instance may serve several threads.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import logging
import math
import pickle
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from mina.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

WEIGHTS_PACKAGE = "resemblyzer"
WEIGHTS_FILE = "pretrained.pt"
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
INSTALL_HINT = "run `make install` (it installs requirements-weights.lock)"

EMBEDDING_SIZE = 256
HIDDEN_SIZE = 256
MEL_BANDS = 40
N_FFT = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms
TARGET_DBFS = -30.0
# embed_utterance: partials of 160 frames (1.6 s), 1.3 per second, the last one kept when it
# covers at least 75% of its frames (resemblyzer's defaults)
PARTIAL_FRAMES = 160
PARTIAL_RATE = 1.3
MIN_COVERAGE = 0.75
# Windows run through the LSTM this many at a time: wide enough for the per-step matrix
# products to be efficient, small enough that the input projections of a batch (frames x
# batch x 1024 floats: 40 MB for 1.5 s windows) stay modest.
BATCH = 64
_BATCH_SAMPLES = BATCH * 24_000  # windows longer than 1.5 s go fewer at a time

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class VoiceWeightsError(Exception):
    """The voice encoder's weights cannot be used."""


class VoiceWeightsUnavailableError(VoiceWeightsError):
    """The weights file is not installed."""


class VoiceWeightsIntegrityError(VoiceWeightsError):
    """The weights file's SHA-256 digest differs from the pinned one."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"voice encoder weights {path} failed their integrity check: expected SHA-256 "
            f"{expected}, got {actual}; reinstall them: {INSTALL_HINT}"
        )


def default_weights_path() -> Path:
    """``pretrained.pt`` in the installed resemblyzer package, found without importing it."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise VoiceWeightsUnavailableError(
            f"the voice encoder needs the weights of the package {WEIGHTS_PACKAGE}==0.1.4, "
            f"which is not installed: {INSTALL_HINT}"
        )
    return Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILE


# -- reading the checkpoint ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _StorageType:
    dtype: np.dtype[Any]


@dataclass(slots=True)
class _Storage:
    key: str
    dtype: np.dtype[Any]
    numel: int
    data: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(
    storage: object,
    offset: object,
    size: object,
    stride: object,
    requires_grad: object = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> _Tensor:
    """Stands in for ``torch._utils._rebuild_tensor_v2``: notes where a tensor's values lie."""
    if not (
        isinstance(storage, _Storage)
        and isinstance(offset, int)
        and isinstance(size, tuple)
        and isinstance(stride, tuple)
        and all(isinstance(n, int) and n >= 0 for n in (*size, *stride))
        and len(size) == len(stride)
    ):
        raise pickle.UnpicklingError("malformed tensor in checkpoint")
    return _Tensor(storage, offset, size, stride)


# The only globals a checkpoint of float tensors names; anything else is refused unexecuted.
_ALLOWED: dict[tuple[str, str], object] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch", "FloatStorage"): _StorageType(np.dtype("<f4")),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds plain data, ordered dicts and float tensor stand-ins only."""

    def __init__(self, stream: io.BytesIO) -> None:
        super().__init__(stream)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(
                f"refused {module}.{name}: a voice encoder checkpoint may only hold float tensors"
            )
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id in checkpoint: {pid!r}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str):
            raise pickle.UnpicklingError("malformed storage in checkpoint")
        if view is not None or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError("unsupported storage view in checkpoint")
        storage = self.storages.setdefault(key, _Storage(key, storage_type.dtype, numel))
        if storage.dtype != storage_type.dtype or storage.numel != numel:
            raise pickle.UnpicklingError(f"storage {key} is declared twice, differently")
        return storage


def read_model_state(data: bytes) -> dict[str, FloatArray]:
    """The ``model_state`` tensors of a legacy-format torch checkpoint, as float32 arrays.

    Every pickle in it goes through ``_RestrictedUnpickler``: a checkpoint naming any global
    but an ordered dict, a float storage or the tensor rebuild function raises
    ``pickle.UnpicklingError`` before anything it names is called.
    """
    if data[:2] == b"PK":
        raise VoiceWeightsError("a zip-format torch checkpoint; only the legacy format is read")
    stream = io.BytesIO(data)
    if _RestrictedUnpickler(stream).load() != _LEGACY_MAGIC:
        raise VoiceWeightsError("not a legacy-format torch checkpoint (wrong magic number)")
    if _RestrictedUnpickler(stream).load() != _LEGACY_PROTOCOL:
        raise VoiceWeightsError("unsupported torch checkpoint protocol version")
    sys_info = _RestrictedUnpickler(stream).load()
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
        raise VoiceWeightsError("only little-endian torch checkpoints are read")
    unpickler = _RestrictedUnpickler(stream)
    checkpoint = unpickler.load()
    keys = _RestrictedUnpickler(stream).load()
    if not (isinstance(keys, list) and set(keys) == set(unpickler.storages)):
        raise VoiceWeightsError("checkpoint storage list does not match its tensors")

    # Then each storage in turn: its element count (int64), then its raw little-endian values.
    position = stream.tell()
    for key in keys:
        storage = unpickler.storages[key]
        numel = int.from_bytes(data[position : position + 8], "little", signed=True)
        position += 8
        end = position + numel * storage.dtype.itemsize
        if numel != storage.numel or end > len(data):
            raise VoiceWeightsError(f"checkpoint storage {key} is truncated or mis-sized")
        storage.data = np.frombuffer(data, dtype=storage.dtype, count=numel, offset=position)
        position = end
    if position != len(data):
        raise VoiceWeightsError("checkpoint has trailing bytes after its storages")

    state = checkpoint.get("model_state") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise VoiceWeightsError("checkpoint has no model_state")
    return {name: _tensor_array(name, tensor) for name, tensor in state.items()}


def _tensor_array(name: str, tensor: object) -> FloatArray:
    if not isinstance(tensor, _Tensor) or tensor.storage.data is None:
        raise VoiceWeightsError(f"model_state entry {name} is not a tensor")
    count = math.prod(tensor.size)
    contiguous = tuple(math.prod(tensor.size[i + 1 :]) for i in range(len(tensor.size)))
    if count and tensor.stride != contiguous:
        raise VoiceWeightsError(f"tensor {name} is not contiguous")
    if tensor.offset + count > tensor.storage.numel:
        raise VoiceWeightsError(f"tensor {name} lies outside its storage")
    values = tensor.storage.data[tensor.offset : tensor.offset + count]
    return values.reshape(tensor.size).astype(np.float32)


# -- front end --------------------------------------------------------------------------------


def volume_gain(audio: FloatArray) -> np.float32:
    """The factor that brings ``audio`` to -30 dBFS, or 1 when it is louder or silent.

    resemblyzer's ``normalize_volume(wav, -30, increase_only=True)``; the mean square is
    summed in float64, in blocks, so that hours of audio need no copy.
    """
    if audio.size == 0:
        return np.float32(1.0)
    block = 1 << 20
    total = sum(
        float(np.dot(part, part))
        for part in (audio[i : i + block].astype(np.float64) for i in range(0, audio.size, block))
    )
    if total == 0.0:
        return np.float32(1.0)
    dbfs = 10 * math.log10(total / audio.size)
    return np.float32(10 ** (max(TARGET_DBFS - dbfs, 0.0) / 20))


@functools.cache
def mel_filterbank() -> FloatArray:
    """librosa's ``filters.mel(sr=16000, n_fft=400, n_mels=40)``: Slaney scale and area norm."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0

    def hz_to_mel(hz: float) -> float:
        return hz / f_sp if hz < min_log_hz else min_log_mel + math.log(hz / min_log_hz) / logstep

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), MEL_BANDS + 2)
    edges = np.where(
        mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels
    )
    fft_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SAMPLE_RATE)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return np.asarray(weights, dtype=np.float32)


@functools.cache
def _hann() -> FloatArray:
    """The periodic Hann window (``scipy.signal.get_window("hann", 400)``)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def mel_spectrogram(audio: FloatArray) -> FloatArray:
    """Power mel frames of each row of ``audio`` (shape (..., samples)): (..., frames, 40).

    ``librosa.feature.melspectrogram(y=row, sr=16000, n_fft=400, hop_length=160, n_mels=40)``,
    transposed, as resemblyzer's ``wav_to_mel_spectrogram``: 1 + samples // 160 frames.
    """
    pad = [(0, 0)] * (audio.ndim - 1) + [(N_FFT // 2, N_FFT // 2)]
    return _mel_frames(np.pad(audio.astype(np.float32, copy=False), pad))


def _mel_frames(rows: FloatArray) -> FloatArray:
    """Mel frames of rows that already hold their frames' context: 1 + (samples - 400) // 160."""
    frames = np.lib.stride_tricks.sliding_window_view(rows, N_FFT, axis=-1)[..., ::HOP, :]
    spectrum = np.fft.rfft(frames * _hann(), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32, copy=False)
    return np.asarray(power @ mel_filterbank().T, dtype=np.float32)


def _gather(samples: FloatArray, starts: npt.NDArray[np.int64], length: int) -> FloatArray:
    """Rows ``samples[start : start + length]`` for each start, zero outside the samples."""
    index = starts[:, None] + np.arange(length)
    inside = (index >= 0) & (index < samples.size)
    return np.where(inside, samples[np.clip(index, 0, samples.size - 1)], np.float32(0.0))


# -- the network --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LstmLayer:
    """One layer's weights, transposed for ``x @ w`` and with the gates reordered i, f, o, g.

    The rows of the sigmoid gates (i, f, o) are halved, so that one ``tanh`` over all four
    gates gives them too: sigmoid(x) = 0.5 * tanh(x / 2) + 0.5.
    """

    w_ih: FloatArray  # (inputs, 4H)
    w_hh: FloatArray  # (H, 4H)
    bias: FloatArray  # (4H,)

    @classmethod
    def from_torch(
        cls, w_ih: FloatArray, w_hh: FloatArray, b_ih: FloatArray, b_hh: FloatArray
    ) -> _LstmLayer:
        h = HIDDEN_SIZE
        order = np.r_[0 : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]  # torch's i, f, g, o -> i, f, o, g
        scale = np.ones(4 * h, dtype=np.float32)
        scale[: 3 * h] = 0.5

        def arrange(rows: FloatArray) -> FloatArray:
            return np.ascontiguousarray((rows[order].T * scale).astype(np.float32))

        return cls(arrange(w_ih), arrange(w_hh), arrange((b_ih + b_hh)[:, None])[0])

    def run(self, inputs: FloatArray) -> FloatArray:
        """Outputs (time, batch, H) for inputs (time, batch, features), from zero state."""
        steps, batch, _ = inputs.shape
        h = HIDDEN_SIZE
        projected = (inputs.reshape(steps * batch, -1) @ self.w_ih).reshape(steps, batch, 4 * h)
        projected += self.bias
        outputs = np.empty((steps, batch, h), dtype=np.float32)
        gates = np.empty((batch, 4 * h), dtype=np.float32)
        cell = np.zeros((batch, h), dtype=np.float32)
        scratch = np.empty((batch, h), dtype=np.float32)
        hidden = np.zeros((batch, h), dtype=np.float32)
        for t in range(steps):
            np.matmul(hidden, self.w_hh, out=gates)
            gates += projected[t]
            np.tanh(gates, out=gates)
            sigmoids = gates[:, : 3 * h]
            sigmoids *= 0.5
            sigmoids += 0.5
            cell *= gates[:, h : 2 * h]  # forget
            np.multiply(gates[:, :h], gates[:, 3 * h :], out=scratch)  # input * candidate
            cell += scratch
            hidden = outputs[t]
            np.tanh(cell, out=hidden)
            hidden *= gates[:, 2 * h : 3 * h]  # output
        return outputs


class VoiceEncoder:
    """resemblyzer's voice encoder: audio in, 256-d L2-normalised float32 embeddings out."""

    def __init__(self, state: Mapping[str, FloatArray]) -> None:
        """Build from a checkpoint's ``model_state`` (see ``read_model_state``)."""
        try:
            self._layers = tuple(
                _LstmLayer.from_torch(
                    state[f"lstm.weight_ih_l{k}"],
                    state[f"lstm.weight_hh_l{k}"],
                    state[f"lstm.bias_ih_l{k}"],
                    state[f"lstm.bias_hh_l{k}"],
                )
                for k in range(3)
            )
            self._proj_w = np.ascontiguousarray(state["linear.weight"].T, dtype=np.float32)
            self._proj_b = np.asarray(state["linear.bias"], dtype=np.float32)
        except (KeyError, IndexError, ValueError) as exc:
            raise VoiceWeightsError(f"not a resemblyzer voice encoder state: {exc}") from exc
        if self._layers[0].w_ih.shape != (MEL_BANDS, 4 * HIDDEN_SIZE) or self._proj_w.shape != (
            HIDDEN_SIZE,
            EMBEDDING_SIZE,
        ):
            raise VoiceWeightsError("voice encoder weights have unexpected shapes")

    @classmethod
    def load(cls, weights: Path | None = None) -> VoiceEncoder:
        """The encoder with the installed weights (or a copy at ``weights``), once per process.

        The file must match ``WEIGHTS_SHA256`` (``VoiceWeightsIntegrityError`` otherwise);
        without the package, ``VoiceWeightsUnavailableError`` says how to install it.
        """
        path = weights if weights is not None else default_weights_path()
        return _load_encoder(path.resolve())

    def embed_windows(self, audio: FloatArray, windows: Sequence[tuple[int, int]]) -> FloatArray:
        """One embedding per ``(start_sample, end_sample)`` window of ``audio``: (n, 256).

        ``audio`` is mono 16 kHz float32 in [-1, 1]. Its volume is normalised once, as a whole
        (one gain for every window, as resemblyzer does for one file), so windows keep their
        loudness relative to each other. Each window's own samples give its mel frames
        (1 + samples // 160, centred) and its embedding is one partial: the network's output on
        those frames, like resemblyzer's ``forward`` on a batch of one window's frames.
        Windows of equal length run through the LSTM together; rows come back in window order.
        Windows may be of any length of at least one sample, but below about half a second
        an embedding says little about the voice. An empty or out-of-range window is a
        ``ValueError``; no windows give a (0, 256) array.
        """
        samples = _as_audio(audio)
        bounds = np.asarray(windows, dtype=np.int64)
        if bounds.size == 0:
            return np.empty((0, EMBEDDING_SIZE), dtype=np.float32)
        if bounds.ndim != 2 or bounds.shape[1] != 2:
            raise ValueError("windows must be (start_sample, end_sample) pairs")
        starts, ends = bounds[:, 0], bounds[:, 1]
        bad = (starts < 0) | (ends <= starts) | (ends > samples.size)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"window {first} {tuple(bounds[first].tolist())} is empty or outside the "
                f"{samples.size} samples of audio"
            )
        gain = volume_gain(samples)
        result = np.empty((len(bounds), EMBEDDING_SIZE), dtype=np.float32)
        lengths = ends - starts
        with _one_blas_thread():
            for length in np.unique(lengths).tolist():
                rows = np.flatnonzero(lengths == length)
                per_batch = max(1, min(BATCH, _BATCH_SAMPLES // length))
                for chunk in range(0, rows.size, per_batch):
                    picked = rows[chunk : chunk + per_batch]
                    wavs = _gather(samples, starts[picked], length) * gain
                    result[picked] = self._embed_mels(mel_spectrogram(wavs))
        return result

    def embed_utterance(self, audio: FloatArray) -> FloatArray:
        """One embedding (256,) of a whole utterance, exactly resemblyzer's ``embed_utterance``.

        Volume normalised like ``preprocess_wav`` (without its silence trimming); partials of
        160 frames (1.6 s), 1.3 per second, the last kept if it covers 75% of its frames, the
        audio zero-padded to the last one; their embeddings averaged and L2-normalised. Audio
        shorter than one partial is padded to one. Empty audio is a ``ValueError``.
        """
        samples = _as_audio(audio)
        if samples.size == 0:
            raise ValueError("no audio to embed")
        gain = volume_gain(samples)
        # a partial's frames k..k+159 are centred on samples 160k.., so they read from 200
        # samples before its first centre to 200 after its last (zeros beyond the audio)
        starts = np.asarray(_partial_starts(samples.size), dtype=np.int64) * HOP - N_FFT // 2
        context = (PARTIAL_FRAMES - 1) * HOP + N_FFT
        total = np.zeros(EMBEDDING_SIZE, dtype=np.float32)
        with _one_blas_thread():
            for chunk in range(0, starts.size, BATCH):
                frames = _gather(samples, starts[chunk : chunk + BATCH], context) * gain
                total += self._embed_mels(_mel_frames(frames)).sum(axis=0)
        return _l2_normalised((total / np.float32(starts.size))[None]).reshape(EMBEDDING_SIZE)

    def _embed_mels(self, mels: FloatArray) -> FloatArray:
        """Embeddings (batch, 256) of a batch of equal-length mel frames (batch, frames, 40)."""
        x = np.ascontiguousarray(mels.transpose(1, 0, 2), dtype=np.float32)  # time first
        for layer in self._layers:
            x = layer.run(x)
        projected = x[-1] @ self._proj_w + self._proj_b
        return _l2_normalised(np.maximum(projected, 0.0, out=projected))


def _partial_starts(n_samples: int) -> list[int]:
    """First mel frame of each partial: resemblyzer's ``compute_partial_slices``."""
    n_frames = math.ceil((n_samples + 1) / HOP)
    step = int(np.round((SAMPLE_RATE / PARTIAL_RATE) / HOP))
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(starts) > 1:
        starts.pop()
    return starts


def _as_audio(audio: FloatArray) -> FloatArray:
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"audio must be mono (one dimension), got shape {samples.shape}")
    return samples


def _l2_normalised(rows: FloatArray) -> FloatArray:
    """Rows scaled to unit length; an all-zero row (never seen on speech) stays zero."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)


@functools.cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Limit numpy's BLAS to one thread for the block (process-wide, restored after it)."""
    with _threadpools().limit(limits=1, user_api="blas"):
        yield


@functools.lru_cache(maxsize=4)
def _load_encoder(path: Path) -> VoiceEncoder:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise VoiceWeightsUnavailableError(
            f"voice encoder weights {path} are missing: {INSTALL_HINT}"
        ) from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != WEIGHTS_SHA256:
        raise VoiceWeightsIntegrityError(str(path), WEIGHTS_SHA256, actual)
    encoder = VoiceEncoder(read_model_state(data))
    logger.info("loaded the voice encoder from %s (sha256 %s)", path, actual[:12])
    return encoder
