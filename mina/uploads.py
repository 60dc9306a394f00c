"""Uploaded audio files: received to disk in chunks, then transcribed by a job.

``MultipartReceiver`` parses a ``multipart/form-data`` body as it arrives and writes the ``file``
part straight into the data directory, counting bytes, so an upload is never whole in memory
and a client that lies about its size is stopped at the limit.

``transcribe_upload`` is the job: it decodes the file (any format PyAV reads) to 16 kHz mono
PCM in the session's audio file (so playback and seeking work as for a live recording), then
transcribes that audio block by block with the configured engine, storing segments and
progress as it goes, and completes the meeting. Interrupted, it resumes after the last stored
segment.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.audio import AudioDecodeError, float32_to_pcm16, iter_decode_file, pcm16_to_float32
from mina.audiostore import AudioWriter, read_pcm
from mina.db import transaction
from mina.engines.base import AudioArray, ends_sentence
from mina.jobs.base import JobContext, JobError
from mina.live.config import StreamConfig
from mina.live.final_segments import FinalSegment, segment_words, to_new_segment
from mina.live.reconcile import TimedWord
from mina.live.transcription import transcribe_audio
from mina.models import Meeting, MeetingStatus, RecordingSession
from mina.playback import encode_playback

logger = logging.getLogger(__name__)

JOB_NAME = "transcribe_upload"
FILE_FIELD = "file"
TEXT_FIELDS = ("title", "language", "speakers")
MAX_FIELD_BYTES = 4096
# multipart boundaries and part headers around the file: allowed on top of the file limit
FORM_OVERHEAD_BYTES = 64 * 1024
ABANDONED_AFTER_S = 6 * 3600  # an uploaded file no job needs is deleted at start-up after this

RATE = 16000
DECODE_SHARE = 0.1  # of the progress bar: decoding to PCM; transcription takes the rest
BLOCK_S = 240.0  # audio transcribed at a time (bounds memory for long files)
CUT_SEARCH_S = 8.0  # a block ends at the quietest 20 ms in its last seconds
CUT_FRAME = 320  # 20 ms at 16 kHz


class UploadRejected(Exception):
    """The request cannot become an upload; ``status``, ``code`` and ``message`` say why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def too_large(max_bytes: int) -> UploadRejected:
    return UploadRejected(
        413,
        "upload_too_large",
        f"The file is larger than the {max_bytes // (1024 * 1024)} MB this server accepts.",
    )


@dataclass
class ReceivedUpload:
    path: Path
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


def _extension(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


class MultipartReceiver:
    """A ``multipart/form-data`` body fed in chunks; the ``file`` part streams into
    ``directory``. ``feed`` and ``finish`` block on disk writes: call them off the event loop."""

    def __init__(self, content_type: str, *, directory: Path, max_bytes: int) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise UploadRejected(
                415,
                "not_multipart",
                "Send the file as multipart/form-data, in a field named 'file'.",
            )
        self.directory = directory
        self.max_bytes = max_bytes
        self.received = 0
        self.fields: dict[str, str] = {}
        self.path: Path | None = None
        self.filename = ""
        self.file_bytes = 0
        self._handle: Any = None
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._part: str | None = None  # "file", a text field's name, or "" (ignored)
        self._text = bytearray()
        self._files_seen = 0
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    # -- parser callbacks -------------------------------------------------------------------

    def _part_begin(self) -> None:
        self._headers = {}
        self._part = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if name == FILE_FIELD and filename is not None and self._files_seen == 0:
            self._files_seen += 1
            self._part = FILE_FIELD
            self.filename = filename.decode("utf-8", "replace").replace("\\", "/").split("/")[-1]
            self.directory.mkdir(parents=True, exist_ok=True)
            self.path = self.directory / f"{uuid.uuid4()}{_extension(self.filename)}"
            self._handle = self.path.open("wb")
        elif name in TEXT_FIELDS and filename is None:
            self._part = name
            self._text = bytearray()
        else:
            self._part = ""  # a field we do not know: its bytes are counted, not kept

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == FILE_FIELD:
            self.file_bytes += end - start
            if self.file_bytes > self.max_bytes:
                raise too_large(self.max_bytes)
            self._handle.write(data[start:end])
        elif self._part:
            self._text += data[start:end]
            if len(self._text) > MAX_FIELD_BYTES:
                raise UploadRejected(
                    422, "field_too_long", f"The field '{self._part}' is too long."
                )

    def _part_end(self) -> None:
        if self._part == FILE_FIELD:
            self._handle.close()
            self._handle = None
        elif self._part:
            self.fields[self._part] = self._text.decode("utf-8", "replace").strip()
        self._part = None

    def _end(self) -> None:
        self._ended = True

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.max_bytes + FORM_OVERHEAD_BYTES:
            raise too_large(self.max_bytes)
        try:
            self._parser.write(chunk)
        except UploadRejected:
            raise
        except Exception as exc:
            raise UploadRejected(400, "bad_form", f"The form data is malformed ({exc}).") from exc

    def finish(self) -> ReceivedUpload:
        """The upload, once the body has ended; ``UploadRejected`` when no file came."""
        self._parser.finalize()
        if self._handle is not None:  # the body stopped inside the file part
            self._handle.close()
            self._handle = None
            raise UploadRejected(400, "bad_form", "The form data ended in the middle of the file.")
        if self.path is None:
            raise UploadRejected(
                422, "missing_file", "No file: send it in a multipart field named 'file'."
            )
        if self.file_bytes == 0:
            raise UploadRejected(400, "empty_file", f"{self.filename or 'The file'} is empty.")
        return ReceivedUpload(self.path, self.filename, self.file_bytes, dict(self.fields))

    def discard(self) -> None:
        """Remove what was written (the upload was refused or the client went away)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def remove_abandoned_files(
    sessions: sessionmaker[Session], upload_dir: Path, *, older_than_s: float = ABANDONED_AFTER_S
) -> int:
    """Delete uploaded files no unfinished job needs (an upload cut short by a crash), once
    they are ``older_than_s`` old (younger ones may be arriving in another process)."""
    if not upload_dir.is_dir():
        return 0
    with transaction(sessions) as session:
        needed = {
            str(job.payload.get("upload_path", "")) for job in store.list_unfinished_jobs(session)
        }
    cutoff = time.time() - older_than_s
    removed = 0
    for path in upload_dir.rglob("*"):
        if path.is_file() and str(path) not in needed and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        logger.info("removed %d abandoned uploaded files from %s", removed, upload_dir)
    return removed


# --- the job ---------------------------------------------------------------------------------


@dataclass
class _Target:
    meeting_id: int
    recording_id: int
    pcm_path: Path
    source: Path
    language: str | None
    decoded_bytes: int | None
    duration_s: float | None
    payload: dict[str, Any]


def transcribe_upload(context: JobContext, *, job_id: int) -> None:
    """Decode an uploaded file into its session's audio, transcribe it, complete the meeting."""
    target = _load_target(context, job_id)
    if target is None:
        return
    try:
        if target.decoded_bytes is None:
            target.decoded_bytes = _decode_to_pcm(context, job_id, target)
        _transcribe_pcm(context, job_id, target)
    except _Cancelled:
        target.source.unlink(missing_ok=True)
        target.pcm_path.unlink(missing_ok=True)
        raise
    context.check_stop()
    try:
        with transaction(context.sessions) as session:
            store.finish_recording(
                session,
                recording_id=target.recording_id,
                audio_bytes=target.decoded_bytes,
                after=context.settings.post_meeting_jobs,
            )
    except store.StoreError:  # the meeting was deleted after the last segments were stored
        target.source.unlink(missing_ok=True)
        target.pcm_path.unlink(missing_ok=True)
        raise _Cancelled("The job was cancelled: its meeting no longer exists.") from None
    target.source.unlink(missing_ok=True)
    logger.info(
        "upload of meeting %s transcribed: %.1f s of audio",
        target.meeting_id,
        target.decoded_bytes / (2 * RATE),
    )
    try:
        encode_playback(context, meeting_id=target.meeting_id)
    except Exception:  # the meeting is complete; its page makes the copy when first played
        logger.exception("could not make the playback copy of meeting %s", target.meeting_id)


def _load_target(context: JobContext, job_id: int) -> _Target | None:
    with transaction(context.sessions) as session:
        job = store.load_job(session, job_id=job_id)
        if job is None or job.meeting_id is None:
            return None
        meeting = session.get(Meeting, job.meeting_id)
        recordings = store.list_recordings(session, meeting_id=job.meeting_id)
        if meeting is None or not recordings:
            return None
        recording: RecordingSession = recordings[0]
        payload = dict(job.payload)
        if meeting.status is not MeetingStatus.PROCESSING:
            # it completed just before the server stopped, or was finished by hand
            Path(payload.get("upload_path", "")).unlink(missing_ok=True)
            return None
        decoded = payload.get("decoded_bytes")
        return _Target(
            meeting_id=meeting.id,
            recording_id=recording.id,
            pcm_path=Path(recording.audio_path),
            source=Path(payload["upload_path"]),
            language=meeting.language or None,
            decoded_bytes=int(decoded) if decoded is not None else None,
            duration_s=payload.get("duration_s"),
            payload=payload,
        )


def _commit(
    context: JobContext,
    job_id: int,
    progress: float,
    *,
    payload: dict[str, Any] | None = None,
    target: _Target | None = None,
    segments: list[store.NewSegment] | None = None,
) -> None:
    """Store new segments with the job's progress in one transaction; stop when the job is
    gone (its meeting was deleted) or the server is stopping."""
    with transaction(context.sessions) as session:
        # with segments, the meeting row before the job's (see store.lock_meeting)
        if segments and target is not None:
            if store.lock_meeting(session, meeting_id=target.meeting_id) is None:
                raise _Cancelled("The job was cancelled: its meeting no longer exists.")
        if not store.update_job(session, job_id=job_id, progress=progress, payload=payload):
            raise _Cancelled("The job was cancelled: its meeting no longer exists.")
        if segments and target is not None:
            store.add_segments(
                session,
                recording_id=target.recording_id,
                meeting_id=target.meeting_id,
                segments=segments,
            )
    context.check_stop()


class _Cancelled(JobError):
    """The job's row (and meeting) went away while it ran."""


def _decode_to_pcm(context: JobContext, job_id: int, target: _Target) -> int:
    """The upload as 16 kHz mono s16le in the session's audio file; its size in bytes."""
    target.pcm_path.unlink(missing_ok=True)  # a decode cut short starts over
    writer = AudioWriter(target.pcm_path)
    expected = (target.duration_s or 0) * RATE
    try:
        for chunk in iter_decode_file(target.source, sample_rate=RATE, chunk_s=30.0):
            writer.append(float32_to_pcm16(chunk))
            if expected:
                done = min(1.0, writer.written / 2 / expected)
                _commit(context, job_id, DECODE_SHARE * done)
    except AudioDecodeError as exc:
        raise JobError("The file's audio could not be decoded.") from exc
    finally:
        writer.close()
    size = writer.written
    if size == 0:
        raise JobError("The file holds no audio.")
    with transaction(context.sessions) as session:
        store.touch_recording(session, recording_id=target.recording_id, audio_bytes=size)
    target.payload["decoded_bytes"] = size
    _commit(context, job_id, DECODE_SHARE, payload=dict(target.payload))
    return size


def _blocks(path: Path, start: int, size: int) -> Iterator[tuple[int, int]]:
    """Byte ranges [a, b) of at most BLOCK_S, each cut at a quiet moment near its end."""
    block = int(BLOCK_S * RATE) * 2
    search = int(CUT_SEARCH_S * RATE) * 2
    while start < size:
        end = min(size, start + block)
        if end < size:
            tail = pcm16_to_float32(read_pcm(path, end - search, end))
            frames = tail[: tail.size // CUT_FRAME * CUT_FRAME].reshape(-1, CUT_FRAME)
            quietest = int(np.argmin(np.mean(frames * frames, axis=1)))
            end = end - search + (quietest * CUT_FRAME + CUT_FRAME // 2) * 2
        yield start, end
        start = end


def _transcribe_pcm(context: JobContext, job_id: int, target: _Target) -> None:
    size = target.decoded_bytes or 0
    with transaction(context.sessions) as session:
        next_seq, last_end_ms = store.recording_progress(session, recording_id=target.recording_id)
    start = min(size, last_end_ms * RATE // 1000 * 2)
    config = StreamConfig(language=target.language, vad=context.stream_config.vad, sample_rate=RATE)
    saver = _SegmentSaver(context, job_id, target, next_seq, size)
    for block_start, block_end in _blocks(target.pcm_path, start, size):
        audio = pcm16_to_float32(read_pcm(target.pcm_path, block_start, block_end))
        offset_s = block_start / 2 / RATE
        engine = context.engine
        if hasattr(engine, "transcribe_file"):
            _transcribe_whole(context, engine, audio, offset_s, config, saver)
        else:
            segments = context.decode(
                transcribe_audio, engine, audio, config=config, offset_s=offset_s
            )
            saver.save(segments, covered_s=block_end / 2 / RATE)
    saver.save([], covered_s=size / 2 / RATE)


def _transcribe_whole(
    context: JobContext,
    engine: Any,
    audio: AudioArray,
    offset_s: float,
    config: StreamConfig,
    saver: _SegmentSaver,
) -> None:
    """Whole-file decoding (the whisper engine's ``transcribe_file``: VAD, beam search), its
    words cut into segments by the live stream's rules, stored as they close."""
    segments = engine.transcribe_file(audio, language=config.language)
    pending: list[TimedWord] = []
    done = object()
    while True:
        segment = context.decode(next, segments, done)
        if segment is done:
            break
        for word in segment.words:
            pending.append(
                TimedWord(word.text, word.start + offset_s, word.end + offset_s, word.probability)
            )
        cut = segment_words(pending, config, sentence_start=saver.sentence_start)
        # the last segment may still grow with the next words; the others are final
        closed, pending = cut[:-1], list(cut[-1].words) if cut else []
        saver.save(closed, covered_s=offset_s + segment.end)
    saver.save(segment_words(pending, config, sentence_start=saver.sentence_start), covered_s=0)


class _SegmentSaver:
    """Stores segments in order with the job's progress, one transaction each time."""

    def __init__(
        self, context: JobContext, job_id: int, target: _Target, next_seq: int, size: int
    ) -> None:
        self.context = context
        self.job_id = job_id
        self.target = target
        self.next_seq = next_seq
        self.total_s = max(size / 2 / RATE, 1e-6)
        self.covered_s = 0.0
        self.sentence_start = True

    def save(self, segments: list[FinalSegment], *, covered_s: float) -> None:
        self.covered_s = max(self.covered_s, covered_s)
        new = [to_new_segment(s, self.next_seq + i) for i, s in enumerate(segments)]
        share = min(1.0, self.covered_s / self.total_s)
        # below 1 until the runner marks the job done
        progress = DECODE_SHARE + (1 - DECODE_SHARE) * share * 0.999
        _commit(self.context, self.job_id, progress, target=self.target, segments=new)
        self.next_seq += len(new)
        if segments:
            self.sentence_start = ends_sentence(segments[-1].text)
