"""Due dates said in words, resolved against a fixed meeting date (Tuesday 10 March 2026)."""

from __future__ import annotations

from datetime import date

import pytest

from mina.insights.local.dates import find_due_dates, resolve_due_date

TUESDAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("today", "2026-03-10"),
        ("EOD", "2026-03-10"),
        ("by end of day", "2026-03-10"),
        ("this afternoon", "2026-03-10"),
        ("right after this call", "2026-03-10"),
        ("tomorrow", "2026-03-11"),
        ("tomorrow morning", "2026-03-11"),
        ("the day after tomorrow", "2026-03-12"),
        ("by Friday", "2026-03-13"),
        ("on friday", "2026-03-13"),
        ("before Friday", "2026-03-12"),
        ("this Tuesday", "2026-03-10"),
        ("on Tuesday", "2026-03-17"),
        ("on Monday", "2026-03-16"),
        ("next Monday at ten", "2026-03-16"),
        ("by next Wednesday", "2026-03-18"),
        ("Friday next week", "2026-03-20"),
        ("end of the week", "2026-03-13"),
        ("by the end of this week", "2026-03-13"),
        ("by the end of next week", "2026-03-20"),
        ("this week", "2026-03-13"),
        ("next week", "2026-03-20"),
        ("by the end of March", "2026-03-31"),
        ("by the end of the month", "2026-03-31"),
        ("end of February", "2027-02-28"),
        ("by the end of the quarter", "2026-03-31"),
        ("next month", "2026-04-30"),
        ("in two weeks", "2026-03-24"),
        ("in 2 weeks", "2026-03-24"),
        ("in the next two weeks", "2026-03-24"),
        ("within three days", "2026-03-13"),
        ("in a couple of days", "2026-03-12"),
        ("in a month", "2026-04-10"),
        ("on the 15th", "2026-03-15"),
        ("on the fifteenth", "2026-03-15"),
        ("by the 3rd", "2026-04-03"),
        ("Friday the 27th", "2026-03-27"),
        ("by April 10th", "2026-04-10"),
        ("April the 10th", "2026-04-10"),
        ("the 20th of March", "2026-03-20"),
        ("twenty first of April", "2026-04-21"),
        ("March 3rd", "2027-03-03"),
        ("ready my Wednesday", "2026-03-11"),
        ("end of day Thursday", "2026-03-12"),
        ("by EOD Friday", "2026-03-13"),
        ("close of business Friday", "2026-03-13"),
        ("Thursday end of day", "2026-03-12"),
        ("first thing Monday", "2026-03-16"),
        ("by Friday, 27", "2026-03-27"),
        ("on Friday, 10 of us", "2026-03-13"),
        ("by Friday the twenty seventh", "2026-03-27"),
        ("for Friday not twenty-seven", "2026-03-27"),
        ("Friday twenty seven", "2026-03-27"),
        ("April tenth", "2026-04-10"),
        ("by April ten", "2026-04-10"),
        ("June twenty one", "2026-06-21"),
        ("my April 10", "2026-04-10"),
        ("I'm a 15th", "2026-03-15"),
        ("a week from today", "2026-03-17"),
        ("two weeks from now", "2026-03-24"),
        ("in the next couple of days", "2026-03-12"),
    ],
)
def test_phrases_resolve_against_the_meeting_date(phrase: str, expected: str) -> None:
    assert resolve_due_date(phrase, TUESDAY) == date.fromisoformat(expected)
    assert resolve_due_date(f"I'll send the budget to finance {phrase}.", TUESDAY) == (
        date.fromisoformat(expected)
    )


@pytest.mark.parametrize(
    "text",
    [
        "We shipped it yesterday.",
        "It broke last Friday.",
        "The first week was slow.",
        "The second candidate was fine.",
        "We have twelve tickets in the backlog.",
        "Send the budget to finance.",
        "You may two of them.",
        "We moved to the 15th floor.",
        "She came 2nd in the race.",
        "",
    ],
)
def test_no_deadline_is_invented(text: str) -> None:
    assert resolve_due_date(text, TUESDAY) is None


def test_spans_cover_the_phrase_and_come_in_order() -> None:
    text = "Write the plan by Friday and send it to Bob tomorrow"
    found = find_due_dates(text, TUESDAY)
    assert [text[d.start : d.end].lower() for d in found] == ["by friday", "tomorrow"]
    assert [d.when for d in found] == [date(2026, 3, 13), date(2026, 3, 11)]


def test_a_bare_weekday_on_that_weekday_is_a_week_ahead() -> None:
    friday = date(2026, 3, 13)
    assert resolve_due_date("by Friday", friday) == date(2026, 3, 20)
    assert resolve_due_date("this Friday", friday) == friday
    assert resolve_due_date("on the 13th", friday) == friday
