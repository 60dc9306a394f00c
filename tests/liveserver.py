"""The real app on uvicorn in a thread of the test process: real TCP and WebSockets, one port.

Unlike ``bench.server.ServerProcess`` (a separate ``mina serve``), this server shares the test's
memory, so a test can inject a fault into a running handler, and stopping it runs uvicorn's own
graceful shutdown (open sockets closed with 1012, then the lifespan's end), as SIGTERM does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from bench.server import free_port
from mina.settings import Settings
from mina.web.app import create_app, prepare_routes
from tests.conftest import TEST_SECRET


def fake_server_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The settings of a ``mina serve`` process (``bench.server.ServerProcess``) on the fake
    engine and the energy VAD, beating every second: a recording's exact words, quickly."""
    return {
        "MINA_DATABASE_URL": database_url,
        "MINA_SECRET_KEY": TEST_SECRET,
        "MINA_ENGINE": "fake",
        "MINA_VAD": "energy",
        "MINA_HEARTBEAT_S": "1",
        **overrides,
    }


class LiveServer:
    """``create_app(settings)`` served by uvicorn on a free loopback port, started and stopped
    as often as a test likes (each start is a new app: a restarted server)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app(self) -> Any:
        assert self._server is not None
        return self._server.config.app

    def start(self, timeout_s: float = 30.0) -> None:
        app = create_app(self.settings)
        prepare_routes(app)  # as `mina serve`: no first-request race in building route models
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            ws="auto",  # as `mina serve`: websockets' sans-I/O protocol
            timeout_graceful_shutdown=10,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """A graceful shutdown, as on SIGTERM; returns when the lifespan has ended."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the server did not stop"

    def connect(self, token: str, path: str = "/ws/transcribe") -> ClientConnection:
        """A client connection; use it as a context manager."""
        return connect(
            f"ws://127.0.0.1:{self.port}{path}",
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=10,
            close_timeout=2,
            max_size=None,
        )

    def http(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def receive_json(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    message = ws.recv(timeout=timeout)
    assert isinstance(message, str), "the server sends text frames only"
    parsed: dict[str, Any] = json.loads(message)
    return parsed


def send_json(ws: ClientConnection, message: dict[str, Any]) -> None:
    ws.send(json.dumps(message))


def close_code(ws: ClientConnection, *, expect_error: str | None = None) -> int:
    """Read until the server closes; the close code it sent (its error code checked)."""
    errors = []
    try:
        while True:
            message = receive_json(ws)
            if message["type"] == "error":
                errors.append(message["code"])
    except ConnectionClosed as closed:
        if expect_error is not None:
            assert errors == [expect_error]
        assert closed.rcvd is not None, "the server closed without a close frame"
        return closed.rcvd.code


def drop(ws: ClientConnection) -> None:
    """The network goes away: the TCP connection ends without a WebSocket close frame."""
    import socket

    try:
        ws.socket.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    ws.socket.close()
