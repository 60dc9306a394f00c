"""``/metrics``: a real app records a stream and the scrape shows it; the token and the
loopback rule protect it; route templates, not raw paths, label the HTTP requests."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import signup
from tests.livehelp import send_pcm, sentences_pcm, start, stop, words_of

LOOPBACK = ("127.0.0.1", 50000)
ELSEWHERE = ("203.0.113.7", 50000)
SENTENCES = ([1, 2, 3, 4], [5, 6, 7], [8, 9, 10])

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; with some labels given, the sum of the samples that have them."""
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    assert found, f"no sample {name} {labels}"
    return sum(found)


def test_a_recording_shows_in_the_metrics(settings: Settings) -> None:
    # diarization queues the one post-meeting job counted below; the others are not needed
    app = create_app(settings.model_copy(update={"insights": "off", "semantic_search": False}))
    pcm = sentences_pcm(*SENTENCES)
    with TestClient(app, client=LOOPBACK) as client:
        signup(client, "ada@example.com", "Ada Lovelace")
        with client.websocket_connect("/ws/transcribe") as ws:
            meeting_id = start(ws, title="Metrics")["meeting_id"]
            send_pcm(ws, pcm)
            during = scrape(client)
            assert value(during, "mina_live_streams") == 1
            assert value(during, "mina_websockets_open", route="/ws/transcribe") == 1
            stopped, _ = stop(ws)
        assert stopped["words"] == len(words_of(*SENTENCES))
        assert client.get(f"/api/meetings/{meeting_id}").status_code == 200
        assert client.get(f"/api/meetings/{meeting_id + 1000}").status_code == 404
        assert client.get("/no/such/page").status_code == 404
        assert client.request("BREW", "/healthz").status_code == 405
        after = scrape(client)

    assert value(after, "mina_live_streams") == 0
    assert value(after, "mina_websockets_open", route="/ws/transcribe") == 0
    assert value(after, "mina_websocket_connections_total", route="/ws/transcribe") == 1
    assert value(after, "mina_acks_pending_bytes") == 0
    assert value(after, "mina_decode_queue_depth") == 0
    assert value(after, "mina_decode_seconds_count", **{"pass": "streaming"}) > 0
    assert value(after, "mina_decode_seconds_count", **{"pass": "final"}) > 0
    # every word of the stream settled once, none counted twice
    assert value(after, "mina_confirmed_word_lag_seconds_count") == stopped["words"]
    assert value(after, "mina_confirmed_word_lag_seconds_sum") > 0

    meeting = {"method": "GET", "route": "/api/meetings/{meeting_id}"}
    assert value(after, "mina_http_requests_total", status="200", **meeting) == 1
    assert value(after, "mina_http_requests_total", status="404", **meeting) == 1
    assert value(after, "mina_http_request_duration_seconds_count", **meeting) == 2
    assert value(after, "mina_http_requests_total", route="unmatched", status="404") == 1
    assert value(after, "mina_http_requests_total", route="/signup", method="POST") == 1
    # a client's made-up method is not a label of its own
    assert value(after, "mina_http_requests_total", route="/healthz", method="other") == 1
    methods = {dict(labels).get("method") for (_, labels) in after} - {None}
    assert methods <= {"GET", "POST", "other"}, methods
    routes = {dict(labels)["route"] for (_, labels) in after if "route" in dict(labels)}
    assert not [r for r in routes if re.search(r"\d", r)], routes  # templates, never ids

    # the recording queued its post-meeting jobs: counted by queue, name and state
    assert value(after, "mina_jobs", queue="speech", job="diarize") == 1
    states = {dict(labels)["state"] for (name, labels) in after if name == "mina_jobs"}
    assert states == {"queued", "running", "done", "failed"}
    assert value(after, "process_cpu_seconds_total") > 0


def test_a_token_is_required_when_set(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": "a-long-metrics-token"}))
    with TestClient(app, client=ELSEWHERE) as client:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": "Bearer a-long-metrics-token-and-more"},
            {"Authorization": "Basic a-long-metrics-token"},
            {"Authorization": "Bearer"},
        ):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "mina_" not in refused.text
        assert "mina_live_streams" in str(
            scrape(client, Authorization="Bearer a-long-metrics-token")
        )
    with TestClient(app, client=LOOPBACK) as client:  # the token counts from loopback too
        assert client.get("/metrics").status_code == 401


@pytest.mark.parametrize(
    ("client_address", "headers", "status"),
    [
        (LOOPBACK, {}, 200),
        (("::1", 50000), {}, 200),
        (ELSEWHERE, {}, 403),
        (("testclient", 50000), {}, 403),
        # through a trusted proxy (MINA_TRUSTED_PROXIES, 127.0.0.1): the real client counts
        (LOOPBACK, {"X-Forwarded-For": "198.51.100.4"}, 403),
        (LOOPBACK, {"Forwarded": "for=198.51.100.4;proto=https"}, 403),
        # a client that is not a trusted proxy cannot claim to be loopback
        (ELSEWHERE, {"X-Forwarded-For": "127.0.0.1"}, 403),
    ],
)
def test_without_a_token_only_loopback_may_scrape(
    settings: Settings,
    client_address: tuple[str, int],
    headers: dict[str, str],
    status: int,
) -> None:
    with TestClient(create_app(settings), client=client_address) as client:
        response = client.get("/metrics", headers=headers)
    assert response.status_code == status, response.text
    if status == 403:
        assert "MINA_METRICS_TOKEN" in response.text and "mina_" not in response.text
