"""The openai insight provider against a real OpenAI-compatible server (llama.cpp in this
process, serving SmolLM2-135M: see ``tests/llmserver.py``), plus small real HTTP and TCP servers
for what llama.cpp cannot be made to do (refuse json_schema, hang, record headers).

The 135M model writes poor insights, so these tests check the protocol, parsing, validation and
fallback: every kept item cites a segment of the meeting, whatever the model said."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from mina.insights.base import (
    ActionItem,
    InsightError,
    Insights,
    MeetingText,
    Point,
    SourceSegment,
    Topic,
)
from mina.insights.openai import OpenAIOptions, OpenAIProvider, create_provider
from mina.insights.openai.answer import AnswerError, parse_json_object, read_answer
from mina.insights.openai.client import ChatClient, completions_url
from mina.insights.openai.prompt import extraction_schema, format_lines, split_chunks
from mina.insights.sentiment import score_sentiment
from mina.settings import Settings
from tests.llmserver import (
    MODEL_ALIAS,
    LlamaServer,
    model_path,
    start_server,
    xllamacpp_installed,
)

LINES: list[tuple[str | None, str]] = [
    ("Ann", "Good morning everyone, let's start the planning meeting."),
    ("Bob", "We decided to ship the new billing page on Friday."),
    ("Ann", "Bob, can you write the release notes by tomorrow?"),
    ("Bob", "Yes, I will write the release notes by tomorrow."),
    ("Cara", "What about the migration of the old invoices? Nobody owns that yet."),
    ("Ann", "Let's go with the cheaper hosting plan for now. Great work, thanks all."),
]
REFERENCE = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
FAST = OpenAIOptions(max_tokens=64, tries=2, backoff_s=0.01)
"""Small answers keep the real model quick; one retry, no real back-off."""


def make_meeting(
    lines: Sequence[tuple[str | None, str]] | None = None, *, first_id: int = 101
) -> MeetingText:
    segments = tuple(
        SourceSegment(first_id + n, n * 4000, n * 4000 + 3500, speaker, text)
        for n, (speaker, text) in enumerate(LINES if lines is None else lines)
    )
    return MeetingText(7, "Planning", REFERENCE, segments)


def llm_settings(url: str, **extra: Any) -> Settings:
    return Settings(llm_url=url, **extra)


class StubLocal:
    """The fallback, standing in for the ``local`` provider (on another branch for now)."""

    name = "local"
    model = "rules"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, meeting: MeetingText) -> Insights:
        self.calls += 1
        first = meeting.segments[0].id
        return Insights(
            "local", "rules", summary=(Point("from the local provider", first),), note="local"
        )


def assert_cites_meeting(insights: Insights, meeting: MeetingText) -> None:
    ids = {segment.id for segment in meeting.segments}
    items: list[Point | ActionItem] = [*insights.summary, *insights.action_items]
    items += [*insights.decisions, *insights.questions]
    for item in items:
        assert item.segment_id in ids, item
        assert item.text.strip()
    for topic in insights.topics:
        assert topic.label and 0 < topic.weight <= 1


# --- servers ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def llama() -> Iterator[LlamaServer]:
    if not xllamacpp_installed():
        pytest.skip("xllamacpp is not installed (make install-dev)")
    if model_path() is None:
        pytest.skip("SmolLM2 weights are not installed (make install-dev)")
    server = start_server(n_ctx=4096)
    yield server
    server.stop()


class CountingTransport(httpx.BaseTransport):
    """The real transport, keeping each request body and what the server answered."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.bodies: list[dict[str, Any]] = []
        self.models: list[str] = []
        self.contents: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        response = self.inner.handle_request(request)
        response.read()
        answer = json.loads(response.content)
        self.models.append(answer.get("model", ""))
        self.contents.append(answer["choices"][0]["message"]["content"])
        return response

    def close(self) -> None:
        self.inner.close()


class RecordingServer:
    """A real HTTP server on 127.0.0.1 that records each request and answers with ``reply``."""

    def __init__(self, reply: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((dict(self.headers.items()), body))
                status, answer = reply(body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def recording() -> Iterator[Callable[..., RecordingServer]]:
    servers: list[RecordingServer] = []

    def start(reply: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]) -> RecordingServer:
        servers.append(RecordingServer(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def chat_reply(content: str, model: str = "canned") -> dict[str, Any]:
    return {
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": content}}],
    }


# --- against llama.cpp --------------------------------------------------------------------


def test_a_real_answer_becomes_insights_citing_the_meeting(llama: LlamaServer) -> None:
    meeting = make_meeting()
    fallback = StubLocal()
    transport = CountingTransport()
    provider = OpenAIProvider(
        llm_settings(llama.url), options=FAST, fallback=lambda: fallback, transport=transport
    )
    try:
        insights = provider.generate(meeting)
    finally:
        provider.close()

    body = transport.bodies[0]
    assert body["response_format"]["type"] == "json_schema"
    assert body["max_tokens"] == 64
    prompt = body["messages"][-1]["content"]
    assert "[103] Ann: Bob, can you write the release notes by tomorrow?" in prompt
    assert "2026-12-07" in prompt and "2026-12-08" in prompt  # the date and "tomorrow"
    # The grammar lets the model cite only the lines it was shown.
    schema = body["response_format"]["json_schema"]["schema"]
    cited = schema["properties"]["summary"]["items"]["properties"]["segment_id"]
    assert cited["enum"] == list(range(101, 107))

    assert fallback.calls == 0, insights.note
    assert insights.provider == "openai"
    assert insights.model == MODEL_ALIAS  # what the endpoint says answered
    # The grammar starts the answer with the summary's first point; 64 tokens cut it off
    # mid-way, and what is whole of it is kept.
    assert len(transport.contents) == 1
    raw = parse_json_object(transport.contents[0])
    assert list(raw.value)[0] == "summary"
    assert insights.summary == tuple(read_answer(raw.value, set(cited["enum"])).summary)
    assert_cites_meeting(insights, meeting)
    assert set(insights.sentiment.by_segment) == {s.id for s in meeting.segments}
    assert set(insights.sentiment.by_speaker) == {"Ann", "Bob", "Cara"}


def test_a_long_meeting_is_read_in_chunks_then_reduced(llama: LlamaServer) -> None:
    lines = [
        (("Ann", "Bob", "Cara")[n % 3], f"Item {n}: {text}")
        for n, (_, text) in enumerate((LINES * 2)[:9])
    ]
    meeting = make_meeting(lines, first_id=500)
    transport = CountingTransport()
    options = OpenAIOptions(
        chunk_tokens=70, max_tokens=40, max_summary_points=1, tries=2, backoff_s=0.01
    )
    fallback = StubLocal()
    provider = OpenAIProvider(
        llm_settings(llama.url), options=options, fallback=lambda: fallback, transport=transport
    )
    try:
        insights = provider.generate(meeting)
    finally:
        provider.close()

    chunks = split_chunks(format_lines(meeting, max_line_tokens=70), budget_tokens=70)
    assert len(chunks) >= 3
    extracts = [b for b in transport.bodies if "meeting_insights" in json.dumps(b)]
    condenses = [b for b in transport.bodies if "meeting_summary" in json.dumps(b)]
    # One map call per chunk (each answered by the real server), each showing only its lines.
    assert len(extracts) == len(chunks)
    assert all(model == MODEL_ALIAS for model in transport.models)
    for body, chunk in zip(extracts, chunks, strict=True):
        prompt = body["messages"][-1]["content"]
        assert f"of {len(chunks)} of the transcript" in prompt
        shown = {int(part.split("]")[0]) for part in prompt.split("\n[")[1:]}
        assert shown == {line.segment_id for line in chunk}
    assert fallback.calls == 0, insights.note
    assert f"read in {len(chunks)} parts" in insights.note
    # More summary points than max_summary_points: one reduce call (whose answer, or failing
    # that the first point, is the summary).
    assert len(condenses) <= 1
    assert len(insights.summary) <= 1
    assert_cites_meeting(insights, meeting)


def test_json_object_mode_on_the_real_server_keeps_only_real_citations(
    llama: LlamaServer,
) -> None:
    """Without a schema the tiny model invents ids and shapes: whatever survives cites the
    meeting, and an answer with nothing valid falls back, saying so."""
    meeting = make_meeting()
    transport = CountingTransport()
    fallback = StubLocal()
    # As after a server refused json_schema.
    options = replace(FAST, response_format="json_object", max_tokens=48)
    provider = OpenAIProvider(
        llm_settings(llama.url), options=options, fallback=lambda: fallback, transport=transport
    )
    try:
        insights = provider.generate(meeting)
    finally:
        provider.close()

    assert transport.bodies[0]["response_format"] == {"type": "json_object"}
    if insights.provider == "openai":
        assert_cites_meeting(insights, meeting)
        assert "refused json_schema" in insights.note
    else:
        assert insights.provider.startswith("local (openai failed: ")
        assert fallback.calls == 1


# --- the wire, with small real servers -------------------------------------------------------


def test_a_server_refusing_json_schema_gets_json_object(
    recording: Callable[..., RecordingServer],
) -> None:
    answer = {
        "summary": [{"segment_id": 102, "text": "Billing ships Friday."}],
        "action_items": [
            {
                "segment_id": 103,
                "text": "Write the release notes",
                "owner": "Bob",
                "due_date": "2026-12-08",
            },
            {"segment_id": 999, "text": "Invented", "owner": None, "due_date": None},
        ],
        "decisions": [{"segment_id": 106, "text": "Cheaper hosting plan"}],
        "questions": [{"segment_id": "[105]", "text": "Who migrates old invoices?"}],
        "topics": [{"label": "billing", "weight": 3}, {"label": "Billing", "weight": 1}],
    }

    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body["response_format"]["type"] == "json_schema":
            return 400, {"error": {"message": "response_format json_schema not supported"}}
        return 200, chat_reply("```json\n" + json.dumps(answer) + "\n```\nHope this helps!")

    server = recording(reply)
    provider = OpenAIProvider(llm_settings(server.url), options=FAST, fallback=StubLocal)
    meeting = make_meeting()
    try:
        first = provider.generate(meeting)
        second = provider.generate(meeting)
    finally:
        provider.close()

    formats = [body["response_format"]["type"] for _, body in server.requests]
    assert formats == ["json_schema", "json_object", "json_object"]  # refused once, remembered
    assert first == second
    assert first.provider == "openai" and first.model == "canned"
    assert first.summary == (Point("Billing ships Friday.", 102),)
    assert first.action_items == (
        ActionItem("Write the release notes", 103, owner="Bob", due_date=date(2026, 12, 8)),
    )
    assert first.decisions == (Point("Cheaper hosting plan", 106),)
    assert first.questions == (Point("Who migrates old invoices?", 105),)
    assert first.topics == (Topic("billing", 1.0),)
    assert "dropped 1 item citing no segment" in first.note
    assert "used json_object" in first.note


def test_the_api_key_is_sent_as_a_bearer_token_and_never_logged(
    recording: Callable[..., RecordingServer], caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0

    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return 503, {"error": {"message": "loading model"}}
        return 200, chat_reply('{"summary": [{"segment_id": 101, "text": "Planning."}]}')

    server = recording(reply)
    settings = llm_settings(server.url, llm_api_key="sk-test-secret", llm_model="llama3.1:8b")
    provider = OpenAIProvider(settings, options=FAST, fallback=StubLocal)
    with caplog.at_level("DEBUG"):
        try:
            insights = provider.generate(make_meeting())
        finally:
            provider.close()

    assert len(server.requests) == 2  # the 503 was retried
    headers, body = server.requests[-1]
    assert headers["Authorization"] == "Bearer sk-test-secret"
    assert body["model"] == "llama3.1:8b"
    assert insights.provider == "openai"
    assert "sk-test-secret" not in caplog.text
    assert "503" in caplog.text


def test_no_api_key_sends_no_authorization(recording: Callable[..., RecordingServer]) -> None:
    server = recording(lambda body: (200, chat_reply('{"summary": []}')))
    provider = OpenAIProvider(llm_settings(server.url), options=FAST, fallback=StubLocal)
    try:
        provider.generate(make_meeting())
    finally:
        provider.close()
    headers, body = server.requests[0]
    assert "Authorization" not in headers and "model" not in body


def test_an_endpoint_that_is_down_falls_back_to_local(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fallback = StubLocal()
    provider = OpenAIProvider(
        llm_settings(f"http://127.0.0.1:{port}/v1"), options=FAST, fallback=lambda: fallback
    )
    with caplog.at_level("WARNING"):
        try:
            insights = provider.generate(make_meeting())
        finally:
            provider.close()
    assert insights.provider == "local (openai failed: cannot connect)"
    assert insights.summary == (Point("from the local provider", 101),)
    assert "cannot connect" in insights.note and insights.note.endswith("local")
    assert fallback.calls == 1
    assert "falling back" in caplog.text or "fallback" in caplog.text


def test_an_endpoint_that_never_answers_times_out_and_falls_back() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # and never answer
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    fallback = StubLocal()
    settings = llm_settings(f"http://127.0.0.1:{port}/v1", llm_timeout_s=0.3)
    provider = OpenAIProvider(settings, options=FAST, fallback=lambda: fallback)
    started = time.monotonic()
    try:
        insights = provider.generate(make_meeting())
    finally:
        provider.close()
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()
    assert insights.provider == "local (openai failed: timed out)"
    assert "timed out" in insights.note and "2 tries" in insights.note
    assert len(accepted) == 2  # tried twice
    assert time.monotonic() - started < 5


def test_an_answer_that_is_never_json_falls_back(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording(lambda body: (200, chat_reply("Sure! Here is a summary: all good.")))
    provider = OpenAIProvider(llm_settings(server.url), options=FAST, fallback=StubLocal)
    try:
        insights = provider.generate(make_meeting())
    finally:
        provider.close()
    assert len(server.requests) == 2  # asked once more for only the JSON
    assert server.requests[1][1]["messages"][-1]["role"] == "user"
    assert insights.provider == "local (openai failed: no JSON in the answer)"


def test_an_answer_citing_only_invented_ids_falls_back(
    recording: Callable[..., RecordingServer],
) -> None:
    invented = {
        "summary": [{"segment_id": 1, "text": "x"}],
        "decisions": [{"segment_id": 2, "text": "y"}],
    }
    server = recording(lambda body: (200, chat_reply(json.dumps(invented))))
    provider = OpenAIProvider(llm_settings(server.url), options=FAST, fallback=StubLocal)
    try:
        insights = provider.generate(make_meeting())
    finally:
        provider.close()
    assert insights.provider == "local (openai failed: no valid items)"
    assert "2 dropped" in insights.note


def test_a_part_without_an_answer_leaves_the_others(
    recording: Callable[..., RecordingServer],
) -> None:
    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prompt = body["messages"][1]["content"]
        if "part 2 of 2" in prompt:
            return 200, chat_reply("I cannot help with that.")
        first = int(prompt.split("Transcript:\n[")[1].split("]")[0])
        answer = {
            "action_items": [
                {"segment_id": first, "text": "Write the notes!", "owner": None, "due_date": None},
                {
                    "segment_id": first,
                    "text": "write the notes",
                    "owner": "Bob",
                    "due_date": "2026-12-08",
                },
            ],
            "topics": [{"label": "notes", "weight": 0.5}],
        }
        return 200, chat_reply(json.dumps(answer))

    server = recording(reply)
    options = replace(FAST, chunk_tokens=60)
    provider = OpenAIProvider(llm_settings(server.url), options=options, fallback=StubLocal)
    try:
        insights = provider.generate(make_meeting())
    finally:
        provider.close()
    assert len(server.requests) == 3  # part 1, part 2, part 2 asked again
    assert insights.provider == "openai"
    # Said twice in other words: one item, with the owner and date the second time gave.
    assert insights.action_items == (
        ActionItem("Write the notes!", 101, owner="Bob", due_date=date(2026, 12, 8)),
    )
    assert insights.topics == (Topic("notes", 1.0),)
    assert "read in 2 parts" in insights.note and "part 2: no JSON object" in insights.note


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("/models/llm/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf"),
        ("C:\\models\\llama.gguf", "llama.gguf"),
        ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"),
        ("", "default"),
        ("x" * 300, "x" * 200),
    ],
)
def test_the_model_is_named_as_the_endpoint_says(
    recording: Callable[..., RecordingServer], reported: str, expected: str
) -> None:
    content = '{"summary": [{"segment_id": 101, "text": "Planning."}]}'
    server = recording(lambda body: (200, chat_reply(content, model=reported)))
    provider = OpenAIProvider(llm_settings(server.url), options=FAST, fallback=StubLocal)
    try:
        assert provider.generate(make_meeting()).model == expected
    finally:
        provider.close()


def test_a_client_error_is_not_retried(recording: Callable[..., RecordingServer]) -> None:
    server = recording(lambda body: (401, {"error": {"message": "bad key"}}))
    client = ChatClient(url=server.url, tries=3, backoff_s=0.01, response_format="none")
    try:
        with pytest.raises(InsightError, match="HTTP 401: bad key") as caught:
            client.complete([], schema_name="x", schema={}, max_tokens=8)
    finally:
        client.close()
    assert getattr(caught.value, "reason", None) == "HTTP 401"
    assert len(server.requests) == 1


# --- settings -----------------------------------------------------------------------------


def test_without_llm_url_the_provider_says_what_to_set() -> None:
    with pytest.raises(InsightError, match="MINA_LLM_URL"):
        create_provider(Settings(llm_url=""))


def test_name_model_and_url() -> None:
    provider = create_provider(Settings(llm_url="http://127.0.0.1:11434/v1/"))
    named = create_provider(Settings(llm_url="http://h/v1", llm_model="llama3.1:8b"))
    try:
        assert provider.name == "openai" and provider.model == "default"
        assert named.model == "llama3.1:8b"
    finally:
        provider.close()
        named.close()
    assert completions_url("http://127.0.0.1:11434/v1/") == (
        "http://127.0.0.1:11434/v1/chat/completions"
    )
    assert completions_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(InsightError, match="http:// or https://"):
        create_provider(Settings(llm_url="127.0.0.1:11434/v1"))


def test_when_the_fallback_fails_too_both_reasons_are_raised() -> None:
    class Broken(StubLocal):
        def generate(self, meeting: MeetingText) -> Insights:
            raise InsightError("local cannot load")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAIProvider(
        llm_settings(f"http://127.0.0.1:{port}/v1"), options=FAST, fallback=Broken
    )
    try:
        with pytest.raises(InsightError, match="cannot connect.*and so did the fallback.*local"):
            provider.generate(make_meeting())
    finally:
        provider.close()


def test_the_registry_builds_it() -> None:
    from mina.insights.registry import get_provider_factory

    provider = get_provider_factory("openai")(Settings(llm_url="http://127.0.0.1:9/v1"))
    assert isinstance(provider, OpenAIProvider)
    provider.close()


# --- parsing and validation on canned answers ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Here you go:\n```\n{"a": {"b": "}"}}\n```\nAnything else?', {"a": {"b": "}"}}),
        ('{"a": 1} and then {"b": 2}', {"a": 1}),
        ('noise { not json } {"a": [1, 2]} trailing', {"a": [1, 2]}),
    ],
)
def test_the_outermost_object_is_found(text: str, expected: dict[str, Any]) -> None:
    parsed = parse_json_object(text)
    assert parsed.value == expected and not parsed.repaired


def test_an_answer_cut_at_max_tokens_keeps_its_whole_items() -> None:
    cut = '{"summary": [{"segment_id": 101, "text": "One"}, {"segment_id": 102, "text": "Tw'
    parsed = parse_json_object(cut)
    assert parsed.repaired
    assert parsed.value == {
        "summary": [{"segment_id": 101, "text": "One"}, {"segment_id": 102, "text": "Tw"}]
    }
    parsed = parse_json_object('{"summary": [{"segment_id": 101, "text": "One"}, {"segm')
    assert parsed.value == {"summary": [{"segment_id": 101, "text": "One"}]}


@pytest.mark.parametrize("text", ["", "no json here", "[1, 2, 3]", '{"a": }'])
def test_no_object_is_an_answer_error(text: str) -> None:
    with pytest.raises(AnswerError):
        parse_json_object(text)


def test_items_are_validated_one_by_one() -> None:
    value = {
        "summary": [
            {"segment_id": 101, "text": "  Kept   point "},
            {"segment_id": 42, "text": "invented id"},
            {"segment_id": 102},
            {"segment_id": "103", "text": "id as text"},
            "not an object",
        ],
        "action_items": [
            {"segment_id": 103, "text": "Notes", "owner": "  ", "due_date": "tomorrow"},
            {"segment_id": 104, "text": "Plan", "owner": "Bob", "due_date": "2026-12-11T17:00"},
            {"segment_id": 104, "text": "Bad date", "owner": "null", "due_date": "2026-02-30"},
        ],
        "decisions": "not a list",
        "topics": ["billing", {"label": ""}, {"label": "hosting", "weight": -2}, "Billing"],
    }
    answer = read_answer(value, {101, 102, 103, 104})
    assert answer.summary == [Point("Kept point", 101), Point("id as text", 103)]
    assert answer.action_items == [
        ActionItem("Notes", 103, owner=None, due_date=None),
        ActionItem("Plan", 104, owner="Bob", due_date=date(2026, 12, 11)),
        ActionItem("Bad date", 104, owner=None, due_date=None),
    ]
    assert answer.uncited == 1
    assert answer.malformed == 3  # no text, a string, decisions not a list
    assert answer.topics == [Topic("billing", 1.0), Topic("hosting", 0.01)]


def test_schema_lists_ids_only_when_few() -> None:
    few = extraction_schema([3, 1, 2])
    item = few["properties"]["action_items"]["items"]
    assert item["properties"]["segment_id"]["enum"] == [1, 2, 3]
    assert item["required"] == ["segment_id", "text", "owner", "due_date"]
    many = extraction_schema(list(range(1000)))
    assert "enum" not in many["properties"]["summary"]["items"]["properties"]["segment_id"]


def test_sentiment_is_vader_per_segment_speaker_and_meeting() -> None:
    meeting = make_meeting(
        [("Ann", "This is great, I love it!"), ("Bob", "This is terrible."), (None, "  ")]
    )
    sentiment = score_sentiment(meeting.segments)
    assert sentiment.by_segment[101] > 0.5 and sentiment.by_segment[102] < -0.3
    assert 103 not in sentiment.by_segment
    assert sentiment.by_speaker == {
        "Ann": sentiment.by_segment[101],
        "Bob": sentiment.by_segment[102],
    }
    assert sentiment.overall is not None and -1 <= sentiment.overall <= 1
    assert score_sentiment(()).overall is None


# --- with the real local provider (once it is on the same branch) --------------------------


def test_the_real_local_provider_answers_when_the_endpoint_is_down() -> None:
    pytest.importorskip("mina.insights.local")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = create_provider(Settings(llm_url=f"http://127.0.0.1:{port}/v1"))
    try:
        insights = provider.generate(make_meeting())
    finally:
        provider.close()
    assert insights.provider.startswith("local") and "(openai failed: cannot connect)" in (
        insights.provider
    )
    assert "cannot connect" in insights.note
    assert_cites_meeting(insights, make_meeting())
