"""Ask with MINA_LLM_URL: a real OpenAI-compatible server (llama.cpp serving SmolLM2 from the
dev extra, tests/llmserver.py) gets the retrieved passages only and its answer cites them; an
endpoint that is down leaves the local answer. (The small model proves the wire protocol, not
answer quality.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mina.semantic.ask import NOT_FOUND, answer_with_endpoint
from mina.semantic.search import Hit
from mina.settings import Settings
from tests.llmserver import LlamaServer, free_port, model_path, start_server, xllamacpp_installed

pytestmark = pytest.mark.slow

HITS = [
    Hit(
        7,
        101,
        20_000,
        31_000,
        "George",
        "The cloud costs went up when we launched the new "
        "search feature. It uses a lot more compute than we planned.",
        0.03,
        "Budget review",
    ),
    Hit(
        8,
        202,
        5_000,
        9_000,
        "Tom",
        "I finished the login page refactor and merged it.",
        0.02,
        "Standup",
    ),
]


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    if not xllamacpp_installed() or model_path() is None:
        pytest.skip("xllamacpp or the SmolLM2 weights are not installed (make install-dev)")
    server = start_server(n_ctx=4096)
    yield server
    server.stop()


def test_the_endpoint_answers_from_the_passages_and_cites_them(llama: LlamaServer) -> None:
    answer = answer_with_endpoint(
        Settings(llm_url=llama.url), "Why are we paying more for servers?", HITS
    )
    assert answer.provider.startswith("openai")
    assert answer.answer.strip()
    if answer.found:
        assert answer.citations and {c.segment_id for c in answer.citations} <= {101, 202}
        assert all(c.meeting_title in ("Budget review", "Standup") for c in answer.citations)
    else:
        assert answer.answer == NOT_FOUND and answer.citations == []


def test_an_endpoint_that_is_down_raises_for_the_caller_to_fall_back() -> None:
    settings = Settings(llm_url=f"http://127.0.0.1:{free_port()}/v1", llm_timeout_s=2)
    with pytest.raises(Exception):  # noqa: B017 (ask() catches any failure and answers locally)
        answer_with_endpoint(settings, "Why are we paying more for servers?", HITS)
