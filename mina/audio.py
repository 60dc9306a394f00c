"""Audio in the form engines want: mono float32 at 16 kHz, from any file ffmpeg reads or raw PCM.

Live sessions store raw PCM s16le, 16 kHz mono, appended to one file per session (see
``audiostore``); ``pcm16_to_float32`` turns those bytes into engine input. Uploaded files are
decoded and resampled with PyAV (``decode_file``, or ``iter_decode_file`` to bound memory:
an hour of float32 audio at 16 kHz is 230 MB).
"""

from __future__ import annotations

import logging
import os
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000

AudioArray = npt.NDArray[np.float32]
AudioSource = str | os.PathLike[str] | IO[bytes]

# Demuxers that open further files named inside the input (playlists, concat lists, image
# sequences): an uploaded file must not make the server read other files.
_REFERENCING_FORMATS = frozenset(
    {"hls", "applehttp", "concat", "dash", "image2", "tee", "sdp", "rtsp", "webm_dash_manifest"}
)


class AudioDecodeError(ValueError):
    """The input holds no decodable audio (not a media file, no audio stream, corrupt data)."""


def pcm16_to_float32(data: bytes | bytearray | memoryview) -> AudioArray:
    """Little-endian signed 16-bit PCM bytes to float32 samples in [-1, 1)."""
    if len(data) % 2:
        raise ValueError(f"PCM s16le data must have an even length, got {len(data)} bytes")
    samples = np.frombuffer(data, dtype="<i2")
    return samples.astype(np.float32) / np.float32(32768.0)


def float32_to_pcm16(audio: npt.ArrayLike) -> bytes:
    """Float samples to little-endian signed 16-bit PCM bytes (the inverse of the above).

    Scaled by 32768 like ``pcm16_to_float32``, so PCM survives a round trip unchanged; values
    outside [-1, 1) are clipped.
    """
    scaled = np.round(np.asarray(audio, dtype=np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()


def pcm_duration_s(num_bytes: int, sample_rate: int = SAMPLE_RATE) -> float:
    """Seconds of audio in ``num_bytes`` of mono PCM s16le."""
    return num_bytes / (2 * sample_rate)


def write_wav(
    path: str | os.PathLike[str],
    audio: bytes | bytearray | memoryview | npt.ArrayLike,
    *,
    sample_rate: int = SAMPLE_RATE,
) -> None:
    """Write mono 16-bit WAV from PCM s16le bytes or float samples."""
    if isinstance(audio, bytes | bytearray | memoryview):
        pcm = bytes(audio)
        if len(pcm) % 2:
            raise ValueError(f"PCM s16le data must have an even length, got {len(pcm)} bytes")
    else:
        pcm = float32_to_pcm16(audio)
    with wave.open(os.fspath(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)


def decode_file(source: AudioSource, *, sample_rate: int = SAMPLE_RATE) -> AudioArray:
    """Decode the first audio stream of a media file to mono float32 at ``sample_rate``.

    Raises ``AudioDecodeError`` when the input is not media, has no audio stream, or none of it
    decodes; a file that is only damaged part way yields the audio before the damage, and an
    audio stream without samples an empty array. A missing file raises ``FileNotFoundError``.
    """
    chunks = list(iter_decode_file(source, sample_rate=sample_rate))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks)


def iter_decode_file(
    source: AudioSource, *, sample_rate: int = SAMPLE_RATE, chunk_s: float = 30.0
) -> Iterator[AudioArray]:
    """Like ``decode_file``, in consecutive chunks of ``chunk_s`` seconds (the last is shorter).

    A generator: the file is opened, and errors raised, when iteration starts.
    """

    chunk_samples = max(1, round(chunk_s * sample_rate))
    name = _source_name(source)
    with _open_media(source, name) as container:
        pending: list[AudioArray] = []
        pending_samples = 0
        total = 0
        for samples in _decode_stream(container, name, sample_rate):
            pending.append(samples)
            pending_samples += samples.size
            while pending_samples >= chunk_samples:
                joined = np.concatenate(pending)
                yield joined[:chunk_samples]
                total += chunk_samples
                rest = joined[chunk_samples:]
                pending = [rest] if rest.size else []
                pending_samples = rest.size
        if pending_samples:
            total += pending_samples
            yield np.concatenate(pending)
    logger.debug("decoded %s: %.2f s at %d Hz", name, total / sample_rate, sample_rate)


@dataclass(frozen=True)
class AudioInfo:
    """What ``probe_file`` learnt about a media file's first audio stream."""

    format: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None  # from the container; None when it does not say


def probe_file(source: str | os.PathLike[str]) -> AudioInfo:
    """Check that a file holds decodable audio by decoding its first samples.

    Raises ``AudioDecodeError`` like ``decode_file`` (not media, no audio stream, no sample
    decodes); reads only the start of the file.
    """
    name = _source_name(source)
    with _open_media(source, name) as container:
        stream = container.streams.audio[0]
        if next(_decode_stream(container, name, SAMPLE_RATE), None) is None:
            raise AudioDecodeError(f"{name}: the audio stream holds no samples")
        duration_s: float | None = None
        if container.duration is not None and container.duration > 0:
            duration_s = container.duration / 1_000_000
        elif stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        return AudioInfo(
            format=str(container.format.name),
            codec=str(stream.codec_context.name),
            sample_rate=int(stream.codec_context.sample_rate or 0),
            channels=int(stream.codec_context.channels or 0),
            duration_s=duration_s,
        )


def _decode_stream(container: Any, name: str, sample_rate: int) -> Iterator[AudioArray]:
    """Decode and resample the first audio stream; skip bad packets, stop at broken demuxing."""
    import av

    stream = container.streams.audio[0]
    resampler: Any = None
    resampler_input: tuple[str, str, int] | None = None
    decoded_any = False
    skipped = 0
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError as exc:
            if not decoded_any:
                raise AudioDecodeError(f"{name}: cannot read the audio ({exc})") from exc
            logger.warning("%s: unreadable data (%s); keeping the audio before it", name, exc)
            break
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            skipped += 1
            logger.debug("%s: skipped an undecodable packet (%s)", name, exc)
            continue
        for frame in frames:
            shape = (frame.format.name, frame.layout.name, frame.sample_rate)
            if shape != resampler_input:
                # Input parameters changed mid-stream: drain the old resampler, start a new one.
                if resampler is not None:
                    yield from _frames_to_arrays(resampler.resample(None))
                resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
                resampler_input = shape
            frame.pts = None
            for samples in _frames_to_arrays(resampler.resample(frame)):
                decoded_any = True
                yield samples
    if resampler is not None:
        yield from _frames_to_arrays(resampler.resample(None))
    elif skipped:
        raise AudioDecodeError(f"{name}: none of the {skipped} audio packets could be decoded")
    if skipped:
        logger.warning("%s: skipped %d undecodable audio packets", name, skipped)


def _frames_to_arrays(frames: list[Any]) -> Iterator[AudioArray]:
    for frame in frames:
        array = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        if array.size:
            yield array


def _open_media(source: AudioSource, name: str) -> Any:
    """The opened PyAV container of a media file with an audio stream (a context manager);
    ``AudioDecodeError`` for anything else, ``FileNotFoundError`` for a missing file."""
    import av

    try:
        container = av.open(
            source if not isinstance(source, os.PathLike) else os.fspath(source),
            metadata_errors="ignore",
        )
    except av.error.FileNotFoundError:
        raise
    except (av.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise AudioDecodeError(f"{name}: not a readable audio or video file ({exc})") from exc
    try:
        if container.format.name in _REFERENCING_FORMATS:
            raise AudioDecodeError(
                f"{name}: {container.format.name} inputs refer to other files and are refused"
            )
        if not container.streams.audio:
            raise AudioDecodeError(f"{name}: no audio stream")
    except BaseException:
        container.close()
        raise
    return container


def _source_name(source: AudioSource) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return str(getattr(source, "name", "<stream>"))
