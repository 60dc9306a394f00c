"""The ``openai`` insight provider: a language model behind an OpenAI-compatible endpoint reads
the transcript in chunks (map), the chunks' items are merged and the summary condensed
(reduce), and when the endpoint fails the ``local`` provider answers instead and says why.

Sentiment is never asked of the model (see ``sentiment``); every cited segment id is checked
against the meeting (see ``answer``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import httpx

from mina.insights.base import (
    ActionItem,
    InsightError,
    InsightProvider,
    Insights,
    MeetingText,
    Point,
)
from mina.insights.openai.answer import (
    AnswerError,
    ChunkAnswer,
    clean_topics,
    parse_json_object,
    read_answer,
)
from mina.insights.openai.client import ChatAnswer, ChatClient, EndpointError
from mina.insights.openai.prompt import (
    Line,
    condense_messages,
    condense_schema,
    estimate_tokens,
    extraction_messages,
    extraction_schema,
    format_lines,
    split_chunks,
)
from mina.insights.sentiment import score_sentiment
from mina.settings import Settings

logger = logging.getLogger(__name__)

FallbackFactory = Callable[[], InsightProvider]

_WANTED_KEYS = ("summary", "action_items", "decisions", "questions", "topics")
_RETRY_JSON = "Answer again with only the JSON object, as asked, and nothing else."
_NOT_WORDS = re.compile(r"[^\w]+")


@dataclass(frozen=True, slots=True)
class OpenAIOptions:
    """How the provider uses the model. The defaults suit an 8k-token context: about 4,000
    tokens of transcript (at ~4 characters a token) and 1,500 of answer per call."""

    chunk_tokens: int = 4000
    max_tokens: int = 1500
    max_summary_points: int = 7
    max_topics: int = 15
    tries: int = 3
    backoff_s: float = 0.5
    response_format: Literal["json_schema", "json_object", "none"] = "json_schema"
    """The structured output asked for first; it steps down when the server refuses it."""


@dataclass
class _Run:
    """What one ``generate`` learned along the way, for ``Insights.note`` and ``.model``."""

    chunks: int = 0
    failed_chunks: list[str] = field(default_factory=list)
    uncited: int = 0
    malformed: int = 0
    repaired: int = 0
    formats: set[str] = field(default_factory=set)
    model: str | None = None
    condense_note: str = ""


class OpenAIProvider:
    """Insights from an OpenAI-compatible chat endpoint; thread-safe (one per process)."""

    def __init__(
        self,
        settings: Settings,
        *,
        options: OpenAIOptions | None = None,
        fallback: FallbackFactory | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not settings.llm_url.strip():
            raise InsightError(
                "the openai insight provider needs MINA_LLM_URL, the base URL of an "
                "OpenAI-compatible endpoint such as http://127.0.0.1:11434/v1 (Ollama)"
            )
        self.options = options or OpenAIOptions()
        self._model = settings.llm_model.strip()
        self._client = ChatClient(
            url=settings.llm_url,
            model=self._model,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            tries=self.options.tries,
            backoff_s=self.options.backoff_s,
            transport=transport,
            response_format=self.options.response_format,
        )
        self._fallback = fallback or _local_provider(settings)

    @property
    def name(self) -> str:
        return "openai"

    @property
    def model(self) -> str:
        return self._model or "default"

    def close(self) -> None:
        self._client.close()

    def generate(self, meeting: MeetingText) -> Insights:
        """Insights from the model; the fallback's, saying why, when the endpoint fails."""
        try:
            return self._generate(meeting)
        except InsightError as exc:
            return self._fall_back(meeting, exc)

    def _generate(self, meeting: MeetingText) -> Insights:
        sentiment = score_sentiment(meeting.segments)
        budget = max(self.options.chunk_tokens, 64)
        lines = format_lines(meeting, max_line_tokens=budget)
        if not lines:
            return Insights(self.name, self.model, sentiment=sentiment, note="no transcript")
        ids = frozenset(segment.id for segment in meeting.segments)
        chunks = split_chunks(lines, budget_tokens=budget)
        run = _Run(chunks=len(chunks))
        answers = []
        first_error: AnswerError | None = None
        for index, chunk in enumerate(chunks):
            try:
                answers.append(self._extract(meeting, chunk, index, len(chunks), ids, run))
            except AnswerError as exc:
                first_error = first_error or exc
                logger.warning(
                    "meeting %d: part %d of %d of the transcript got no usable answer: %s",
                    meeting.meeting_id,
                    index + 1,
                    len(chunks),
                    exc,
                )
                run.failed_chunks.append(f"part {index + 1}: {exc}")
        if first_error is not None and not answers:
            raise first_error
        merged = _merge(answers, max_topics=self.options.max_topics)
        dropped = run.uncited + run.malformed
        if merged.is_empty and (dropped or first_error is not None):
            raise AnswerError(
                f"no valid item in the answers ({dropped} dropped, "
                f"{len(run.failed_chunks)} of {len(chunks)} parts unanswered)",
                reason="no valid items",
            )
        summary = merged.summary
        if len(summary) > self.options.max_summary_points:
            summary = self._condense(meeting, summary, ids, run)
        return Insights(
            provider=self.name,
            model=run.model or self.model,
            summary=tuple(summary),
            action_items=tuple(merged.action_items),
            decisions=tuple(merged.decisions),
            questions=tuple(merged.questions),
            topics=tuple(merged.topics),
            sentiment=sentiment,
            note=_note(run),
        )

    def _ask(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, object],
        run: _Run,
    ) -> tuple[dict[str, object], bool]:
        """The answer's JSON object (and whether it was repaired), asking once more when the
        first answer holds none. ``EndpointError`` propagates: the endpoint is down."""
        reply: ChatAnswer | None = None
        for attempt in range(2):
            if attempt:
                assert reply is not None
                messages = [
                    *messages,
                    {"role": "assistant", "content": reply.content[:2000]},
                    {"role": "user", "content": _RETRY_JSON},
                ]
            reply = self._client.complete(
                messages,
                schema_name=schema_name,
                schema=schema,
                max_tokens=self.options.max_tokens,
            )
            run.formats.add(reply.response_format)
            run.model = reply.model or run.model
            try:
                parsed = parse_json_object(reply.content)
            except AnswerError:
                if attempt:
                    raise
                continue
            if any(key in parsed.value for key in schema_keys(schema)):
                return parsed.value, parsed.repaired
            if attempt:
                raise AnswerError(
                    f"the answer's JSON has none of the keys {', '.join(schema_keys(schema))}"
                )
        raise AssertionError("unreachable")

    def _extract(
        self,
        meeting: MeetingText,
        chunk: list[Line],
        index: int,
        count: int,
        ids: frozenset[int],
        run: _Run,
    ) -> ChunkAnswer:
        """The map step: one chunk's items, validated."""
        value, repaired = self._ask(
            extraction_messages(meeting, chunk, index=index, count=count),
            schema_name="meeting_insights",
            schema=extraction_schema([line.segment_id for line in chunk]),
            run=run,
        )
        answer = read_answer(value, ids)
        run.uncited += answer.uncited
        run.malformed += answer.malformed
        run.repaired += repaired
        return answer

    def _condense(
        self, meeting: MeetingText, points: list[Point], ids: frozenset[int], run: _Run
    ) -> list[Point]:
        """The reduce step for the summary: one more call for 3-7 points; the first points in
        order if that fails."""
        limit = self.options.max_summary_points
        shown: list[Point] = []
        used = 0
        for point in points:  # as many as fit one chunk's budget, in order
            used += estimate_tokens(point.text) + 4
            if shown and used > self.options.chunk_tokens:
                break
            shown.append(point)
        try:
            value, _ = self._ask(
                condense_messages([(point.text, point.segment_id) for point in shown]),
                schema_name="meeting_summary",
                schema=condense_schema([point.segment_id for point in shown]),
                run=run,
            )
            condensed = read_answer({"summary": value.get("summary")}, ids).summary
            if not condensed:
                raise AnswerError("no valid point")
        except InsightError as exc:
            logger.warning(
                "meeting %d: condensing %d summary points failed (%s); keeping the first %d",
                meeting.meeting_id,
                len(points),
                exc,
                limit,
            )
            run.condense_note = f"summary condensing failed, kept the first {limit} points"
            return points[:limit]
        return _dedupe_points(condensed)[:limit]

    def _fall_back(self, meeting: MeetingText, error: InsightError) -> Insights:
        reason = failure_reason(error)
        logger.warning(
            "meeting %d: openai insights failed (%s); using the fallback provider",
            meeting.meeting_id,
            error,
        )
        try:
            insights = self._fallback().generate(meeting)
        except InsightError as fallback_error:
            raise InsightError(
                f"openai insights failed ({reason}: {error}) and so did the fallback "
                f"({fallback_error})"
            ) from error
        note = f"The language model endpoint failed ({reason}): {error}. "
        note += f"These insights are from the {insights.provider} provider."
        return replace(
            insights,
            provider=f"{insights.provider} (openai failed: {reason})",
            note=f"{note} {insights.note}".strip(),
        )


def _local_provider(settings: Settings) -> FallbackFactory:
    def load() -> InsightProvider:
        from mina.insights.registry import load_provider

        return load_provider("local", settings)

    return load


def schema_keys(schema: dict[str, object]) -> tuple[str, ...]:
    properties = schema.get("properties")
    return tuple(properties) if isinstance(properties, dict) else _WANTED_KEYS


def failure_reason(error: InsightError) -> str:
    """A few words for the provider name: ``local (openai failed: timed out)``."""
    if isinstance(error, EndpointError | AnswerError):
        return error.reason
    return " ".join(str(error).split())[:60] or type(error).__name__


def normalise_text(text: str) -> str:
    """What makes two items the same: words, case and punctuation aside."""
    return " ".join(_NOT_WORDS.sub(" ", text.casefold()).split())


def _dedupe_points(points: list[Point]) -> list[Point]:
    seen: set[str] = set()
    kept = []
    for point in points:
        key = normalise_text(point.text)
        if key and key not in seen:
            seen.add(key)
            kept.append(point)
    return kept


def _merge(answers: list[ChunkAnswer], *, max_topics: int) -> ChunkAnswer:
    """The reduce step: the chunks' items in order, repeats dropped (an action item said twice
    keeps the owner and due date either time gave); topics ranked by their summed weight."""
    merged = ChunkAnswer()
    actions: dict[str, ActionItem] = {}
    topic_weights: dict[str, tuple[str, float]] = {}
    for answer in answers:
        merged.summary.extend(answer.summary)
        merged.decisions.extend(answer.decisions)
        merged.questions.extend(answer.questions)
        for item in answer.action_items:
            key = normalise_text(item.text)
            known = actions.get(key)
            if known is None:
                actions[key] = item
            else:
                actions[key] = replace(
                    known,
                    owner=known.owner or item.owner,
                    due_date=known.due_date or item.due_date,
                )
        for topic in answer.topics:
            key = topic.label.casefold()
            label, weight = topic_weights.get(key, (topic.label, 0.0))
            topic_weights[key] = (label, weight + topic.weight)
    merged.summary = _dedupe_points(merged.summary)
    merged.decisions = _dedupe_points(merged.decisions)
    merged.questions = _dedupe_points(merged.questions)
    merged.action_items = list(actions.values())
    ranked = sorted(topic_weights.values(), key=lambda pair: -pair[1])[:max_topics]
    top = ranked[0][1] if ranked else 1.0
    merged.topics = clean_topics((label, weight / top) for label, weight in ranked)
    return merged


def _note(run: _Run) -> str:
    parts = []
    if run.chunks > 1:
        parts.append(f"read in {run.chunks} parts")
    if "json_schema" not in run.formats and run.formats:
        used = ", ".join(sorted(run.formats))
        parts.append(f"the endpoint refused json_schema output, used {used}")
    if run.uncited:
        parts.append(f"dropped {_count(run.uncited, 'item')} citing no segment of the meeting")
    if run.malformed:
        parts.append(f"dropped {_count(run.malformed, 'malformed item')}")
    if run.repaired:
        cut = _count(run.repaired, "answer")
        parts.append(f"{cut} stopped at max_tokens, kept to their whole items")
    parts.extend(run.failed_chunks)
    if run.condense_note:
        parts.append(run.condense_note)
    return "; ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
