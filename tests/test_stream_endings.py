"""Every way a live stream's connection can end after ``start`` leaves no meeting live.

A real server (uvicorn over TCP, in this process so that a fault can be injected) and a real
WebSocket client: whatever ends the connection, the meeting is completed within the resume grace
plus a few seconds, with every byte of audio the server received and every word in it.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from websockets.sync.client import ClientConnection

from mina.audiostore import AudioWriter
from mina.settings import Settings
from tests.livehelp import FRAME, sentences_pcm, words_of
from tests.liveserver import (
    LiveServer,
    close_code,
    drop,
    live_server,
    receive_json,
    send_json,
)

GRACE_S = 1.0  # quick_settings' resume grace
SPOKEN = ([1, 2, 3], [4, 5])


@pytest.fixture
def token(ada_token: str) -> str:
    return ada_token


@pytest.fixture
def server(quick_settings: Settings) -> Iterator[LiveServer]:
    with live_server(quick_settings) as running:
        yield running


@dataclass
class Stream:
    server: LiveServer
    token: str
    ws: ClientConnection
    started: dict[str, object]
    sockets: ExitStack

    def resume(self) -> ClientConnection:
        ws = self.sockets.enter_context(self.server.connect(self.token))
        send_json(
            ws,
            {
                "type": "resume",
                "session_id": self.started["session_id"],
                "resume_token": self.started["resume_token"],
            },
        )
        assert receive_json(ws)["type"] == "resumed"
        return ws


def end_with_stop(stream: Stream) -> None:
    send_json(stream.ws, {"type": "stop"})
    assert close_code(stream.ws) == 1000


def end_with_close(stream: Stream) -> None:
    stream.ws.close()  # a close frame, but no stop: the tab was closed


def end_with_tcp_drop(stream: Stream) -> None:
    drop(stream.ws)


def _protocol_error(send: Callable[[ClientConnection], None], code: int, error: str) -> Callable:
    def end(stream: Stream) -> None:
        send(stream.ws)
        assert close_code(stream.ws, expect_error=error) == code

    return end


def end_with_idle_timeout(stream: Stream) -> None:
    assert close_code(stream.ws, expect_error="idle_timeout") == 4408


def end_superseded(stream: Stream) -> None:
    """A resume takes the recording over; the old socket is refused, the new one drops."""
    new = stream.resume()
    stream.ws.send(b"\x00\x00" * 100)
    assert close_code(stream.ws, expect_error="superseded") == 4400
    drop(new)


def end_with_server_fault(stream: Stream, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up under the handler: 1011, and the recording keeps what it has."""

    def full(self: AudioWriter, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(AudioWriter, "append", full)
    stream.ws.send(b"\x01\x00" * 1600)
    assert close_code(stream.ws, expect_error="server_error") == 1011
    monkeypatch.undo()


def end_with_shutdown(stream: Stream) -> None:
    """The server is stopped (SIGTERM) and started again; nobody resumes."""
    stream.server.stop()
    assert close_code(stream.ws) == 1012  # uvicorn: service restart
    stream.server.start()


ENDINGS: dict[str, Callable[..., None]] = {
    "stop": end_with_stop,
    "close_without_stop": end_with_close,
    "tcp_drop": end_with_tcp_drop,
    "bad_json": _protocol_error(lambda ws: ws.send("{oops"), 4400, "bad_json"),
    "unknown_type": _protocol_error(
        lambda ws: send_json(ws, {"type": "dance"}), 4400, "unknown_type"
    ),
    "second_start": _protocol_error(
        lambda ws: send_json(ws, {"type": "start", "sample_rate": 16000}), 4400, "already_started"
    ),
    "frame_too_large": _protocol_error(
        lambda ws: ws.send(b"\x00" * (64 * 1024 + 2)), 4413, "frame_too_large"
    ),
    "superseded": end_superseded,
    "idle_timeout": end_with_idle_timeout,
    "server_fault": end_with_server_fault,
    "server_shutdown": end_with_shutdown,
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_every_ending_completes_the_meeting_with_its_audio_and_words(
    server: LiveServer, token: str, ending: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pcm = sentences_pcm(*SPOKEN)
    with ExitStack() as sockets:
        ws = sockets.enter_context(server.connect(token))
        send_json(ws, {"type": "start", "title": ending, "sample_rate": 16000})
        started = receive_json(ws)
        assert started["type"] == "started"
        for offset in range(0, len(pcm), FRAME):
            ws.send(pcm[offset : offset + FRAME])
        send_json(ws, {"type": "ping"})  # the server has taken every frame once it answers
        while receive_json(ws)["type"] != "pong":
            pass
        stream = Stream(server, token, ws, started, sockets)
        end = ENDINGS[ending]
        if ending == "server_fault":
            end(stream, monkeypatch)
        else:
            end(stream)
        ended_at = time.monotonic()

    meeting_id = started["meeting_id"]
    with server.http(token) as http:
        deadline = ended_at + GRACE_S + 8
        while True:
            meeting = http.get(f"/api/meetings/{meeting_id}").json()
            if meeting["status"] == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert meeting["status"] == "completed", f"still {meeting['status']} after {ending}"
        audio = http.get(f"/api/meetings/{meeting_id}/audio").content[44:]
        transcript = http.get(f"/api/meetings/{meeting_id}/transcript").json()["segments"]
    assert audio == pcm
    words = [w["text"].rstrip(".").lower() for s in transcript for w in s["words"]]
    assert words == words_of(*SPOKEN)
    assert meeting["word_count"] == len(words)
