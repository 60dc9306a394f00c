"""The ``openai`` insight provider: any OpenAI-compatible chat endpoint (Ollama, a llama.cpp
server, vLLM or a hosted one) set by ``MINA_LLM_URL``; off unless that is set.

    client.py     one chat call: timeouts, retries, json_schema -> json_object -> none
    prompt.py     numbered transcript lines, chunks within a token budget, the JSON schema
    answer.py     the JSON in an answer, each item validated, uncited ones dropped
    sentiment.py  VADER per segment, speaker and meeting (the model is not asked)
    provider.py   map over chunks, reduce, fall back to ``local`` when the endpoint fails
"""

from __future__ import annotations

from mina.insights.openai.provider import OpenAIOptions, OpenAIProvider
from mina.settings import Settings

__all__ = ["OpenAIOptions", "OpenAIProvider", "create_provider"]


def create_provider(settings: Settings) -> OpenAIProvider:
    """The provider for ``MINA_LLM_URL``; ``InsightError`` when it is not set."""
    return OpenAIProvider(settings)
