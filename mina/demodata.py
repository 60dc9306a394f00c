"""Realistic demo meetings: titles, speakers and transcripts made from word lists and sentence
templates, with word timings, spread over the last year. For trying the pages and benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mina.models import MeetingStatus
from mina.store import NewSegment

PEOPLE = (
    "Priya Marcus Elena Tom Aisha Kenji Sofia Daniel Fatima Lucas Mei Omar Hannah Diego Ingrid "
    "Samuel Nadia Victor Chloe Ravi Amara Jonas Leila Mateo Yuki Grace Ahmed Clara Felix Zara"
).split()
CUSTOMERS = "Acme Globex Initech Umbrella Stark Wayne Hooli Vandelay Soylent Cyberdyne".split()
FEATURES = (
    "billing page|onboarding flow|search bar|mobile app|export button|pricing table|admin panel|"
    "login screen|notification settings|analytics dashboard|invoice emails|audit log|api docs|"
    "checkout form|status page|dark mode|calendar sync|file upload|user invites|release notes"
).split("|")
TOPICS = (
    "roadmap|budget|hiring plan|customer churn|quarterly goals|security review|migration|"
    "launch plan|support backlog|performance|pricing|retention|partnership|compliance audit|"
    "design system|incident review|sales pipeline|data retention|accessibility|infrastructure costs"
).split("|")
TEAMS = "design engineering marketing sales support finance legal product operations data".split()
DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|next week|the end of the month".split("|")
VERBS = (
    "ship|review|test|simplify|redesign|measure|document|fix|prioritise|estimate|migrate|"
    "refactor|announce|validate|benchmark|localise|automate|monitor|schedule|deprecate"
).split("|")
ADJECTIVES = (
    "slow|confusing|promising|risky|critical|stable|expensive|ready|blocked|flaky|clear|"
    "solid|urgent|optional|tricky|healthy|noisy|cheap|late|huge"
).split("|")
NUMBERS = "two three four five ten twelve fifteen twenty thirty fifty".split()
# rare words: about one passage in a thousand mentions one of them
RARE = (
    "kubernetes|GDPR|Zanzibar|sourdough|penguin|Lisbon offsite|telescope|hackathon|"
    "procurement|carbon footprint|quantum|Esperanto"
).split("|")
RARE_RATE = 0.001
TEMPLATES = (
    "I think the {feature} is still {adjective} for new customers.",
    "Can we {verb} the {feature} before {day}?",
    "The {team} team wants to {verb} the {topic} this quarter.",
    "{customer} asked again about the {feature}, they seem {adjective} about it.",
    "Let's put the {topic} on the agenda for {day}.",
    "We saw about {number} percent more tickets after the {feature} change.",
    "My concern is that the {topic} is {adjective} and nobody owns it.",
    "Okay, so the action item is to {verb} the {feature} and report back.",
    "From the {team} side the {topic} looks {adjective} right now.",
    "Honestly I would rather {verb} the {topic} first and then look at the {feature}.",
    "We need {number} more days to {verb} the {feature} properly.",
    "Does anyone object if {person} takes the {topic}?",
    "The numbers from {customer} suggest the {feature} is {adjective}.",
    "Right, let me share my screen and walk through the {topic}.",
    "I spoke with {person} yesterday about the {feature} and the {topic}.",
    "If we {verb} the {feature} now, the {team} team is unblocked.",
    "That sounds good to me, let's {verb} it and move on.",
    "Quick update on the {topic}: we are about {number} percent done.",
    "The {feature} got a lot of feedback from {customer} last week.",
    "Could you send the notes on the {topic} to the {team} team?",
)
TITLES = (
    "Weekly sync: {topic}",
    "{customer} customer call",
    "{feature} review",
    "{team} standup",
    "Planning: {topic}",
    "1:1 {person} and {person2}",
    "{topic} retrospective",
    "Design critique: {feature}",
    "{team} and {team2} alignment on the {topic}",
    "All hands",
)
STATUS_WEIGHTS = (
    (MeetingStatus.COMPLETED, 94),
    (MeetingStatus.FAILED, 2),
    (MeetingStatus.PROCESSING, 2),
    (MeetingStatus.SCHEDULED, 2),
)
WORDS_PER_SECOND = 2.6
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo password"


@dataclass(frozen=True)
class DemoMeeting:
    title: str
    status: MeetingStatus
    start: datetime
    end: datetime | None
    speakers: tuple[str, ...]
    segments: list[NewSegment]


def _fill(rng: random.Random, template: str, people: tuple[str, ...]) -> str:
    team, team2 = rng.sample(TEAMS, 2)
    person, person2 = (rng.sample(people, 2)) if len(people) > 1 else (people[0], people[0])
    return template.format(
        feature=rng.choice(FEATURES),
        topic=rng.choice(TOPICS),
        team=team,
        team2=team2,
        customer=rng.choice(CUSTOMERS),
        verb=rng.choice(VERBS),
        adjective=rng.choice(ADJECTIVES),
        day=rng.choice(DAYS),
        number=rng.choice(NUMBERS),
        person=person,
        person2=person2,
    )


def _segments(rng: random.Random, count: int, speakers: tuple[str, ...]) -> list[NewSegment]:
    segments = []
    clock_ms = rng.randint(500, 3000)
    speaker = speakers[0]
    for seq in range(count):
        if seq == 1 or rng.random() < 0.45:  # someone answers the first speaker
            speaker = rng.choice([p for p in speakers if p != speaker])
        text = " ".join(
            _fill(rng, rng.choice(TEMPLATES), speakers) for _ in range(rng.choice((1, 1, 2)))
        )
        if rng.random() < RARE_RATE:
            text += f" By the way, what about the {rng.choice(RARE)}?"
        words: list[dict[str, Any]] = []
        t = clock_ms
        for word in text.split():
            length = round(1000 * (0.12 + 0.06 * len(word)) / (WORDS_PER_SECOND / 2.6))
            probability = round(min(0.999, max(0.3, rng.gauss(0.9, 0.07))), 4)
            words.append(
                {"text": word, "start_ms": t, "end_ms": t + length, "probability": probability}
            )
            t += length + rng.randint(40, 180)
        confidence = sum(w["probability"] for w in words) / len(words)
        segments.append(
            NewSegment(
                seq=seq,
                text=text,
                start_ms=clock_ms,
                end_ms=t,
                confidence=round(confidence, 4),
                words=words,
                speaker=speaker,
            )
        )
        clock_ms = t + rng.randint(200, 2500)
    return segments


def generate_meetings(
    count: int, segments_per_meeting: int, *, now: datetime, seed: int = 1
) -> Iterator[DemoMeeting]:
    """``count`` meetings in chronological order over the year before ``now``."""
    rng = random.Random(seed)
    year_s = 365 * 24 * 3600
    offsets = sorted(rng.uniform(3600, year_s) for _ in range(count))
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    for offset in reversed(offsets):
        start = (now - timedelta(seconds=offset)).replace(microsecond=0)
        # meetings happen on working hours
        start = start.replace(hour=rng.randint(8, 17), minute=rng.choice((0, 15, 30, 45)))
        start = min(start, now - timedelta(hours=1))
        status = rng.choices(statuses, weights)[0]
        speakers = tuple(rng.sample(PEOPLE, rng.randint(2, 5)))
        team, team2 = rng.sample(TEAMS, 2)
        title = rng.choice(TITLES).format(
            topic=rng.choice(TOPICS).capitalize(),
            customer=rng.choice(CUSTOMERS),
            feature=rng.choice(FEATURES).capitalize(),
            team=team.capitalize(),
            team2=team2,
            person=speakers[0],
            person2=speakers[1],
        )
        if status is MeetingStatus.SCHEDULED:
            yield DemoMeeting(title, status, start, None, speakers, [])
            continue
        n = max(1, round(segments_per_meeting * rng.uniform(0.7, 1.3)))
        if segments_per_meeting <= 0:
            n = 0
        segments = _segments(rng, n, speakers)
        duration_ms = (segments[-1].end_ms + rng.randint(1000, 5000)) if segments else 60_000
        yield DemoMeeting(
            title, status, start, start + timedelta(milliseconds=duration_ms), speakers, segments
        )
