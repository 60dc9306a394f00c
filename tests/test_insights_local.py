"""The local insight provider with the real spaCy model: action items with owners and due
dates, decisions, open questions, summary, topics, sentiment; determinism, citations, thread
safety; the insight bench's scoring, and its tuning figures as a regression floor."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pytest

from bench.insights import TARGET_DUE, TARGET_PRECISION, TARGET_RECALL, evaluate
from bench.insights.material import Script, load_scripts, recognised, script_text
from bench.insights.scoring import key_words, score_actions, score_decisions, summary_coverage
from mina.insights.base import ActionItem, Insights, MeetingText, Point, SourceSegment
from mina.insights.local import LocalProvider
from mina.insights.local.model import (
    WEIGHTS_SHA256,
    LanguageModelIntegrityError,
    model_dir,
    verify_model,
)
from mina.insights.registry import get_provider_factory
from mina.settings import Settings

# Tuesday 10 March 2026, 09:30
REFERENCE = datetime(2026, 3, 10, 9, 30).astimezone()


@pytest.fixture(scope="module")
def provider() -> LocalProvider:
    made = LocalProvider()
    made.load()
    return made


def meeting(*turns: tuple[str | None, str]) -> MeetingText:
    segments = []
    clock = 0
    for number, (speaker, text) in enumerate(turns, start=1):
        length = 400 * max(1, len(text.split()))
        segments.append(SourceSegment(number, clock, clock + length, speaker, text))
        clock += length + 600
    return MeetingText(7, "Test meeting", REFERENCE, tuple(segments))


def only_item(insights: Insights) -> ActionItem:
    assert len(insights.action_items) == 1, insights.action_items
    return insights.action_items[0]


def test_the_registry_makes_the_local_provider() -> None:
    made = get_provider_factory("local")(Settings())
    assert made.name == "local"
    assert re.fullmatch(r"en_core_web_sm 3\.8\.0 \+ yake 0\.7\.3 \+ vader 3\.3\.2", made.model)


def test_a_named_request_belongs_to_the_person_named(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                ("Alice", "Bob, can you send the budget to finance by Friday?"),
                ("Bob", "Sure."),
            )
        )
    )
    assert item.owner == "Bob"
    assert item.due_date == date(2026, 3, 13)
    assert item.text == "Send the budget to finance"
    assert item.segment_id == 1


def test_a_first_person_commitment_belongs_to_its_speaker(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(("Speaker 2", "Okay so I'll write the incident report tomorrow."))
        )
    )
    assert item.owner == "Speaker 2"
    assert item.due_date == date(2026, 3, 11)
    assert item.text == "Write the incident report"


def test_an_unnamed_request_belongs_to_whoever_takes_it(provider: LocalProvider) -> None:
    taken = only_item(
        provider.generate(
            meeting(
                ("Alice", "Could you update the onboarding wiki before Friday?"),
                ("Carol", "Will do."),
            )
        )
    )
    assert (taken.owner, taken.due_date) == ("Carol", date(2026, 3, 12))
    untaken = only_item(
        provider.generate(
            meeting(
                ("Alice", "Could you update the onboarding wiki?"),
                ("Carol", "The wiki is a mess, honestly."),
            )
        )
    )
    assert untaken.owner is None


def test_a_person_named_as_subject_owns_the_item(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(("Alice", "Dana will prepare the launch slides for the board by next week."))
        )
    )
    assert item.owner == "Dana"
    assert item.due_date == date(2026, 3, 20)


def test_an_accepting_answer_adds_its_date_not_an_item(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                ("Arjun", "Claire, can you implement the archiving job?"),
                ("Claire", "Sure, I can have it done in two weeks."),
            )
        )
    )
    assert (item.owner, item.due_date) == ("Claire", date(2026, 3, 24))


def test_lets_make_that_an_action_item(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                ("Dana", "Someone needs to update the release notes template."),
                ("Dana", "Let's make that an action item for Lena, by the end of next week."),
                ("Lena", "Okay, no problem."),
            )
        )
    )
    assert item.owner == "Lena"
    assert item.due_date == date(2026, 3, 20)
    assert "release notes template" in item.text


def test_the_same_commitment_twice_is_one_item(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Ines", "I'll send the campaign budget to finance."),
            ("Nadia", "Thanks. When?"),
            ("Ines", "Yes, I'll send the campaign budget to finance by Thursday."),
        )
    )
    item = only_item(insights)
    assert (item.owner, item.due_date) == ("Ines", date(2026, 3, 12))


def test_lowercase_unpunctuated_speech_still_gives_items(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Speaker 1", "okay so i will write up the memory numbers and share them by thursday"),
            ("Speaker 2", "please review the pull request for the indexing job before friday"),
        )
    )
    items = {(i.owner, i.due_date) for i in insights.action_items}
    assert ("Speaker 1", date(2026, 3, 12)) in items
    assert (None, date(2026, 3, 12)) in items


def test_requests_answered_in_the_meeting_are_not_items(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Arjun", "Good morning everyone. Can you all hear me?"),
            ("Claire", "Yes, I can hear you."),
            ("Arjun", "Claire, can you walk us through the timeline?"),
            ("Claire", "Sure. The database ran out of disk space at two fifteen."),
            ("Felix", "I'll go next. I think the alerts were too quiet."),
        )
    )
    assert insights.action_items == ()
    assert insights.questions == ()


def test_decisions(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Sofia", "Maybe all requests should go through the product manager first?"),
            ("Jamal", "I like that. Let's go with that."),
            ("Sofia", "Agreed. We also decided to move the launch to May."),
            ("Jamal", "Did we agree on the budget?"),
        )
    )
    texts = [d.text for d in insights.decisions]
    assert texts == [
        "Maybe all requests should go through the product manager first.",
        "We also decided to move the launch to May.",
    ]
    assert [d.segment_id for d in insights.decisions] == [1, 3]


def test_open_questions_are_the_unanswered_ones(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Ben", "Does the product integrate with Zendesk?"),
            ("Kofi", "I'm not sure about a native integration, honestly."),
            ("Ben", "Does it run on our own hardware?"),
            ("Kofi", "Yes, it runs entirely on your own servers."),
            ("Ben", "Could you send the pricing sheet?"),
            ("Kofi", "Sure."),
            ("Ben", "What happens to the recordings after the trial ends?"),
        )
    )
    assert [q.text for q in insights.questions] == [
        "Does the product integrate with Zendesk?",
        "What happens to the recordings after the trial ends?",
    ]


FILLER = re.compile(
    r"good morning|morning everyone|thanks all|thank you|hear me|have a good|let's get started",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def standup(provider: LocalProvider) -> tuple[MeetingText, Insights]:
    script = next(s for s in load_scripts() if s.name == "standup")
    text = recognised(script).meeting
    return text, provider.generate(text)


@pytest.fixture(scope="module")
def every_meeting(provider: LocalProvider) -> list[tuple[Script, MeetingText, Insights]]:
    """Each script's recognised transcript and script text, with their insights."""
    made = []
    for script in load_scripts():
        for make in (recognised, script_text):
            text = make(script).meeting
            made.append((script, text, provider.generate(text)))
    return made


def test_the_summary_has_no_filler(
    every_meeting: list[tuple[Script, MeetingText, Insights]],
) -> None:
    for _, _, made in every_meeting:
        assert 3 <= len(made.summary) <= 7
        for point in made.summary:
            assert not FILLER.search(point.text), point.text
            first = point.text[0]  # a capital, or a sum ("$20,000 goes on paid social.")
            assert first.isupper() or first.isdigit() or first in "$£€"
            assert point.text[-1] in ".?!"
            assert not re.match(r"(?i)(so|um|uh|okay)\b", point.text)


def test_every_citation_exists(
    every_meeting: list[tuple[Script, MeetingText, Insights]],
) -> None:
    for _, text, insights in every_meeting:
        ids = {segment.id for segment in text.segments}
        cited = [
            *insights.summary,
            *insights.action_items,
            *insights.decisions,
            *insights.questions,
        ]
        assert {item.segment_id for item in cited} <= ids
        assert set(insights.sentiment.by_segment) <= ids


def test_topics_have_no_names_numbers_or_labels(
    every_meeting: list[tuple[Script, MeetingText, Insights]],
) -> None:
    for script, _, insights in every_meeting:
        assert 5 <= len(insights.topics) <= 10, (script.name, insights.topics)
        names = {name.lower() for name in script.voices}
        for topic in insights.topics:
            words = topic.label.split()
            assert 1 <= len(words) <= 3
            assert not names & set(words), topic
            assert "speaker" not in words
            assert not any(ch.isdigit() for ch in topic.label)
            assert not {"two", "forty", "ninety", "fifteen"} & set(words)
            assert 0 < topic.weight <= 1
        assert insights.topics[0].weight == 1


def test_sentiment_signs(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Ann", "This release went really well, great work everyone, I love it."),
            ("Bo", "The outage was terrible and customers were angry and upset."),
            ("Ann", "We planned the agenda for Thursday."),
        )
    )
    by_segment = insights.sentiment.by_segment
    assert by_segment[1] > 0.5
    assert by_segment[2] < -0.5
    assert abs(by_segment[3]) < 0.3
    assert insights.sentiment.by_speaker["Ann"] > 0 > insights.sentiment.by_speaker["Bo"]
    assert insights.sentiment.overall is not None and -1 <= insights.sentiment.overall <= 1


def test_unlabelled_and_empty_transcripts(provider: LocalProvider) -> None:
    insights = provider.generate(meeting((None, "I'll send the minutes to everyone tomorrow.")))
    assert only_item(insights).owner is None
    assert insights.sentiment.by_speaker == {}
    empty = provider.generate(meeting((None, "  ")))
    assert empty.action_items == () and empty.summary == () and empty.provider == "local"


def test_same_input_same_output_from_any_thread(
    provider: LocalProvider, standup: tuple[MeetingText, Insights]
) -> None:
    text, first = standup
    assert provider.generate(text) == first
    fresh = LocalProvider()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fresh.generate, [text] * 4))
    assert all(result == first for result in results)


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    source = model_dir()
    for name in WEIGHTS_SHA256:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target)
    verify_model(tmp_path)
    tampered = tmp_path / "ner" / "model"
    data = bytearray(tampered.read_bytes())
    data[100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(LanguageModelIntegrityError, match="ner/model"):
        verify_model(tmp_path)


def test_bench_scoring_on_a_hand_case() -> None:
    script = next(s for s in load_scripts() if s.name == "standup")
    transcript = script_text(script)
    # turns 6, 9 and 16 (segments 7, 10, 17); one wrong owner, one wrong date, one extra
    insights = Insights(
        provider="hand",
        model="hand",
        action_items=(
            ActionItem("Give Tom access to the staging database", 7, "Grace", date(2026, 3, 10)),
            ActionItem("Write up the memory numbers", 10, "Tom", date(2026, 3, 12)),
            ActionItem("Review the pull request", 17, "Tom", None),
            ActionItem("Buy a new coffee machine", 17, "Tom", None),
        ),
        decisions=(Point("We decided to send the welcome email from our server", 15),),
        summary=(Point("Memory is high", 10), Point("Nothing", 2)),
    )
    counts = score_actions(transcript, insights)
    assert (counts.predicted, counts.annotated, counts.matched) == (4, 5, 3)
    assert (counts.owner_right, counts.due_right) == (2, 2)
    assert counts.precision == 0.75 and counts.recall == 0.6
    decisions = score_decisions(transcript, insights)
    assert (decisions.precision, decisions.recall) == (1.0, 1.0)
    assert summary_coverage(transcript, insights) == (1, 4)
    assert key_words("Review Grace's pull requests", ["Grace"]) == {"review", "pull", "request"}


def test_tuning_figures_stay_above_the_targets(provider: LocalProvider) -> None:
    tuning = [recognised(s) for s in load_scripts() if not s.held_out]
    actions, decisions, (covered, points), _ = evaluate(provider, tuning)
    # the targets, and floors just under the figures reached (0.96, 0.98, 0.93, 0.96; 0.82
    # and 1.00; 0.78 on 11 meetings)
    assert actions.recall >= max(TARGET_RECALL, 0.92), actions.misses
    assert actions.precision >= max(TARGET_PRECISION, 0.92), actions.misses
    assert actions.due_accuracy >= max(TARGET_DUE, 0.9), actions.misses
    assert actions.owner_accuracy >= 0.9, actions.misses
    assert decisions.recall >= 0.75 and decisions.precision >= 0.9
    assert covered / points >= 0.72


def test_softer_requests_and_hedged_commitments(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Nora", "Sam, would you mind setting up three user tests before next Thursday?"),
            ("Sam", "Yeah, no problem, I'll find some people from the beta group."),
            ("Ahmed", "It would be great if someone could redo the icons to match the new style."),
            ("Nora", "I can do the icons. I'll try to get them done by the end of the month."),
        )
    )
    assert [(i.text, i.owner, i.due_date) for i in insights.action_items] == [
        ("Set up three user tests", "Sam", date(2026, 3, 18)),
        ("Redo the icons to match the new style", "Nora", date(2026, 3, 31)),
    ]


def test_talk_about_the_meeting_itself_is_no_item(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Ann", "Let me share my screen. Okay, I'll walk you through the new dashboard."),
            ("Bo", "Let me know if you can see it. I can show you the old one as well."),
            ("Ann", "I'll give you a quick update on the hiring plan first."),
        )
    )
    assert insights.action_items == ()


def test_a_call_made_refers_to_what_was_just_said(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Ahmed", "I'd rather wait, the contrast on the charts is still bad."),
            ("Nora", "Okay, so dark mode waits for the next release. That's the call."),
        )
    )
    assert [d.text for d in insights.decisions] == ["Dark mode waits for the next release."]


def test_a_call_made_in_the_same_breath(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Ahmed", "I'd rather wait, the contrast on the charts is still bad."),
            ("Nora", "Ok, so dark mode waits for the next release, that's the call."),
        )
    )
    assert [d.text for d in insights.decisions] == [
        "Dark mode waits for the next release, that's the call."
    ]


def test_a_commitment_whose_will_was_not_heard(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(meeting(("Priya", "I update the onboarding ticket this afternoon.")))
    )
    assert (item.owner, item.due_date) == ("Priya", date(2026, 3, 10))
    assert item.text == "Update the onboarding ticket"
    # no deadline, no commitment: "I update it" is as often a habit
    assert not provider.generate(meeting(("Priya", "I update the onboarding ticket."))).action_items


def test_a_commitment_then_a_question_about_it(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(("Dana", "I'll send the revised contract by Friday, does that work for you?"))
        )
    )
    assert (item.owner, item.due_date) == ("Dana", date(2026, 3, 13))
    assert item.text == "Send the revised contract"


def test_we_need_someone_to_and_who_takes_it(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                ("Elena", "We need someone to write the pilot success criteria within two weeks."),
                ("Marco", "I can take that."),
            )
        )
    )
    assert (item.owner, item.due_date) == ("Marco", date(2026, 3, 24))
    assert item.text == "Write the pilot success criteria"


def test_a_misheard_name_is_the_speaker_it_sounds_like(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                ("Yuki", "And Marko, would you be able to send us a copy of a slow report?"),
                ("Marco", "Yeah, I'll have someone pull one together."),
            )
        )
    )
    assert item.owner == "Marco"
    assert item.text == "Send a copy of a slow report"


def test_taking_a_task_on_then_saying_how(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                ("Rosa", "Can someone check whether they need a data processing agreement?"),
                ("Helen", "I'll take care of that. I'll check with their counsel by Thursday."),
            )
        )
    )
    assert (item.owner, item.due_date) == ("Helen", date(2026, 3, 12))


def test_the_second_commitment_of_a_sentence(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                (
                    "Helen",
                    "Okay, I can sell that to them, I'm going to redline the liability section "
                    "by Thursday.",
                )
            )
        )
    )
    assert (item.owner, item.due_date) == ("Helen", date(2026, 3, 12))
    assert item.text == "Redline the liability section"


def test_a_proposal_that_closes_a_discussion_is_a_decision(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Chloe", "Let's get started. Let's do the intros first."),
            ("Chloe", "Fair. So let's split it. Twelve thousand on paid social, eight on email."),
            ("Derek", "We agreed on the first of May for the pilot, right?"),
            ("Chloe", "Yes. Let's move on, and let's leave the venue open."),
        )
    )
    texts = [d.text for d in insights.decisions]
    assert texts == [
        "Twelve thousand on paid social, eight on email.",
        "We agreed on the first of May for the pilot.",
    ]


def test_a_date_said_after_ones_own_commitment(provider: LocalProvider) -> None:
    item = only_item(
        provider.generate(
            meeting(
                (
                    "Nina",
                    "I'm going to move the search queries to the read replica. That should cut "
                    "a third. I can get it done within two weeks.",
                )
            )
        )
    )
    assert (item.owner, item.due_date) == ("Nina", date(2026, 3, 24))


def test_how_a_task_taken_on_will_be_done_is_no_second_item(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Elena", "Marco, could you get me a list of the filters your managers use most?"),
            ("Marco", "Sure, I can do that. I'll ask the team leads by the 15th."),
        )
    )
    item = only_item(insights)
    assert (item.owner, item.due_date) == ("Marco", date(2026, 3, 15))
    two = provider.generate(
        meeting(
            ("Elena", "Marco, could you get me a list of the filters your managers use most?"),
            ("Marco", "Sure, I can do that. I'll also update the pricing page."),
        )
    )
    assert len(two.action_items) == 2


def test_a_misheard_name_is_a_name_said_elsewhere_or_a_speaker(provider: LocalProvider) -> None:
    insights = provider.generate(
        meeting(
            ("Speaker 1", "Lena, can you review the release notes?"),
            ("Speaker 2", "Sure."),
            ("Speaker 1", "The release notes template is out of date."),
            ("Speaker 1", "Let's make that an action item for leaner by Friday."),
        )
    )
    assert [item.owner for item in insights.action_items] == ["Lena", "Lena"]
    item = only_item(
        provider.generate(
            meeting(("Rachel", "Coffee will be your main contact. He'll run a kickoff session."))
        )
    )
    assert item.owner is None  # "Coffee" is no one here: no speaker sounds like it
    item = only_item(
        provider.generate(
            meeting(
                ("Rachel", "Coffee will be your main contact. He'll run a kickoff session."),
                ("Kofi", "Happy to."),
            )
        )
    )
    assert item.owner == "Kofi"
