"""WebSockets: ``/ws/transcribe`` (streaming protocol v1) and ``/ws/meetings/{id}/live`` (viewers).

The transcribe handler is an explicit state machine: AWAIT_START -> STREAMING -> CLOSED. Only
known message types are accepted; a bad frame gets a typed ``error`` and a close code, never a
traceback. However a connection ends after ``start`` (a stop, a drop, an error close, the idle
timeout, a server fault, a shutdown), ``finally`` hands the recording back to its recorder: a
stopped one is already final, any other waits the resume grace and then finalises its meeting.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketState

from mina import security, store
from mina.audiostore import AudioBusy
from mina.live.recorder import Recorder, RecordingEnded, open_recorder
from mina.live.services import LiveServices
from mina.models import SessionStatus
from mina.observability.context import bind_recording
from mina.shapes import segment_json
from mina.speakers.job import MAX_SPEAKERS
from mina.teams.access import AccessRevocations
from mina.web.cookies import read_session_cookie
from mina.web.deps import (
    SESSION_WORKSPACE,
    WORKSPACE_HEADER,
    bearer_token,
    choose_workspace,
    cookie_user,
)
from mina.web.proxies import FORWARDED_HOST, origin_allowed

logger = logging.getLogger(__name__)
router = APIRouter()

MAX_FRAME_BYTES = 64 * 1024
SUPPORTED_RATES = (16000,)
SUPPORTED_ENCODINGS = ("pcm_s16le",)

# close codes of protocol v1
BAD_REQUEST, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND = 4400, 4401, 4403, 4404
IDLE_TIMEOUT, FRAME_TOO_LARGE, SERVER_FAULT, NORMAL = 4408, 4413, 1011, 1000
TAKEN_OVER = 4409  # a resume on another server process continues this recording
TRY_AGAIN_LATER = 1013  # a viewer that fell behind: reconnect for the transcript so far


class ProtocolError(Exception):
    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.code = code
        self.message = message


class State(enum.Enum):
    AWAIT_START = "await_start"
    STREAMING = "streaming"
    CLOSED = "closed"


def _origin_ok(websocket: WebSocket) -> bool:
    """Cookie-authenticated sockets must come from our own pages (no cross-site hijacking):
    MINA_PUBLIC_URL or the request's own origin (mina.web.proxies), or MINA_ALLOWED_ORIGINS."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient cookie risk
    settings = websocket.app.state.settings
    return origin_allowed(
        origin,
        scheme=websocket.scope.get("scheme", "ws"),
        host=websocket.headers.get("host", ""),
        forwarded_host=websocket.scope.get(FORWARDED_HOST),
        public_url=settings.public_url,
        allowed=[a for a in settings.allowed_origins.split(",") if a],
    )


def authenticate(websocket: WebSocket, session: Session) -> store.Principal:
    """Who connects, acting in the token's workspace or the session's (as the API does), or in
    the one an ``X-Mina-Workspace`` header names among theirs (another answers not found)."""
    authorization = websocket.headers.get("authorization")
    preferred: int | None = None
    if authorization:
        token = bearer_token(authorization)
        found = store.get_token(session, token=token) if token else None
        if found is None:
            raise ProtocolError(UNAUTHENTICATED, "invalid_token", "The API token is not valid.")
        api_token, user = found
        preferred = api_token.workspace_id
    else:
        signer = websocket.app.state.cookie_signer
        data = read_session_cookie(signer, websocket.headers.get("cookie"))
        signed_in = cookie_user(session, data)
        if signed_in is None:
            raise ProtocolError(UNAUTHENTICATED, "unauthenticated", "Sign in first.")
        if not _origin_ok(websocket):
            raise ProtocolError(FORBIDDEN, "bad_origin", "Cross-origin connection refused.")
        user = signed_in
        chosen = data.get(SESSION_WORKSPACE)
        preferred = chosen if isinstance(chosen, int) else None
    principal = choose_workspace(
        session, user, preferred=preferred, named=websocket.headers.get(WORKSPACE_HEADER)
    )
    if principal is None:
        raise ProtocolError(NOT_FOUND, "not_found", "Workspace not found.")
    return principal


class TranscribeConnection:
    """One client connection of protocol v1."""

    def __init__(self, websocket: WebSocket, services: LiveServices) -> None:
        self.ws = websocket
        self.services = services
        self.state = State.AWAIT_START
        self.principal: store.Principal | None = None
        self.recorder: Recorder | None = None
        self._send_lock = asyncio.Lock()
        self.idle_timeout_s: float = websocket.app.state.settings.idle_timeout_s

    async def send(self, event: dict[str, Any]) -> None:
        async with self._send_lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.send_text(json.dumps(event, separators=(",", ":")))

    async def run(self) -> None:
        await self.ws.accept()
        try:
            self.principal = await self.services.db(lambda s: authenticate(self.ws, s))
            # one timer for the connection, moved at each message: a wait_for per audio frame
            # would cost a task and a timer each
            idle = asyncio.timeout(None)
            try:
                async with idle:
                    await self._receive(idle)
            except TimeoutError:
                if not idle.expired():
                    raise
                raise ProtocolError(
                    IDLE_TIMEOUT,
                    "idle_timeout",
                    f"Nothing received for {self.idle_timeout_s:g} s.",
                ) from None
        except ProtocolError as exc:
            logger.info("closing stream: %s (%s)", exc.code, exc.message)
            await self.close_with_error(exc.close_code, exc.code, exc.message)
        except WebSocketDisconnect:
            pass
        except Exception:
            logger.exception("stream failed")
            await self.close_with_error(
                SERVER_FAULT, "server_error", "The server failed; resume to continue."
            )
        finally:
            self.state = State.CLOSED
            if self.recorder is not None:
                # a no-op after a stop, or for a connection a resume superseded
                self.recorder.detach(self.send)

    async def _receive(self, idle: asyncio.Timeout) -> None:
        """Messages until the socket closes; ``idle`` runs out while none comes for
        ``idle_timeout_s`` (it is off while a message is handled)."""
        loop = asyncio.get_running_loop()
        while self.state is not State.CLOSED:
            idle.reschedule(loop.time() + self.idle_timeout_s)
            message = await self.ws.receive()
            idle.reschedule(None)
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                self.on_audio(message["bytes"])
            elif message.get("text") is not None:
                await self.on_text(message["text"])

    async def taken_over(self) -> None:
        """The recording continues on another server process: this connection ends."""
        self.state = State.CLOSED
        await self.close_with_error(
            TAKEN_OVER, "taken_over", "This recording continues on another connection."
        )

    async def close_with_error(self, close_code: int, code: str, message: str) -> None:
        try:
            await self.send({"type": "error", "code": code, "message": message})
            await self.ws.close(close_code)
        except Exception:
            logger.debug("socket already gone")

    # -- messages -----------------------------------------------------------------------

    def on_audio(self, data: bytes) -> None:
        if len(data) > MAX_FRAME_BYTES:
            raise ProtocolError(
                FRAME_TOO_LARGE,
                "frame_too_large",
                f"Audio frames are at most {MAX_FRAME_BYTES} bytes.",
            )
        if self.state is not State.STREAMING or self.recorder is None:
            raise ProtocolError(BAD_REQUEST, "not_started", "Send start (or resume) before audio.")
        if self.recorder.taken_over:
            raise ProtocolError(
                TAKEN_OVER, "taken_over", "This recording continues on another connection."
            )
        if not self.recorder.is_attached(self.send):
            raise ProtocolError(
                BAD_REQUEST, "superseded", "Another connection resumed this recording."
            )
        if not data:
            return
        self.recorder.feed(data)

    async def on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            raise ProtocolError(BAD_REQUEST, "bad_json", "Messages must be JSON objects.") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ProtocolError(BAD_REQUEST, "bad_message", "A message needs a string 'type'.")
        kind = message["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "start":
            await self.on_start(message)
        elif kind == "resume":
            await self.on_resume(message)
        elif kind == "stop":
            await self.on_stop()
        else:
            raise ProtocolError(BAD_REQUEST, "unknown_type", f"Unknown message type {kind!r}.")

    async def on_start(self, message: dict[str, Any]) -> None:
        if self.state is not State.AWAIT_START:
            raise ProtocolError(BAD_REQUEST, "already_started", "This connection already streams.")
        rate = message.get("sample_rate", 16000)
        encoding = message.get("encoding", "pcm_s16le")
        if rate not in SUPPORTED_RATES or encoding not in SUPPORTED_ENCODINGS:
            raise ProtocolError(
                BAD_REQUEST,
                "unsupported_audio",
                f"Send {SUPPORTED_ENCODINGS[0]} at {SUPPORTED_RATES[0]} Hz mono "
                f"(got {encoding!r} at {rate!r}).",
            )
        title = message.get("title")
        language = message.get("language") or "en"
        meeting_id = message.get("meeting_id")
        speakers = message.get("speakers")
        if speakers is not None and (
            not isinstance(speakers, int)
            or isinstance(speakers, bool)
            or not 1 <= speakers <= MAX_SPEAKERS
        ):
            raise ProtocolError(
                BAD_REQUEST,
                "bad_start",
                f"start: speakers is a whole number from 1 to {MAX_SPEAKERS}, or left out.",
            )
        if (
            (title is not None and not isinstance(title, str))
            or not isinstance(language, str)
            or (
                meeting_id is not None
                and (not isinstance(meeting_id, int) or isinstance(meeting_id, bool))
            )
        ):
            raise ProtocolError(
                BAD_REQUEST,
                "bad_start",
                "start: title and language are strings, meeting_id an integer.",
            )
        principal = self.principal
        assert principal is not None
        if principal.role.value == "viewer":
            raise ProtocolError(FORBIDDEN, "forbidden", "Viewers cannot record.")
        settings = self.ws.app.state.settings

        def create(session: Session) -> store.StartedRecording:
            return store.start_recording(
                session,
                principal=principal,
                audio_dir=settings.audio_dir,
                title=title,
                language=language[:16],
                sample_rate=rate,
                engine=settings.engine,
                model=settings.model,
                meeting_id=meeting_id,
                expected_speakers=speakers,
            )

        try:
            started = await self.services.db(create)
        except store.StoreError as exc:
            close = NOT_FOUND if exc.code == "meeting_not_found" else BAD_REQUEST
            raise ProtocolError(close, exc.code, exc.message) from None
        bind_recording(meeting=started.meeting.id, session=started.recording.external_id)
        try:
            self.recorder = await open_recorder(self.services, started.recording)
        except Exception:
            # nothing was recorded: the meeting must not stay live behind a recorder that never ran
            await self.services.db(
                lambda s: store.finish_recording(
                    s, recording_id=started.recording.id, audio_bytes=0
                )
            )
            raise
        self.recorder.attach(self.send, self.taken_over)
        self.state = State.STREAMING
        logger.info(
            "recording %s started (meeting %s)", started.recording.external_id, started.meeting.id
        )
        self.services.bus.publish(
            started.meeting.id, {"type": "started", "meeting_id": started.meeting.id}
        )
        await self.send(
            {
                "type": "started",
                "meeting_id": started.meeting.id,
                "session_id": started.recording.external_id,
                "resume_token": started.resume_token,
                "engine": settings.engine,
                "model": settings.model,
                "sample_rate": rate,
            }
        )

    async def on_resume(self, message: dict[str, Any]) -> None:
        if self.state is not State.AWAIT_START:
            raise ProtocolError(BAD_REQUEST, "already_started", "This connection already streams.")
        session_id, token = message.get("session_id"), message.get("resume_token")
        if not isinstance(session_id, str) or not isinstance(token, str):
            raise ProtocolError(
                BAD_REQUEST, "bad_resume", "resume needs session_id and resume_token."
            )
        principal = self.principal
        assert principal is not None
        recorder = self.services.recorders.get(session_id)
        if recorder is None:
            recorder = await self._restore(session_id, token, principal)
        elif recorder.workspace_id != principal.workspace.id or not security.tokens_equal(
            recorder.resume_token_hash, security.hash_token(token)
        ):
            raise ProtocolError(NOT_FOUND, "session_not_found", "No such recording session.")
        if recorder.stopping:
            raise ProtocolError(NOT_FOUND, "session_ended", "This recording has already ended.")
        self.recorder = recorder
        bind_recording(meeting=recorder.meeting_id, session=session_id)
        recorder.attach(self.send, self.taken_over)
        self.state = State.STREAMING
        logger.info("recording %s resumed at byte %d", session_id, recorder.received_bytes)
        await self.send(
            {
                "type": "resumed",
                "session_id": session_id,
                "meeting_id": recorder.meeting_id,
                "received_bytes": recorder.received_bytes,
            }
        )
        if recorder.interim is not None:
            await self.send(recorder.interim)

    async def _restore(self, session_id: str, token: str, principal: store.Principal) -> Recorder:
        """A recording this process does not hold (the server restarted): continue it from disk."""
        async with self.services.restore_lock:
            existing = self.services.recorders.get(session_id)
            if existing is not None:
                return existing

            def claim(session: Session) -> Any:
                recording = store.get_recording(session, external_id=session_id)
                if (
                    recording is None
                    or recording.workspace_id != principal.workspace.id
                    or not security.tokens_equal(
                        recording.resume_token_hash, security.hash_token(token)
                    )
                ):
                    return "missing"
                if recording.status is not SessionStatus.ACTIVE:
                    return "ended"
                if not store.touch_recording(
                    session, recording_id=recording.id, audio_bytes=recording.audio_bytes
                ):
                    return "ended"
                return recording

            found = await self.services.db(claim)
            if found == "missing":
                raise ProtocolError(NOT_FOUND, "session_not_found", "No such recording session.")
            if found == "ended":
                raise ProtocolError(NOT_FOUND, "session_ended", "This recording has already ended.")
            logger.info("restoring recording %s from disk", session_id)
            try:
                return await open_recorder(self.services, found, restore=True)
            except RecordingEnded:
                raise ProtocolError(
                    NOT_FOUND, "session_ended", "This recording has already ended."
                ) from None
            except AudioBusy:
                raise ProtocolError(
                    TRY_AGAIN_LATER,
                    "recording_busy",
                    "Another server process still writes this recording; resume again shortly.",
                ) from None

    async def on_stop(self) -> None:
        if self.state is not State.STREAMING or self.recorder is None:
            raise ProtocolError(BAD_REQUEST, "not_started", "Nothing to stop.")
        if self.recorder.taken_over:
            raise ProtocolError(
                TAKEN_OVER, "taken_over", "This recording continues on another connection."
            )
        if not self.recorder.is_attached(self.send):
            raise ProtocolError(
                BAD_REQUEST, "superseded", "Another connection resumed this recording."
            )
        summary = await self.recorder.stop()
        await self.send(
            {
                "type": "stopped",
                "meeting_id": summary.meeting_id,
                "duration_ms": summary.duration_ms,
                "segments": summary.segments,
                "words": summary.words,
            }
        )
        self.state = State.CLOSED
        await self.ws.close(NORMAL)


@router.websocket("/ws/transcribe")
async def transcribe(websocket: WebSocket) -> None:
    await TranscribeConnection(websocket, websocket.app.state.live).run()


@router.websocket("/ws/meetings/{meeting_id}/live")
async def follow_meeting(websocket: WebSocket, meeting_id: int) -> None:
    """Viewers: the transcript so far, then the live interim and final events."""
    services: LiveServices = websocket.app.state.live
    await websocket.accept()
    try:
        principal = await services.db(lambda s: authenticate(websocket, s))

        def load(session: Session) -> Any:
            meeting = store.get_meeting(
                session, workspace_id=principal.workspace.id, meeting_id=meeting_id
            )
            if meeting is None:
                return None
            return meeting.status.value, [
                segment_json(s) for s in store.list_transcript(session, meeting_id=meeting_id)
            ]

        with services.bus.subscribe(meeting_id) as queue:
            loaded = await services.db(load)
            if loaded is None:
                raise ProtocolError(NOT_FOUND, "not_found", "Meeting not found.")
            status, segments = loaded
            await websocket.send_json(
                {"type": "transcript", "status": status, "segments": segments}
            )
            if status != "live":
                await websocket.close(NORMAL)
                return
            access: AccessRevocations = websocket.app.state.access
            with access.watch(principal.user.id, principal.workspace.id) as revoked:
                await _relay(websocket, queue, seen={s["id"] for s in segments}, revoked=revoked)
    except ProtocolError as exc:
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await websocket.close(exc.close_code)
    except WebSocketDisconnect:
        pass


async def _relay(
    websocket: WebSocket,
    queue: asyncio.Queue[dict[str, Any]],
    *,
    seen: set[int],
    revoked: asyncio.Event,
) -> None:
    """Forward bus events to a viewer until it leaves, the recording stops, or the viewer is
    removed from the workspace (closed at once with ``access_revoked``)."""
    receiver = asyncio.ensure_future(websocket.receive())
    getter: asyncio.Future[dict[str, Any]] | None = None
    cut = asyncio.ensure_future(revoked.wait())
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {getter, receiver, cut}, return_when=asyncio.FIRST_COMPLETED
            )
            if cut in done:
                message = "You no longer have access to this workspace."
                await websocket.send_json(
                    {"type": "error", "code": "access_revoked", "message": message}
                )
                await websocket.close(FORBIDDEN)
                return
            if receiver in done:
                if receiver.result()["type"] == "websocket.disconnect":
                    return
                receiver = asyncio.ensure_future(websocket.receive())  # viewers' pings: ignored
                continue
            event = getter.result()
            if event.get("type") == "final":
                if event["segment"]["id"] in seen:
                    continue
                seen.add(event["segment"]["id"])
            await websocket.send_json(event)
            if event.get("type") == "stopped":
                await websocket.close(NORMAL)
                return
            if event.get("type") == "error":  # dropped by the bus (too slow): nothing more comes
                await websocket.close(TRY_AGAIN_LATER)
                return
    finally:
        for task in (receiver, getter, cut):
            if task is not None and not task.done():
                task.cancel()
