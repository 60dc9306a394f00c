"""Playback copies of a meeting's audio: Ogg Opus, encoded once and kept beside the PCM.

The PCM files are the record (every acknowledged byte; ``/audio`` serves them as WAV). A
finished meeting's player gets a compressed copy instead: an hour of 16 kHz speech is 115 MB as
WAV and about 10 MB as Opus at 24 kbit/s, so it starts and seeks quickly over a slow link. The
copy is made when a recording stops (the ``encode_playback`` job) or else on first request; its
name carries a fingerprint of the PCM it was made from (each file and its size), so a meeting
that gains audio (a second recording) gets a new copy and the old one is removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mina import store
from mina.audiostore import BYTES_PER_SAMPLE, audio_size, wav_header
from mina.db import transaction
from mina.models import MeetingStatus, RecordingSession

if TYPE_CHECKING:
    from mina.jobs.base import JobContext

logger = logging.getLogger(__name__)

OPUS_MEDIA_TYPE = "audio/ogg"
OPUS_BITRATE = 24_000  # speech at 16 kHz: clear at 24 kbit/s
# libopus at complexity 5 with constrained VBR: 6.5 CPU s per hour of speech on one core, the
# same size as the default complexity 10, which took 25 s (the copy is made on a machine that
# may be transcribing live meetings)
OPUS_OPTIONS = {"compression_level": "5", "vbr": "constrained"}
READ_BLOCK = 1 << 20  # PCM bytes encoded per step (32 s at 16 kHz), so memory stays flat
WAV_CHUNK = 64 * 1024  # bytes per piece of a WAV stream
JOB_NAME = "encode_playback"

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class MeetingAudio:
    """A meeting's PCM files in play order (recordings as they started), whole samples only."""

    meeting_id: int
    files: list[tuple[Path, int]]
    sample_rate: int

    @property
    def data_bytes(self) -> int:
        return sum(size for _, size in self.files)

    @property
    def wav_header(self) -> bytes:
        return wav_header(self.data_bytes, self.sample_rate)

    @property
    def wav_size(self) -> int:
        """Bytes of the whole WAV: the header, then every file's PCM."""
        return len(self.wav_header) + self.data_bytes

    @property
    def playback_path(self) -> Path:
        """Where this audio's Opus copy lives: beside the first PCM file, named after the
        meeting and a fingerprint of every file and its size."""
        digest = hashlib.sha256()
        for path, size in self.files:
            digest.update(f"{path.name}:{size}\n".encode())
        folder = self.files[0][0].parent
        return folder / f"meeting-{self.meeting_id}-{digest.hexdigest()[:16]}.opus"


def meeting_audio(meeting_id: int, recordings: Iterable[RecordingSession]) -> MeetingAudio | None:
    """The audio of a meeting's recordings (``store.list_recordings``), None if it has none."""
    files = []
    rate = 16000
    for recording in recordings:
        if not recording.audio_path:
            continue
        path = Path(recording.audio_path)
        size = audio_size(path)
        size -= size % BYTES_PER_SAMPLE
        if size:
            files.append((path, size))
            rate = recording.sample_rate
    return MeetingAudio(meeting_id, files, rate) if files else None


def copies_of(meeting_id: int, pcm_paths: Iterable[Path]) -> list[Path]:
    """Every playback copy of a meeting kept beside these PCM files (to delete with them)."""
    folders = {path.parent for path in pcm_paths}
    return [copy for folder in folders for copy in folder.glob(f"meeting-{meeting_id}-*.opus")]


def remove_meeting_audio(meeting_id: int, pcm_paths: list[Path]) -> int:
    """Delete a deleted meeting's audio: its PCM files and every playback copy beside them.
    Returns how many files there were. Blocking: call it off the event loop."""
    files = pcm_paths + copies_of(meeting_id, pcm_paths)
    for path in files:
        path.unlink(missing_ok=True)
    return len(files)


def read_wav(audio: MeetingAudio, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes ``[start, end]`` (inclusive; ``end`` None: to the last byte) of the meeting's WAV:
    the header, then the PCM files one after another, read in pieces so that memory stays flat.
    ``GET /api/meetings/{id}/audio`` serves it, and "Download my data" stores it."""
    end = audio.wav_size - 1 if end is None else end
    header = audio.wav_header
    position = 0
    pieces: list[tuple[bytes | Path, int]] = [(header, len(header)), *audio.files]
    for piece, size in pieces:
        piece_start, piece_end = position, position + size
        position = piece_end
        if piece_end <= start or piece_start > end:
            continue
        lo = max(start, piece_start) - piece_start
        hi = min(end + 1, piece_end) - piece_start
        if isinstance(piece, bytes):
            yield piece[lo:hi]
            continue
        with piece.open("rb") as handle:
            handle.seek(lo)
            remaining = hi - lo
            while remaining > 0:
                chunk = handle.read(min(WAV_CHUNK, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk


def ensure_playback(audio: MeetingAudio) -> Path:
    """The Opus copy of ``audio``, encoded now if it is not there yet. Blocking (seconds for
    an hour of audio): call it off the event loop. Two callers never encode the same copy."""
    target = audio.playback_path
    with _locks_guard:
        lock = _locks.setdefault(target, threading.Lock())
    with lock:
        if target.exists():
            return target
        encode_opus(audio, target)
        for stale in copies_of(audio.meeting_id, [target]):
            if stale != target:
                stale.unlink(missing_ok=True)
        if not all(path.exists() for path, _ in audio.files):
            target.unlink(missing_ok=True)  # the meeting was deleted meanwhile
    with _locks_guard:
        _locks.pop(target, None)
    return target


def encode_opus(audio: MeetingAudio, target: Path) -> None:
    """Encode the PCM files, one after another, into an Ogg Opus file at ``target``: written
    to a temporary file in the same folder and renamed into place once complete."""
    import av

    handle, scratch_name = tempfile.mkstemp(prefix=".playback-", suffix=".opus", dir=target.parent)
    os.close(handle)
    scratch = Path(scratch_name)
    try:
        with av.open(str(scratch), "w", format="ogg") as container:
            stream = container.add_stream(
                "libopus", rate=audio.sample_rate, layout="mono", options=OPUS_OPTIONS
            )
            stream.bit_rate = OPUS_BITRATE
            pts = 0
            for block in _pcm_blocks(audio.files):
                samples = np.frombuffer(block, dtype="<i2").reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
                frame.sample_rate = audio.sample_rate
                frame.pts = pts
                pts += samples.shape[1]
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        with scratch.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(scratch, target)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    logger.info(
        "meeting %s: playback copy of %.0f s of audio, %d KiB",
        audio.meeting_id,
        audio.data_bytes / (BYTES_PER_SAMPLE * audio.sample_rate),
        target.stat().st_size // 1024,
    )


def _pcm_blocks(files: list[tuple[Path, int]]) -> Iterator[bytes]:
    for path, size in files:
        with path.open("rb") as handle:
            remaining = size
            while remaining > 0:
                block = handle.read(min(READ_BLOCK, remaining))
                if not block:
                    break
                block = block[: len(block) - len(block) % BYTES_PER_SAMPLE]
                remaining -= len(block)
                yield block


def encode_playback(context: JobContext, *, meeting_id: int) -> None:
    """Job: make the playback copy of a finished meeting (a live one is left alone)."""
    with transaction(context.sessions) as session:
        meeting = store.get_meeting_unscoped(session, meeting_id=meeting_id)
        if meeting is None or meeting.status is MeetingStatus.LIVE:
            return
        audio = meeting_audio(meeting_id, store.list_recordings(session, meeting_id=meeting_id))
    if audio is None:
        return
    try:
        ensure_playback(audio)
    except FileNotFoundError:
        with transaction(context.sessions) as session:
            if store.get_meeting_unscoped(session, meeting_id=meeting_id) is not None:
                raise
        logger.info("meeting %s was deleted while its playback copy was made", meeting_id)
