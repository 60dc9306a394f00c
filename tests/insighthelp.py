"""A scripted insight provider for tests of the insights pipeline (the job, storage, tasks,
the API), registered under ``scripted``; the real providers have their own tests.

It finds what the words say plainly: a segment with "will" is an action item owned by its
speaker ("tomorrow" makes it due the next day), "decided" a decision, a "?" a question, the
first three segments the summary. A meeting titled with "[bogus]" also cites a segment that
does not exist, which the job must drop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mina.insights import registry
from mina.insights.base import (
    ActionItem,
    Insights,
    MeetingText,
    Point,
    Sentiment,
    Topic,
)
from mina.settings import Settings

NAME = "scripted"
BOGUS_ID = 1_999_999_999


class ScriptedProvider:
    name = NAME
    model = "rules v1"

    def generate(self, meeting: MeetingText) -> Insights:
        actions, decisions, questions = [], [], []
        for s in meeting.segments:
            text = s.text.strip()
            if " will " in f" {text.lower()} ":
                due = meeting.meeting_date + timedelta(days=1) if "tomorrow" in text else None
                actions.append(ActionItem(text.rstrip("."), s.id, s.speaker, due))
            if "decided" in text.lower():
                decisions.append(Point(text, s.id))
            if text.endswith("?"):
                questions.append(Point(text, s.id))
        summary = [Point(s.text, s.id) for s in meeting.segments[:3]]
        if "[bogus]" in meeting.title:
            summary.append(Point("Something nobody said", BOGUS_ID))
            actions.append(ActionItem("Invent a task", BOGUS_ID, "Nobody"))
        scores = {s.id: (0.5 if "great" in s.text.lower() else 0.0) for s in meeting.segments}
        speakers: dict[str, float] = {}
        for s in meeting.segments:
            if s.speaker:
                speakers[s.speaker] = max(speakers.get(s.speaker, 0.0), scores[s.id])
        return Insights(
            provider=NAME,
            model=self.model,
            summary=tuple(summary),
            action_items=tuple(actions),
            decisions=tuple(decisions),
            questions=tuple(questions),
            topics=(Topic("budget", 1.0), Topic("hosting", 0.5)),
            sentiment=Sentiment(
                overall=sum(scores.values()) / max(1, len(scores)),
                by_speaker=speakers,
                by_segment=scores,
            ),
        )


def create_provider(settings: Settings) -> ScriptedProvider:
    return ScriptedProvider()


def use_scripted_provider(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """Register the scripted provider and return ``settings`` that use it."""
    monkeypatch.setitem(registry.BUILTIN_PROVIDERS, NAME, "tests.insighthelp:create_provider")
    return settings.model_copy(update={"insights": NAME})
