"""The pieces web processes share through Redis, each against a real Redis, two "processes"
(two sets of clients with their own origins) in one test process."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bench.server import free_port
from mina.audiostore import AudioBusy, AudioWriter
from mina.cluster import RecordingLeases, RedisUnavailable, SharedState, shared_state
from mina.cluster.access import SharedRevocations
from mina.cluster.events import SharedEventBus
from mina.cluster.limits import SharedLoginThrottle, SharedRequestLimiter
from mina.cluster.relay import Relay
from mina.live.events import EventBus
from mina.security import LoginThrottle
from mina.settings import Settings
from mina.sharing.limits import RequestLimiter
from mina.teams.access import AccessRevocations
from mina.web.app import create_app
from tests.livehelp import FRAME, sentences_pcm, words_of
from tests.liveserver import live_server, receive_json, send_json
from tests.redishelp import RedisServer


def _relay(redis_: RedisServer, origin: str) -> Relay:
    return Relay(redis_.url, redis_.prefix, origin=origin)


async def _next(queue: asyncio.Queue[dict[str, Any]], timeout: float = 10.0) -> dict[str, Any]:
    return await asyncio.wait_for(queue.get(), timeout)


def test_events_reach_the_other_process_in_order(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a_relay, b_relay = _relay(redis_server, "a"), _relay(redis_server, "b")
        a, b = SharedEventBus(a_relay), SharedEventBus(b_relay)
        await a_relay.start()
        await b_relay.start()
        try:
            events = [
                {"type": "final", "segment": {"id": n, "seq": n, "text": f"w{n}", "words": []}}
                for n in range(200)
            ] + [{"type": "stopped", "meeting_id": 7}]
            with a.subscribe(7) as here, b.subscribe(7) as there, b.subscribe(8) as other:
                for event in events:
                    a.publish(7, event)
                assert [await _next(there) for _ in events] == events  # order and shapes
                assert [here.get_nowait() for _ in events] == events  # local: at once
                await a_relay.flush()
                await asyncio.sleep(0.2)
                assert here.empty(), "a process does not receive its own events back"
                assert other.empty(), "another meeting's viewers get nothing"
        finally:
            await a_relay.stop()
            await b_relay.stop()

    asyncio.run(scenario())


def _kill_connections(url: str, name: str) -> int:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        killed = 0
        for entry in client.client_list():
            if entry.get("name") == name:
                client.client_kill_filter(_id=entry["id"])
                killed += 1
        return killed
    finally:
        client.close()


def test_a_lost_connection_is_retried_and_viewers_told(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        a_relay, b_relay = _relay(redis_server, "a"), _relay(redis_server, "b-lost")
        a, b = SharedEventBus(a_relay), SharedEventBus(b_relay)
        await a_relay.start()
        await b_relay.start()
        try:
            with b.subscribe(3) as there:
                a.publish(3, {"type": "interim", "text": "before"})
                assert (await _next(there))["text"] == "before"
                name = f"mina:{b_relay.origin}"
                assert await asyncio.to_thread(_kill_connections, redis_server.url, name) >= 1
                # the viewer learns that events may have been missed, then they flow again
                assert (await _next(there, 20))["code"] == "events_interrupted"
                for _ in range(100):
                    a.publish(3, {"type": "interim", "text": "after"})
                    try:
                        assert (await _next(there, 0.2))["text"] == "after"
                        break
                    except TimeoutError:
                        continue
                else:
                    raise AssertionError("events did not flow again")
        finally:
            await a_relay.stop()
            await b_relay.stop()

    with caplog.at_level(logging.WARNING, logger="mina.cluster.relay"):
        asyncio.run(scenario())
    assert "lost the Redis subscription" in caplog.text


def test_revocations_close_sockets_of_every_process(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a_relay, b_relay = _relay(redis_server, "a"), _relay(redis_server, "b")
        a, b = SharedRevocations(a_relay), SharedRevocations(b_relay)
        await a_relay.start()
        await b_relay.start()
        try:
            with b.watch(5, 9) as revoked, b.watch(5, 10) as kept:
                # from a request handler's thread of process A
                counted = await asyncio.to_thread(a.revoke, 5, 9)
                assert counted == 0  # A had no socket of that user
                await asyncio.wait_for(revoked.wait(), 10)
                await a_relay.flush()
                assert not kept.is_set()
        finally:
            await a_relay.stop()
            await b_relay.stop()

    asyncio.run(scenario())


def test_login_failures_and_share_requests_count_across_processes(
    redis_server: RedisServer,
) -> None:
    url, prefix = redis_server.url, redis_server.prefix
    a = SharedLoginThrottle(redis.Redis.from_url(url), prefix, limit=3)
    b = SharedLoginThrottle(redis.Redis.from_url(url), prefix, limit=3)
    for throttle in (a, b, a):
        assert throttle.retry_after("Ada@Example.com", "10.0.0.1") == 0
        throttle.record_failure("ada@example.com", "10.0.0.1")
    assert 0 < b.retry_after("ada@example.com", "10.0.0.2") <= 60  # the account: 3 failures
    assert 0 < b.retry_after("bob@example.com", "10.0.0.1") <= 60  # the address: 3 failures
    assert b.retry_after("bob@example.com", "10.0.0.2") == 0
    b.record_success("ada@example.com")
    assert a.retry_after("ada@example.com", "10.0.0.2") == 0
    assert not any("ada" in key or "10.0.0" in key for key in redis_server.keys())

    one = SharedRequestLimiter(redis.Redis.from_url(url), prefix, limit=4)
    two = SharedRequestLimiter(redis.Redis.from_url(url), prefix, limit=4)
    assert [limiter.hit("page 10.0.0.1") for limiter in (one, two, one, two)] == [0, 0, 0, 0]
    assert 0 < two.hit("page 10.0.0.1") <= 60
    assert 0 < one.hit("page 10.0.0.1") <= 60  # refused requests are not counted, but refused
    assert one.hit("audio 10.0.0.1") == 0


def test_limits_fall_back_to_this_process_when_redis_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    throttle = SharedLoginThrottle(gone, "x:", limit=2)
    limiter = SharedRequestLimiter(gone, "x:", limit=1)
    with caplog.at_level(logging.WARNING, logger="mina.cluster.limits"):
        for _ in range(2):
            assert throttle.retry_after("ada@example.com", "10.0.0.1") == 0
            throttle.record_failure("ada@example.com", "10.0.0.1")
        assert throttle.retry_after("ada@example.com", "10.0.0.1") > 0
        assert limiter.hit("page 1") == 0 and limiter.hit("page 1") > 0
    assert "Redis did not answer" in caplog.text


def test_an_unreachable_redis_refuses_to_start(tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    settings = Settings(data_dir=tmp_path, redis_url=url)
    with pytest.raises(RedisUnavailable, match="cannot reach Redis at redis://:\\*\\*\\*@"):
        create_app(settings)
    with pytest.raises(RedisUnavailable) as caught:
        shared_state(settings)
    assert "hunter2" not in str(caught.value)


def test_a_bad_redis_url_is_refused() -> None:
    with pytest.raises(ValueError, match="MINA_REDIS_URL"):
        Settings(redis_url="127.0.0.1:6379")


def test_unset_keeps_everything_in_process(tmp_path: Path) -> None:
    state = shared_state(Settings(data_dir=tmp_path))
    assert state.relay is None and state.leases is None
    assert type(state.bus).__name__ == "EventBus"


def test_two_writers_never_append_to_one_audio_file(tmp_path: Path) -> None:
    path = tmp_path / "audio" / "1" / "rec.pcm"
    first = AudioWriter(path, lock_timeout_s=0)
    first.append(b"\x01\x02" * 100)
    with pytest.raises(AudioBusy):
        AudioWriter(path, lock_timeout_s=0.3)
    opened: list[AudioWriter] = []
    waiting = threading.Thread(target=lambda: opened.append(AudioWriter(path, lock_timeout_s=10)))
    waiting.start()
    first.append(b"\x03\x04" * 50)
    first.close()  # the waiting writer gets the file only now, with every byte written
    waiting.join(10)
    assert opened and opened[0].written == 300
    opened[0].append(b"\x05\x06")
    opened[0].close()
    assert path.read_bytes() == b"\x01\x02" * 100 + b"\x03\x04" * 50 + b"\x05\x06"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of this test only, so that the test can stop it."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    client.close()
    try:
        yield url, process
    finally:
        process.kill()
        process.wait(10)


def test_a_recording_survives_redis_going_away(
    quick_settings: Settings,
    ada_token: str,
    private_redis: tuple[str, subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, redis_process = private_redis
    # quick heartbeats, but no idle timeout: on a busy machine opening the viewer (or Redis
    # dying) can take the quick settings' 1 s, and the recording would end for being idle
    settings = quick_settings.model_copy(
        update={"redis_url": url, "resume_grace_s": 30.0, "idle_timeout_s": 30.0}
    )
    first, second = sentences_pcm([1, 2], [3, 4]), sentences_pcm([5, 6], [7])
    with caplog.at_level(logging.WARNING), live_server(settings) as server:
        with server.connect(ada_token) as ws:
            send_json(ws, {"type": "start", "title": "Outage", "sample_rate": 16000})
            started = receive_json(ws)
            path = f"/ws/meetings/{started['meeting_id']}/live"
            with server.connect(ada_token, path) as viewer:
                assert receive_json(viewer)["type"] == "transcript"
                for offset in range(0, len(first), FRAME):
                    ws.send(first[offset : offset + FRAME])
                redis_process.kill()  # Redis goes away mid-recording
                redis_process.wait(10)
                for offset in range(0, len(second), FRAME):
                    ws.send(second[offset : offset + FRAME])
                send_json(ws, {"type": "stop"})
                messages = []
                while (message := receive_json(ws, timeout=30))["type"] != "stopped":
                    messages.append(message)
                # this process's viewers still follow its recordings
                seen = []
                while (event := receive_json(viewer, timeout=30))["type"] != "stopped":
                    if event["type"] == "final":
                        seen.append(event["segment"])
        with server.http(ada_token) as http:
            meeting_url = f"/api/meetings/{started['meeting_id']}"
            assert http.get(meeting_url).json()["status"] == "completed"
            assert http.get(f"{meeting_url}/audio").content[44:] == first + second
    spoken = words_of([1, 2], [3, 4], [5, 6], [7])
    assert message["words"] == len(spoken)
    assert [w["text"].rstrip(".").lower() for s in seen for w in s["words"]] == spoken
    assert "Redis" in caplog.text  # the outage is in the log, and nothing more happened


def test_a_lease_passes_to_the_process_that_resumes(redis_server: RedisServer) -> None:
    """B takes A's lease: A is told at once, and its next renewal says so too (a holder that
    missed the message); only the holder's release frees it."""

    async def scenario() -> None:
        a_relay, b_relay = _relay(redis_server, "a"), _relay(redis_server, "b")
        a_state, b_state = (
            SharedState(*_in_process(), relay=a_relay),
            SharedState(*_in_process(), relay=b_relay),
        )
        a = RecordingLeases(a_relay, a_state.redis, holder="a", ttl_s=30)
        b = RecordingLeases(b_relay, b_state.redis, holder="b", ttl_s=30)
        told: asyncio.Queue[str] = asyncio.Queue()
        a.on_taken(told.put_nowait)
        b.on_taken(lambda _: pytest.fail("B was never taken over"))
        await a_state.start()
        await b_state.start()
        try:
            await a.acquire("rec-1")
            assert await a.renew("rec-1")
            await b.acquire("rec-1")
            assert await asyncio.wait_for(told.get(), 10) == "rec-1"
            assert not await a.renew("rec-1")
            await a.release("rec-1")  # not A's any more: B keeps it
            assert await b.renew("rec-1")
            await b.release("rec-1")
            assert redis_server.keys() == []
            assert await a.renew("rec-1"), "a lease nobody holds is taken back on renewal"
        finally:
            await a_state.stop()
            await b_state.stop()

    asyncio.run(scenario())


def _in_process() -> tuple[EventBus, LoginThrottle, RequestLimiter, AccessRevocations]:
    return EventBus(), LoginThrottle(limit=1), RequestLimiter(limit=1), AccessRevocations()
