"""Answers to a question about the workspace's meetings, from what was said, citing the moment.

Retrieval is hybrid search (``mina.semantic.search``). Then:

- **local** (always available, offline): the candidate passages are reranked by their best
  sentence's similarity to the question, how much the other candidates agree with them
  (cross-passage overlap) and, a little, how recent their meeting is; the answer is the best
  sentence, word for word, citing its segment, with the next strongest passages as further
  citations;
- **openai** (``MINA_LLM_URL`` set): the endpoint gets the numbered passages only and must answer
  from them, citing their numbers, or say that they do not contain the answer; a failure falls
  back to the local answer.

When nothing relevant is found the answer says so; it never invents.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.models import Meeting, Segment
from mina.semantic.index import VectorIndex
from mina.semantic.model import DEFAULT_MODEL, MODELS, EmbeddingModel, load_encoder
from mina.semantic.search import Filters, Hit, Mode, embed_query, search
from mina.settings import Settings

logger = logging.getLogger(__name__)

CANDIDATES = 12
CITATIONS = 3
NOT_FOUND = "I could not find that in your meetings."
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Citation:
    meeting_id: int
    meeting_title: str
    segment_id: int
    start_ms: int
    text: str


@dataclass
class Answer:
    answer: str
    citations: list[Citation] = field(default_factory=list)
    provider: str = "local"
    found: bool = False
    # what the search retrieved for it, best first (the page lists those not cited)
    passages: list[Hit] = field(default_factory=list, repr=False)


def ask(
    session: Session,
    index: VectorIndex,
    settings: Settings,
    *,
    workspace_id: int,
    question: str,
    meeting_id: int | None = None,
) -> Answer:
    """Answer ``question`` from the workspace's meetings (or one of them), with the passages
    retrieved for it."""
    vector = embed_query(index, question)
    hits = search(
        session,
        index,
        workspace_id=workspace_id,
        q=question,
        mode=Mode.HYBRID,
        filters=Filters(meeting_id=meeting_id),
        limit=CANDIDATES,
        vector=vector,
    )
    answer = answer_locally(session, question, hits, model=index.model, question_vector=vector)
    if settings.llm_url and hits:
        try:
            answer = answer_with_endpoint(settings, question, hits)
        except Exception as exc:  # the local answer stands in for any failure of the endpoint
            logger.warning("ask: the endpoint failed (%s); answering locally", exc)
            answer.provider = f"local (openai failed: {type(exc).__name__})"
    answer.passages = hits
    return answer


@dataclass(frozen=True)
class _Sentence:
    hit: int  # index into the hits
    text: str


def answer_locally(
    session: Session,
    question: str,
    hits: list[Hit],
    *,
    model: EmbeddingModel = MODELS[DEFAULT_MODEL],
    question_vector: npt.NDArray[np.float32] | None = None,
) -> Answer:
    """The best hit's best statement, with up to ``CITATIONS`` citations, or ``NOT_FOUND``
    when none is similar enough (``model``: the one the hits were found with, and
    ``question_vector`` the question in it, when the caller has it). Only the sentences, the
    question when not given and the hits without their passage's vector are embedded here."""
    if not hits:
        return Answer(NOT_FOUND)
    # a question said in the meeting resembles the question asked more than its answer does:
    # answers are statements
    sentences = [
        _Sentence(i, s.strip())
        for i, hit in enumerate(hits)
        for s in _SENTENCE.split(hit.text)
        if len(s.split()) >= 3 and not s.strip().endswith("?")
    ] or [_Sentence(i, hit.text) for i, hit in enumerate(hits)]
    unembedded = [h.text for h in hits if h.vector is None]
    texts = [*(s.text for s in sentences), *unembedded]
    if question_vector is None:
        texts.insert(0, question)
    vectors = load_encoder(model.name).embed(texts)
    if question_vector is None:
        q, vectors = vectors[0], vectors[1:]
    else:
        q = question_vector
    sentence_vectors, fresh = vectors[: len(sentences)], iter(vectors[len(sentences) :])
    passage_vectors = np.stack([h.vector if h.vector is not None else next(fresh) for h in hits])
    sentence_scores = sentence_vectors @ q
    best_sentence: dict[int, int] = {}
    for j, s in enumerate(sentences):
        if s.hit not in best_sentence or sentence_scores[j] > sentence_scores[best_sentence[s.hit]]:
            best_sentence[s.hit] = j
    passage_scores = passage_vectors @ q
    agreement = passage_vectors @ passage_vectors.T
    dates = _meeting_dates(session, hits)
    newest = max(dates.values(), default=None)
    ranked = []
    for i, hit in enumerate(hits):
        # the passage as a whole decides (its lines answer together); its best sentence breaks
        # near-ties; agreement with other candidates and recency weigh a little
        relevance = float(passage_scores[i])
        said = float(sentence_scores[best_sentence[i]]) if i in best_sentence else 0.0
        others = [float(agreement[i, k]) for k in range(len(hits)) if k != i]
        support = float(np.mean(sorted(others)[-2:])) if others else 0.0
        when = dates.get(hit.meeting_id)
        age_days = (newest - when).days if newest and when else 0
        recency = 1.0 / (1.0 + age_days / 30.0)
        score = relevance + 0.25 * said + 0.05 * support + 0.02 * recency
        ranked.append((score, max(relevance, said), i))
    ranked.sort(reverse=True)
    _, relevance, top = ranked[0]
    # the best passage or statement must be this similar to the question to be an answer
    if relevance < model.answer_similarity:
        return Answer(NOT_FOUND)
    hit = hits[top]
    sentence = sentences[best_sentence[top]].text if top in best_sentence else hit.text
    segment_id, start_ms = _segment_of(session, hit, sentence)
    citations = [Citation(hit.meeting_id, hit.meeting_title, segment_id, start_ms, sentence)]
    for _, score, i in ranked[1:]:
        if len(citations) >= CITATIONS or score < model.answer_similarity:
            break
        other = hits[i]
        if other.segment_id != segment_id:
            citations.append(
                Citation(
                    other.meeting_id,
                    other.meeting_title,
                    other.segment_id,
                    other.start_ms,
                    other.text,
                )
            )
    speaker = f"{hit.speaker}: " if hit.speaker else ""
    return Answer(f"{speaker}“{sentence}”", citations, "local", True)


def _meeting_dates(session: Session, hits: list[Hit]) -> dict[int, datetime]:
    ids = {h.meeting_id for h in hits}
    if not ids:
        return {}
    rows = session.execute(select(Meeting.id, Meeting.created_at).where(Meeting.id.in_(ids)))
    return {mid: created.astimezone(UTC) for mid, created in rows}


def _segment_of(session: Session, hit: Hit, sentence: str) -> tuple[int, int]:
    """The segment of the passage that holds the sentence (a window joins several)."""
    if hit.text.strip() == sentence or hit.end_ms <= hit.start_ms:
        return hit.segment_id, hit.start_ms
    rows = session.scalars(
        select(Segment)
        .where(
            Segment.meeting_id == hit.meeting_id,
            Segment.start_ms >= hit.start_ms,
            Segment.start_ms < hit.end_ms,
        )
        .order_by(Segment.start_ms)
    )
    # the window's text is its segments' texts joined by spaces: the segment where the
    # sentence begins is the one holding that offset (a sentence may run into the next one)
    segments = list(rows)
    joined = " ".join(segment.display_text.strip() for segment in segments)
    at = joined.find(sentence.strip()[:80])
    if at < 0:
        return hit.segment_id, hit.start_ms
    offset = 0
    for segment in segments:
        offset += len(segment.display_text.strip()) + 1
        if at < offset:
            return segment.id, segment.start_ms
    return hit.segment_id, hit.start_ms


ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "found": {"type": "boolean"},
        "answer": {"type": "string", "maxLength": 400},
        "citations": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["found", "answer", "citations"],
    "additionalProperties": False,
}

SYSTEM = (
    "You answer questions about a team's meetings using ONLY the numbered transcript passages "
    "given. Answer in one or two sentences and cite the numbers of the passages you used. If "
    "the passages do not contain the answer, set found to false and say you could not find it. "
    'Reply with JSON: {"found": true|false, "answer": "...", "citations": [numbers]}.'
)


def answer_with_endpoint(settings: Settings, question: str, hits: list[Hit]) -> Answer:
    from mina.insights.openai.client import ChatClient

    passages = "\n".join(
        f"[{n}] ({h.meeting_title}, {h.speaker or 'someone'}): {h.text}"
        for n, h in enumerate(hits, start=1)
    )
    client = ChatClient(
        url=settings.llm_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        timeout_s=settings.llm_timeout_s,
    )
    try:
        reply = client.complete(
            [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Passages:\n{passages}\n\nQuestion: {question}"},
            ],
            schema_name="answer",
            schema=ANSWER_SCHEMA,
            max_tokens=400,
        )
    finally:
        client.close()
    try:
        data = json.loads(_json_part(reply.content))
    except json.JSONDecodeError:
        raise ValueError("the endpoint's answer was not the JSON asked for") from None
    if not isinstance(data, dict):
        raise ValueError("the endpoint's answer was not a JSON object")
    provider = f"openai ({reply.model or settings.llm_model or 'model'})"
    cited = [
        hits[n - 1] for n in data.get("citations", []) if isinstance(n, int) and 1 <= n <= len(hits)
    ]
    if not data.get("found") or not cited:
        return Answer(NOT_FOUND, [], provider, False)
    citations = [
        Citation(h.meeting_id, h.meeting_title, h.segment_id, h.start_ms, h.text)
        for h in cited[:CITATIONS]
    ]
    return Answer(str(data.get("answer", "")).strip() or NOT_FOUND, citations, provider, True)


def _json_part(text: str) -> str:
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start >= 0 and end > start else text
