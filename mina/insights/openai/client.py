"""One chat call to an OpenAI-compatible endpoint (``POST {MINA_LLM_URL}/chat/completions``),
with timeouts, retries and the strictest structured output the server accepts.

Structured output steps down once per client: a strict ``json_schema``, then ``json_object``
(JSON mode), then none (the prompt alone asks for JSON), each time the server answers 400 or
422 to the one before. Connection errors, timeouts, 429 and 5xx are retried with back-off;
anything else is an ``EndpointError`` whose ``reason`` is short enough to show in a provider
name. The API key goes in the Authorization header and nowhere else: never in a log line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from mina.insights.base import InsightError

logger = logging.getLogger(__name__)

FORMATS = ("json_schema", "json_object", "none")
"""Structured output modes, strictest first."""

_MAX_RETRY_AFTER_S = 10.0


class EndpointError(InsightError):
    """The endpoint could not be reached or refused the request. ``reason`` is a few words
    ("timed out", "cannot connect", "HTTP 401")."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    """The first choice's text, the model the endpoint says answered, why generation stopped
    (``"length"`` when it hit ``max_tokens``) and the structured output mode used."""

    content: str
    model: str | None
    finish_reason: str | None
    response_format: str


def completions_url(base: str) -> str:
    """``{base}/chat/completions``; a base that already names the route is kept."""
    base = base.strip().rstrip("/")
    return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


class ChatClient:
    """A thread-safe client of one endpoint (httpx's client is; the mode only ever steps
    down)."""

    def __init__(
        self,
        *,
        url: str,
        model: str = "",
        api_key: str = "",
        timeout_s: float = 120.0,
        tries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        response_format: str = "json_schema",
    ) -> None:
        if not url.strip().lower().startswith(("http://", "https://")):
            raise InsightError(f"MINA_LLM_URL must be an http:// or https:// URL, not {url!r}")
        if response_format not in FORMATS:
            raise InsightError(f"response_format must be one of {', '.join(FORMATS)}")
        self.url = completions_url(url)
        self._model = model
        self._tries = max(1, tries)
        self._backoff_s = backoff_s
        self._format = FORMATS.index(response_format)
        headers = {"User-Agent": "mina-insights"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            transport=transport,
            follow_redirects=False,
        )

    @property
    def response_format(self) -> str:
        """The structured output mode the next call starts with."""
        return FORMATS[self._format]

    def close(self) -> None:
        self._http.close()

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int,
    ) -> ChatAnswer:
        """Ask once (retrying what is worth retrying); ``EndpointError`` when no answer came."""
        level = self._format
        while True:
            mode = FORMATS[level]
            body: dict[str, Any] = {
                "messages": messages,
                "temperature": 0,
                "max_tokens": max_tokens,
                "stream": False,
            }
            if self._model:
                body["model"] = self._model
            if mode == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "strict": True, "schema": schema},
                }
            elif mode == "json_object":
                body["response_format"] = {"type": "json_object"}
            response = self._post(body)
            if response.status_code in (400, 422) and level + 1 < len(FORMATS):
                logger.info(
                    "%s refused response_format %s (HTTP %d: %s); trying %s",
                    self.url,
                    mode,
                    response.status_code,
                    _error_text(response),
                    FORMATS[level + 1],
                )
                level += 1
                continue
            if response.status_code != 200:
                raise EndpointError(
                    f"{self.url} answered HTTP {response.status_code}: {_error_text(response)}",
                    reason=f"HTTP {response.status_code}",
                )
            if level > self._format:
                self._format = level
            return _read_answer(response, mode)

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """The response to one POST, retried on connection errors, timeouts, 429 and 5xx."""
        for attempt in range(1, self._tries + 1):
            wait = self._backoff_s * 2 ** (attempt - 1)
            try:
                response = self._http.post(self.url, json=body)
            except httpx.TimeoutException as exc:
                reason, detail = "timed out", f"{type(exc).__name__}"
            except httpx.ConnectError as exc:
                reason, detail = "cannot connect", str(exc) or type(exc).__name__
            except httpx.TransportError as exc:
                reason, detail = "connection failed", str(exc) or type(exc).__name__
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                reason = f"HTTP {response.status_code}"
                detail = f"{reason}: {_error_text(response)}"
                wait = max(wait, _retry_after(response))
            if attempt == self._tries:
                raise EndpointError(f"{self.url}: {detail} ({self._tries} tries)", reason=reason)
            logger.warning(
                "%s: %s (try %d of %d); again in %.1f s",
                self.url,
                detail,
                attempt,
                self._tries,
                wait,
            )
            time.sleep(wait)
        raise AssertionError("unreachable")


def _read_answer(response: httpx.Response, mode: str) -> ChatAnswer:
    try:
        data = response.json()
        choice = data["choices"][0]
        content = choice["message"].get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise EndpointError(
            f"the endpoint's answer is not an OpenAI chat completion ({type(exc).__name__})",
            reason="not an OpenAI answer",
        ) from exc
    model = data.get("model")
    finish = choice.get("finish_reason")
    return ChatAnswer(
        content=str(content),
        model=_model_name(model) if isinstance(model, str) and model.strip() else None,
        finish_reason=finish if isinstance(finish, str) else None,
        response_format=mode,
    )


def _model_name(reported: str) -> str:
    """The model as the endpoint names it; a file path (llama.cpp without an alias names the
    GGUF file it loaded) becomes the file's name, and no name passes 200 characters."""
    name = reported.strip()
    if name.startswith("/") or "\\" in name:
        name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return name[:200]


def _error_text(response: httpx.Response) -> str:
    """The server's error message, short, for logs and errors."""
    try:
        data = response.json()
        error = data.get("error", data) if isinstance(data, dict) else data
        message = error.get("message", error) if isinstance(error, dict) else error
        text = str(message)
    except ValueError:
        text = response.text
    return " ".join(text.split())[:200] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", "0")), _MAX_RETRY_AFTER_S)
    except ValueError:
        return 0.0
