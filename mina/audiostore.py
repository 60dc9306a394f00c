"""Session audio on disk: raw PCM s16le appended as it arrives, fsync'd before it is acknowledged.

One file per recording session, ``<data dir>/audio/<workspace id>/<session uuid>.pcm``. Raw PCM
keeps appends trivial and crash-safe (no header to rewrite); playback wraps it in a WAV header.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time
from pathlib import Path

BYTES_PER_SAMPLE = 2


def session_audio_path(audio_dir: Path, workspace_id: int, external_id: str) -> Path:
    return audio_dir / str(workspace_id) / f"{external_id}.pcm"


class AudioBusy(RuntimeError):
    """Another process still appends to this audio file."""


class AudioWriter:
    """Appends to a session's audio file. ``append`` from the event loop; ``sync`` in a thread.

    With ``lock_timeout_s`` (several processes share the audio directory) the writer holds an
    exclusive lock on the file until it closes, waiting that long for another process's writer
    to close first (AudioBusy after that): two processes never append to one file. The size is
    read once the lock is held, so it includes everything the other writer wrote."""

    def __init__(self, path: Path, *, lock_timeout_s: float | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        if lock_timeout_s is not None:
            try:
                _lock(self._fd, lock_timeout_s)
            except AudioBusy:
                os.close(self._fd)
                raise
        self.written = os.fstat(self._fd).st_size
        self.durable = self.written

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            count = os.write(self._fd, view)
            view = view[count:]
        self.written += len(data)

    def sync(self) -> int:
        """Flush to stable storage; returns the byte count now durable. Blocking: run off-loop."""
        target = self.written
        os.fsync(self._fd)
        self.durable = max(self.durable, target)
        return self.durable

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


def _lock(fd: int, timeout_s: float) -> None:
    """An exclusive lock on the open file (``flock``: per open file, so two writers in one
    process exclude each other too; NFS emulates it with byte-range locks)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise AudioBusy("another process is writing this recording's audio") from None
            time.sleep(0.05)


def audio_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_bytes(path: Path, start: int = 0) -> bytes:
    """Every byte of a file from ``start``, unaligned (a recording may end mid-sample)."""
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read()


def read_pcm(path: Path, start: int = 0, end: int | None = None) -> bytes:
    """Bytes [start, end) of a PCM file, aligned down to whole samples."""
    start -= start % BYTES_PER_SAMPLE
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read() if end is None else handle.read(max(0, end - start))
    return data[: len(data) - len(data) % BYTES_PER_SAMPLE]


def wav_header(data_bytes: int, sample_rate: int, channels: int = 1) -> bytes:
    """A 44-byte RIFF/WAVE header for PCM s16le of ``data_bytes`` bytes."""
    byte_rate = sample_rate * channels * BYTES_PER_SAMPLE
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack(
            "<IHHIIHH", 16, 1, channels, sample_rate, byte_rate, channels * BYTES_PER_SAMPLE, 16
        )
        + b"data"
        + struct.pack("<I", data_bytes)
    )
