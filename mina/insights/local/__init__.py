"""The ``local`` insight provider: offline, deterministic, no download and no network.

spaCy's small English model (sentences, parts of speech, lemmas, people's names) reads the
transcript once; then each concept has its module: ``actions`` (commitments and requests with
owners and ``dates``), ``statements`` (decisions, open questions), ``summary`` (TextRank),
``topics`` (YAKE) and ``sentiment`` (VADER).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from mina.insights.base import Insights, MeetingText
from mina.insights.local.actions import extract_action_items
from mina.insights.local.model import LanguageModel
from mina.insights.local.owners import known_names
from mina.insights.local.statements import extract_decisions, extract_questions
from mina.insights.local.summary import summarise
from mina.insights.local.text import Sentence, read_sentences
from mina.insights.local.topics import extract_topics
from mina.insights.sentiment import score_sentiment
from mina.settings import Settings

__all__ = ["LocalProvider", "create_provider"]

_NOUNS = frozenset({"NOUN", "PROPN"})


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _words_used_as(sentences: Sequence[Sentence], tags: frozenset[str]) -> set[str]:
    """Words the meeting uses more often with one of these parts of speech than otherwise."""
    votes: Counter[str] = Counter()
    for sentence in sentences:
        for token in sentence.span:
            if token.is_alpha:
                votes[token.lower_] += 1 if token.pos_ in tags else -1
    return {word for word, vote in votes.items() if vote > 0}


class LocalProvider:
    """Thread-safe: the model loads once, under a lock; ``generate`` keeps no state."""

    name = "local"

    def __init__(self, language_model: LanguageModel | None = None) -> None:
        self._language_model = language_model or LanguageModel()
        self._model = (
            f"{self._language_model.version} + yake {_version('yake')} + "
            f"vader {_version('vaderSentiment')}"
        )

    @property
    def model(self) -> str:
        return self._model

    def load(self) -> None:
        """Load the spaCy model now (it is otherwise loaded by the first ``generate``)."""
        self._language_model.get()

    def generate(self, meeting: MeetingText) -> Insights:
        nlp = self._language_model.get()
        sentences = read_sentences(nlp, meeting.segments)
        if not sentences:
            return Insights(provider=self.name, model=self.model, note="the transcript is empty")
        labels = sorted({s.speaker for s in meeting.segments if s.speaker})
        reference = meeting.meeting_date
        action_items = extract_action_items(sentences, reference, labels)
        decisions = extract_decisions(sentences)
        action_segments = {item.segment_id for item in action_items}
        requested = {s.index for s in sentences if s.segment_id in action_segments}
        decision_segments = {point.segment_id for point in decisions}
        decided = {s.index for s in sentences if s.segment_id in decision_segments}
        questions = extract_questions(sentences, requested)
        words = sum(len(s.text.split()) for s in sentences)
        summary = summarise(sentences, decided, requested, words)
        names = known_names(sentences, labels) | {"speaker"}
        topics = extract_topics(
            " ".join(s.text for s in sentences),
            names,
            _words_used_as(sentences, _NOUNS),
            _words_used_as(sentences, _NOUNS | {"ADJ"}),
        )
        return Insights(
            provider=self.name,
            model=self.model,
            summary=tuple(summary),
            action_items=tuple(action_items),
            decisions=tuple(decisions),
            questions=tuple(questions),
            topics=tuple(topics),
            sentiment=score_sentiment(meeting.segments),
        )


def create_provider(settings: Settings) -> LocalProvider:
    """Registry factory. The model loads on first use, so creating the provider is cheap."""
    del settings
    return LocalProvider()
