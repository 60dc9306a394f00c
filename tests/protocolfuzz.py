"""Streaming protocol v1 under fuzzing: a Hypothesis rule-based machine against a real server.

The machine plays one or more clients of ``/ws/transcribe`` over TCP against the real app with
the fake engine: valid and invalid text frames, binary frames of every size (empty, odd, over
the 64 KiB limit), start, resume with good and bad tokens, stop, ping, a fault injected on
purpose, disconnects at any point (a close frame or a TCP drop), resumes on new connections and
server restarts. It keeps a model of what each recording must hold. Every outcome is the
model's to foresee (Hypothesis needs each example to run the same way twice): a resume within
the grace must succeed, a ``late`` one waits until the server has ended the recording, which
must happen within its grace (or, after a restart, recovery) and then be refused. Each example
ends its recordings as a client would, with a stop, and then checks what the durability
contract (DESIGN.md section 4) promises:

- ``/healthz`` answers;
- the meeting of every recording is completed;
- each recording's audio file is exactly the bytes the client sent, up to what the server
  received: never less than any ``ack`` or ``resumed`` covered, never a byte it did not send;
- no word is stored twice, none out of order, none that was not in the audio, and every word
  wholly inside the received audio is stored;
- nothing closes with 1011 unless a fault was injected on purpose, and every error has the
  code and close code the protocol gives it.

``tests/test_protocol_fuzz.py`` runs a bounded number of examples; ``python -m bench fuzz`` the
long version.
"""

from __future__ import annotations

import errno
import functools
import json
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection

from mina import store
from mina.audio import float32_to_pcm16
from mina.audiostore import AudioWriter
from mina.db import transaction
from mina.engines.fake import synthesize_words
from mina.models import Meeting, MeetingStatus, SessionStatus
from mina.settings import Settings
from tests.liveserver import LiveServer

MAX_FRAME = 64 * 1024
BROWSER_FRAME = 3200  # 100 ms of 16 kHz s16le, as the live page sends
FAULT_FRAME = b"FAULT!"  # a binary frame the fuzzing server fails on, on purpose
MAX_CONNECTIONS = 3
LATE_ODDS = 8  # one resume in this many waits until its recording has ended
RESTART_ODDS = 100  # one restart step in this many restarts the server
SETTLE_S = 5.0  # how long past its deadline a recording may take to be finalised

# text frames that are not valid messages, with the error code each must get
JUNK = {
    "not json": "bad_json",
    "": "bad_json",
    "[1, 2]": "bad_message",
    "42": "bad_message",
    '{"type": 7}': "bad_message",
    '{"no": "type"}': "bad_message",
    '{"type": "dance"}': "unknown_type",
    '{"type": "START"}': "unknown_type",
}


@dataclass(frozen=True)
class Tape:
    """The audio every recording of the fuzzer reads from: words 0..149 in order, each once,
    in sentences of three; ``words[n]`` is word n's byte span ``[start, end)``."""

    pcm: bytes
    words: list[tuple[int, int]]


@functools.cache
def tape() -> Tape:
    rate, word_s, gap_s, pause_s = 16000, 0.4, 0.3, 0.8
    parts, words, offset = [], [], 0
    for first in range(0, 150, 3):
        numbers = list(range(first, min(first + 3, 150)))
        audio = synthesize_words(
            numbers, word_s=word_s, gap_s=gap_s, lead_s=pause_s / 2, tail_s=pause_s / 2
        )
        for index in range(len(numbers)):
            start = offset + round((pause_s / 2 + index * (word_s + gap_s)) * rate) * 2
            words.append((start, start + round(word_s * rate) * 2))
        parts.append(audio)
        offset += audio.size * 2
    return Tape(float32_to_pcm16(np.concatenate(parts)), words)


def tape_bytes(start: int, end: int) -> bytes:
    """Bytes [start, end) of the tape; silence past its end."""
    pcm = tape().pcm
    piece = pcm[start:end]
    return piece + bytes(max(0, end - start - len(piece)))


def fuzz_settings(settings: Settings) -> Settings:
    """Timers for fuzzing: a resume grace that outlasts any example (a resume within an
    example is in time: what the server does must not hang on timing, as Hypothesis needs),
    recovery of a stopped server's recordings soon after, no idle timeout within an example."""
    return settings.model_copy(
        update={
            "resume_grace_s": 3.0,
            "idle_timeout_s": 300.0,
            "heartbeat_s": 0.5,
            "stale_after_s": 6.0,
        }
    )


def install_fault(monkeypatch: Any) -> None:
    """Make the server fail (disk full) on ``FAULT_FRAME``, and on nothing else."""
    append = AudioWriter.append

    def failing(self: AudioWriter, data: bytes) -> None:
        if data == FAULT_FRAME:
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        append(self, data)

    monkeypatch.setattr(AudioWriter, "append", failing)


@dataclass
class Recording:
    session_id: str
    meeting_id: int
    resume_token: str
    position: int = 0  # bytes the client has sent into it (the tape up to here)
    confirmed: int = 0  # bytes the server has certainly taken
    acked: int = 0  # the most any ack or resumed reported
    attached: Connection | None = None
    detached_at: float | None = None  # when its last connection ended (None while attached)
    restarted_at: float | None = None  # its server began to stop while it was live
    ended: bool = False  # stopped, or (a late resume saw to it) finalised by the server


@dataclass
class Connection:
    ws: ClientConnection
    state: str = "fresh"  # fresh -> streaming -> closed (or abandoned: see resume)
    recording: Recording | None = None
    faulted: bool = False
    closes: list[int] = field(default_factory=list)
    frames_in_flight: bool = False  # audio taken since the last reply on this connection
    # when the client last sent something (or began to close): the server ended this
    # connection, and started its recording's resume grace, after that
    last_sent: float = 0.0


# At teardown, a detached recording with less grace left than this is not resumed: on a busy
# machine the resume could arrive after the grace, an outcome no step of the example decided.
TEARDOWN_MARGIN_S = 1.0


class ProtocolMachine(RuleBasedStateMachine):
    """Clients of one real server; see the module docstring. The runner sets the class
    attributes ``server``, ``http``, ``token`` and ``grace_s``."""

    server: LiveServer
    # one HTTP client for the whole run: a new one per example cost more than the example's
    # own requests (each builds a TLS context, reading every CA certificate)
    http: httpx.Client
    token: str
    grace_s: float
    stats: Counter[str]  # what the examples did: examples, frames, resumes, restarts...

    def __init__(self) -> None:
        super().__init__()
        self.connections: list[Connection] = []
        self.recordings: list[Recording] = []
        self.unexpected_closes: list[str] = []

    # -- helpers --------------------------------------------------------------------------------

    def _open(self) -> list[Connection]:
        return [c for c in self.connections if c.state in ("fresh", "streaming")]

    def _pick(self, index: int) -> Connection:
        open_ = self._open()
        return open_[index % len(open_)]

    def _read(
        self, conn: Connection, until: str | None, timeout: float = 10.0, *, or_close: bool = False
    ) -> list[dict[str, Any]]:
        """Messages until one of type ``until``, or until the server closes when ``until`` is
        None (or ``or_close``)."""
        seen: list[dict[str, Any]] = []
        try:
            while True:
                raw = conn.ws.recv(timeout=timeout)
                assert isinstance(raw, str), "the server sends text frames only"
                message = json.loads(raw)
                seen.append(message)
                self._note(conn, message)
                if message["type"] != "ack":  # a reply: everything sent before was taken
                    conn.frames_in_flight = False
                if message["type"] == until:
                    return seen
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else 1006
            self._closed(conn, code)
            if until is not None and not or_close:
                raise AssertionError(f"closed {code} while waiting for {until}: {seen}") from None
            return seen
        except TimeoutError:
            raise AssertionError(f"no {until or 'close'} within {timeout} s: {seen}") from None

    def _note(self, conn: Connection, message: dict[str, Any]) -> None:
        recording = conn.recording
        if message["type"] == "ack" and recording is not None:
            received = message["received_bytes"]
            assert received <= recording.position, "an ack covers bytes never sent"
            recording.acked = max(recording.acked, received)
            recording.confirmed = max(recording.confirmed, received)

    def _send(self, conn: Connection, data: str | bytes) -> None:
        conn.last_sent = time.monotonic()
        try:
            conn.ws.send(data)
        except ConnectionClosed as closed:  # the server closed it when nothing said it would
            code = closed.rcvd.code if closed.rcvd is not None else 1006
            reason = closed.rcvd.reason if closed.rcvd is not None else ""
            self._closed(conn, code)
            raise AssertionError(
                f"the server closed a connection unexpectedly ({code} {reason})"
            ) from None

    def _closed(self, conn: Connection, code: int) -> None:
        """The connection ended. ``detached_at`` is a time the server's grace cannot have
        started before: the client's last send, or the moment it began to close."""
        conn.closes.append(code)
        if code == 1011 and not conn.faulted:
            self.unexpected_closes.append("1011 without an injected fault")
        if conn.state == "closed":
            return
        conn.state = "closed"
        recording = conn.recording
        if recording is not None and recording.attached is conn:
            recording.attached = None
            if not recording.ended:
                recording.detached_at = conn.last_sent

    def _expect_error(self, conn: Connection, code: str, close: int) -> None:
        recording = conn.recording
        attached = recording is not None and recording.attached is conn
        seen = self._read(conn, None)
        errors = [m["code"] for m in seen if m["type"] == "error"]
        assert errors == [code], f"expected {code}, got {seen}"
        assert conn.closes[-1] == close, f"{code}: closed {conn.closes[-1]}, not {close}"
        if attached:  # answered after every frame sent before: each was taken
            assert recording is not None
            recording.confirmed = recording.position

    def _superseded(self, conn: Connection) -> bool:
        return conn.recording is not None and conn.recording.attached is not conn

    # -- rules ----------------------------------------------------------------------------------

    @initialize()
    def recording(self) -> None:
        """Every example starts with a client recording."""
        self.connect()
        self.start(0)

    @precondition(lambda self: len(self._open()) < MAX_CONNECTIONS)
    @rule()
    def connect(self) -> None:
        try:
            ws = self.server.connect(self.token).__enter__()
        except (OSError, InvalidHandshake) as exc:
            raise AssertionError(f"the server refused a connection: {exc}") from exc
        self.connections.append(Connection(ws))

    @precondition(lambda self: self._open())
    @rule(index=st.integers(0, MAX_CONNECTIONS - 1))
    def start(self, index: int) -> None:
        conn = self._pick(index)
        self._send(conn, json.dumps({"type": "start", "title": "fuzz", "sample_rate": 16000}))
        if conn.state != "fresh":
            self._expect_error(conn, "already_started", 4400)
            return
        started = self._read(conn, "started")[-1]
        recording = Recording(started["session_id"], started["meeting_id"], started["resume_token"])
        recording.attached = conn
        conn.state, conn.recording = "streaming", recording
        self.recordings.append(recording)
        self.stats["recordings"] += 1

    @precondition(lambda self: self._open() and self.recordings)
    @rule(
        index=st.integers(0, MAX_CONNECTIONS - 1),
        which=st.integers(0, 20),
        good=st.booleans(),
        late=st.integers(0, LATE_ODDS - 1).map(lambda n: n == LATE_ODDS // 2),
    )
    def resume(self, index: int, which: int, good: bool, late: bool) -> None:
        """A resume on a new connection: with a wrong token; right away, within the grace
        (it must succeed); or, now and then, ``late``: once the grace (or, after a restart,
        recovery) has ended the recording, which must then be refused."""
        conn = self._pick(index)
        recording = self.recordings[which % len(self.recordings)]
        token = recording.resume_token if good else recording.resume_token[::-1]
        expect_resumed = good and conn.state == "fresh" and not recording.ended
        if expect_resumed and recording.attached is None and late:
            # the wait lets every other recording without a connection end too
            for waited in self.recordings:
                if waited.attached is None and not waited.ended:
                    self._wait_completed(waited, "its last connection ended")
                    waited.ended = True  # by the server: refused from now on
            expect_resumed = False
        if expect_resumed:
            self._before_resume(conn, recording)
        self._send(
            conn,
            json.dumps(
                {"type": "resume", "session_id": recording.session_id, "resume_token": token}
            ),
        )
        if conn.state != "fresh":
            self._expect_error(conn, "already_started", 4400)
        elif not good:
            self._expect_error(conn, "session_not_found", 4404)
        elif expect_resumed:
            self._resumed(conn, recording, self._read(conn, "resumed", 15)[-1])
        else:
            self._expect_error(conn, "session_ended", 4404)

    def _before_resume(self, conn: Connection, recording: Recording) -> None:
        """What a resume that must succeed needs to hold, and what it does to the connection
        it supersedes."""
        previous = recording.attached
        if previous is None:
            left = self._resume_time_left(recording)
            assert left > 0, (
                f"the example took too long: a resume {-left:.1f} s past its recording's grace "
                "(a machine this slow needs a longer MINA_RESUME_GRACE_S for fuzzing)"
            )
        elif previous is not conn and previous.frames_in_flight:
            # they may reach the server before this resume (taken) or after it (refused:
            # superseded, and the server closes it): either is right and which one is timing,
            # so the model uses that connection no more
            previous.state = "abandoned"

    def _wait_completed(self, recording: Recording, why: str) -> None:
        """Wait until the recording's meeting is completed, within its deadline."""
        settings = self.server.settings
        wait_s = self.grace_s + SETTLE_S
        if recording.restarted_at is not None:
            wait_s += settings.stale_after_s + max(1.0, settings.stale_after_s / 3)
        deadline = time.monotonic() + wait_s
        sessions = self.server.app.state.sessions
        while True:
            with transaction(sessions) as session:
                meeting = session.get(Meeting, recording.meeting_id)
                assert meeting is not None
                status = meeting.status
            if status is MeetingStatus.COMPLETED:
                return
            assert time.monotonic() < deadline, (
                f"meeting {recording.meeting_id} still {status.value} {wait_s:.0f} s after {why}"
            )
            time.sleep(0.02)

    def _resumed(self, conn: Connection, recording: Recording, answer: dict[str, Any]) -> None:
        received = answer["received_bytes"]
        assert answer["meeting_id"] == recording.meeting_id
        assert not recording.ended, "an ended recording was resumed"
        assert recording.confirmed <= received <= recording.position, (
            f"resumed at {received}: the server took at least {recording.confirmed} "
            f"and was sent {recording.position}"
        )
        assert received >= recording.acked, "acknowledged audio was lost"
        # an earlier connection still attached is superseded: its next audio or stop is refused
        recording.position = recording.confirmed = received
        recording.attached, recording.detached_at, recording.restarted_at = conn, None, None
        conn.state, conn.recording = "streaming", recording
        self.stats["resumes"] += 1

    @precondition(lambda self: self._open())
    @rule(
        index=st.integers(0, MAX_CONNECTIONS - 1),
        size=st.one_of(
            st.just(0),
            st.integers(1, 9),
            st.integers(10, 6400),
            st.integers(6400, MAX_FRAME),
            st.integers(MAX_FRAME + 1, MAX_FRAME + 4096),
        ),
    )
    def audio(self, index: int, size: int) -> None:
        self._send_audio(self._pick(index), [size])

    @precondition(lambda self: self._open())
    @rule(index=st.integers(0, MAX_CONNECTIONS - 1), frames=st.integers(1, 30))
    def speak(self, index: int, frames: int) -> None:
        """What a browser sends: 100 ms frames, one after another."""
        conn = self._pick(index)
        attached = conn.recording is not None and conn.recording.attached is conn
        self._send_audio(conn, [BROWSER_FRAME] * (frames if attached else 1))

    def _send_audio(self, conn: Connection, sizes: list[int]) -> None:
        recording = conn.recording
        for size in sizes:
            start = recording.position if recording is not None else 0
            self._send(conn, tape_bytes(start, start + size))
            self._audio_sent(conn, size)

    def _audio_sent(self, conn: Connection, size: int) -> None:
        recording = conn.recording
        if size > MAX_FRAME:
            self._expect_error(conn, "frame_too_large", 4413)
        elif conn.state == "fresh":
            self._expect_error(conn, "not_started", 4400)
        elif self._superseded(conn):
            self._expect_error(conn, "superseded", 4400)
        else:
            assert recording is not None
            recording.position += size
            conn.frames_in_flight = True
            self.stats["audio frames taken"] += 1

    @precondition(lambda self: self._open())
    @rule(index=st.integers(0, MAX_CONNECTIONS - 1))
    def fault(self, index: int) -> None:
        conn = self._pick(index)
        conn.faulted = True
        self._send(conn, FAULT_FRAME)
        if conn.state == "fresh":
            self._expect_error(conn, "not_started", 4400)
        elif self._superseded(conn):
            self._expect_error(conn, "superseded", 4400)
        else:
            self._expect_error(conn, "server_error", 1011)
            self.stats["faults injected"] += 1

    @precondition(lambda self: self._open())
    @rule(index=st.integers(0, MAX_CONNECTIONS - 1), junk=st.sampled_from(sorted(JUNK)))
    def junk(self, index: int, junk: str) -> None:
        conn = self._pick(index)
        self._send(conn, junk)
        self._expect_error(conn, JUNK[junk], 4400)

    @precondition(lambda self: self._open())
    @rule(index=st.integers(0, MAX_CONNECTIONS - 1))
    def ping(self, index: int) -> None:
        conn = self._pick(index)
        self._send(conn, json.dumps({"type": "ping"}))
        self._read(conn, "pong")
        recording = conn.recording
        if recording is not None and recording.attached is conn:
            recording.confirmed = recording.position  # every frame before the ping was taken

    @precondition(lambda self: self._open())
    @rule(index=st.integers(0, MAX_CONNECTIONS - 1))
    def stop(self, index: int) -> None:
        conn = self._pick(index)
        self._send(conn, json.dumps({"type": "stop"}))
        if conn.state == "fresh":
            self._expect_error(conn, "not_started", 4400)
            return
        if self._superseded(conn):
            self._expect_error(conn, "superseded", 4400)
            return
        recording = conn.recording
        assert recording is not None
        self._stop_on(conn, recording, sent=True)

    def _stop_on(self, conn: Connection, recording: Recording, *, sent: bool = False) -> None:
        """Stop the recording attached to ``conn`` (``sent``: the stop is on its way)."""
        if not sent:
            self._send(conn, json.dumps({"type": "stop"}))
        stopped = self._read(conn, "stopped", 30)[-1]
        assert stopped["meeting_id"] == recording.meeting_id
        assert stopped["duration_ms"] == recording.position * 1000 // 32000
        recording.ended, recording.confirmed = True, recording.position
        recording.attached = None
        self.stats["stops"] += 1
        self._read(conn, None)
        assert conn.closes[-1] == 1000

    @precondition(lambda self: self._open())
    @rule(index=st.integers(0, MAX_CONNECTIONS - 1), abrupt=st.booleans())
    def disconnect(self, index: int, abrupt: bool) -> None:
        conn = self._pick(index)
        conn.last_sent = time.monotonic()
        if abrupt:
            try:
                conn.ws.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        conn.ws.close()
        self._closed(conn, 1006 if abrupt else 1000)

    @rule(roll=st.integers(0, RESTART_ODDS - 1))
    def restart(self, roll: int) -> None:
        """Now and then (a restart costs seconds), the server stops and starts again."""
        if roll != RESTART_ODDS // 2:  # not 0: generation favours the ends of a range
            return
        began = time.monotonic()
        self.server.stop()
        for conn in self._open():
            self._read(conn, None)
            assert conn.closes[-1] in (1012, 1006), f"closed {conn.closes[-1]} by a shutdown"
        for recording in self.recordings:
            if not recording.ended and recording.restarted_at is None:
                recording.restarted_at = began
        self.server.start()
        self.stats["restarts"] += 1

    # -- after each example -----------------------------------------------------------------------

    def teardown(self) -> None:
        for recording in self.recordings:
            if not recording.ended:
                self._stop_for_good(recording)
        for conn in self._open():
            conn.ws.close()
            self._closed(conn, 1000)
        for conn in self.connections:
            conn.ws.close()
        assert not self.unexpected_closes, self.unexpected_closes
        assert self.http.get("/healthz").status_code == 200
        for recording in self.recordings:
            self._check_ended(recording)
        self.stats["examples"] += 1

    def _resume_time_left(self, recording: Recording) -> float:
        """Seconds left for a resume of this detached recording to be sure to succeed."""
        since = recording.restarted_at or recording.detached_at
        assert since is not None, "a recording with no connection ended"
        settings = self.server.settings
        return (
            settings.stale_after_s - 2 * min(1.0, settings.heartbeat_s)
            if recording.restarted_at is not None
            else self.grace_s
        ) - (time.monotonic() - since)

    def _stop_for_good(self, recording: Recording) -> None:
        """End a recording still going as its client would: stop it, on its connection or on
        a new one that resumes it. One whose grace is (nearly) over on a busy machine is left
        to end by itself, which ``_check_ended`` then waits for and checks the same way."""
        conn = recording.attached
        if conn is None and self._resume_time_left(recording) < TEARDOWN_MARGIN_S:
            return
        if conn is None:
            self.connect()
            conn = self.connections[-1]
            self._before_resume(conn, recording)
            self._send(
                conn,
                json.dumps(
                    {
                        "type": "resume",
                        "session_id": recording.session_id,
                        "resume_token": recording.resume_token,
                    }
                ),
            )
            self._resumed(conn, recording, self._read(conn, "resumed", 15)[-1])
        self._stop_on(conn, recording)

    def _check_ended(self, recording: Recording) -> None:
        self._wait_completed(recording, "its last connection ended")
        sessions = self.server.app.state.sessions
        # read once it is completed: one statement may not see what the next one sees
        with transaction(sessions) as session:
            row = store.get_recording(session, external_id=recording.session_id)
            assert row is not None and row.status is not SessionStatus.ACTIVE
            path, audio_bytes = Path(row.audio_path), row.audio_bytes
            words = [
                w["text"]
                for s in store.list_transcript(session, meeting_id=recording.meeting_id)
                for w in s.words
            ]
        data = path.read_bytes()
        assert recording.confirmed <= len(data) <= recording.position, (
            f"{len(data)} bytes on disk: the server took at least {recording.confirmed} "
            f"and was sent {recording.position}"
        )
        assert len(data) >= recording.acked, "acknowledged audio was lost"
        assert data == tape_bytes(0, len(data)), "the audio on disk is not what was sent"
        assert audio_bytes in (len(data), len(data) - len(data) % 2), (
            f"the recording says {audio_bytes} bytes of audio, its file has {len(data)}: "
            f"{recording}"
        )
        self._check_words(words, len(data))

    def _check_words(self, texts: list[str], size: int) -> None:
        numbers = [int(t.strip().rstrip(".,!?").lower().removeprefix("word")) for t in texts]
        assert len(numbers) == len(set(numbers)), f"a word was stored twice: {numbers}"
        assert numbers == sorted(numbers), f"words out of order: {numbers}"
        spans = tape().words
        for number in numbers:
            assert number < len(spans) and spans[number][0] < size, f"word{number} was not said"
        heard = [n for n, (_, end) in enumerate(spans) if end <= size]
        missing = sorted(set(heard) - set(numbers))
        assert not missing, f"words in the audio were not stored: {missing}"


def run_fuzz(
    server: LiveServer, token: str, *, examples: int, stats: Counter[str] | None = None
) -> None:
    """Run ``examples`` examples of the machine against ``server``; the first failure raises,
    shrunk to a short sequence of steps. ``stats`` counts what the examples did."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        machine = type(
            "ProtocolFuzz",
            (ProtocolMachine,),
            {
                "server": server,
                "http": http,
                "token": token,
                "grace_s": server.settings.resume_grace_s,
                "stats": stats if stats is not None else Counter(),
            },
        )
        run_state_machine_as_test(
            machine,
            settings=hypothesis_settings(
                max_examples=examples,
                stateful_step_count=30,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
