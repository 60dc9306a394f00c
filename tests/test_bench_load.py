"""``bench load`` end to end, small: two streams on two real ``mina serve`` processes (SQLite,
Redis), each with two viewers on the other process; every figure the benchmark prints comes from
real acks and events."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from bench.load import create_token, run_step, start_servers
from bench.load_client import BYTES_PER_SECOND, build_speech
from tests.redishelp import RedisServer

SECONDS = 2.5
FRAME_MS = 100


def test_two_streams_with_viewers_across_two_processes(
    tmp_path: Path, sqlite_template: Path, redis_server: RedisServer
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "mina.db")
    database_url = f"sqlite:///{tmp_path / 'mina.db'}"
    token = create_token(database_url)
    with start_servers(
        tmp_path,
        database_url=database_url,
        redis_url=redis_server.url,
        redis_prefix=redis_server.prefix,
    ) as servers:
        step = run_step(
            servers, token, streams=2, viewers=2, seconds=SECONDS, frame_ms=FRAME_MS, clients=1
        )

    assert step.errors == []
    speech = build_speech(SECONDS)
    frames = math.ceil(speech.seconds * BYTES_PER_SECOND / (BYTES_PER_SECOND * FRAME_MS // 1000))
    for outcome in step.outcomes:
        assert outcome.status == "completed"
        assert outcome.words_stored == outcome.words_spoken == speech.words
        # every frame is timed once: by the ack that covered it, or it was left to ``stopped``
        assert len(outcome.frame_to_ack_s) + outcome.unacked_frames == frames
        assert len(outcome.send_late_s) == frames
        assert len(outcome.ack_delay_s) >= int(speech.seconds) - 1  # about one ack a second
        assert 0 < min(outcome.ack_delay_s) <= max(outcome.ack_delay_s)
        assert max(outcome.ack_delay_s) <= max(outcome.frame_to_ack_s)
        assert outcome.events > 0
        assert outcome.delivered == outcome.expected_deliveries == 2 * outcome.events
        assert len(outcome.fanout_lag_s) == outcome.delivered
    assert step.server_cpu_s > 0 and step.client_cpu_s > 0
    assert step.wall_s >= speech.seconds
    assert 0 < step.server_share_per_stream < 100
    assert step.rss_mib > 0
