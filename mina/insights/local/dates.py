"""Due dates said in words, resolved against the meeting's date: deterministic, offline.

``find_due_dates(text, reference)`` finds the phrases a person uses for a deadline ("tomorrow",
"by Friday", "before Friday", "by the end of March", "end of the week", "next Monday at ten",
"in two weeks", "on the 15th", "April 10th", "EOD", "end of day Thursday", "first thing
Monday", "a week from today") in lowercase or capitalised text, with digits or number words as
speech recognition writes them ("April tenth", "April ten", "Friday, 27", "my Friday" for "by
Friday"), and returns each phrase's span and date.

Conventions: a bare weekday ("Friday", "by Friday", "on Friday") is the next one after the
meeting's day (a week ahead on that same day); "this Friday" may be today; "next Friday" and
"Friday next week" are the Friday of the following week; a weekday with a day of the month
("Friday the 27th") is that day when it is that weekday, else the weekday; "before Friday" is
the day before; "this week" and "end of the week" are this week's Friday, "next week" the next
one's; "end of March" is its last day (next year's once March is past); "on the 15th" is this
month's when it is still ahead, else the next month's. Times of day are ignored. Past
references ("yesterday", "last Friday") are not deadlines and are not returned.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple of": 2,
    "a couple of": 2,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "twenty first": 21,
    "twenty second": 22,
    "twenty third": 23,
    "twenty fourth": 24,
    "twenty fifth": 25,
    "twenty sixth": 26,
    "twenty seventh": 27,
    "twenty eighth": 28,
    "twenty ninth": 29,
    "thirtieth": 30,
    "thirty first": 31,
}

_WEEKDAY = r"(?P<weekday>mon|tues|wednes|thurs|fri|satur|sun)day"
_MONTH = r"(?P<month>" + "|".join(MONTHS) + r")"
_ORDINAL_WORDS = "|".join(sorted(_ORDINALS, key=len, reverse=True)).replace(" ", r"[\s-]")
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\b|(?P<dayword>" + _ORDINAL_WORDS + r")\b"
_CARDINALS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "twenty one": 21, "twenty two": 22, "twenty three": 23, "twenty four": 24, "twenty five": 25,
    "twenty six": 26, "twenty seven": 27, "twenty eight": 28, "twenty nine": 29, "thirty": 30,
    "thirty one": 31,
}  # fmt: skip
_CARDINAL_WORDS = "|".join(sorted(_CARDINALS, key=len, reverse=True)).replace(" ", r"[\s-]")
# "April ten", as people say it; only after a month name, and not after "may" (a verb as often)
_MONTH_CARDINAL = (
    r"(?P<month>"
    + "|".join(m for m in MONTHS if m != "may")
    + r")\s+(?P<cardinal>"
    + _CARDINAL_WORDS
    + r")\b"
)
# the part of a day said around a weekday: "end of day Thursday", "Friday first thing"
_DAY_PART = (
    r"(?:end\s+of\s+(?:the\s+)?(?:day|business)|eod|cob|close\s+of\s+business|first\s+thing)"
)
_COUNT = (
    r"(?P<count>\d+|a couple of|couple of|a|an|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve)"
)
# "my" is how Whisper often hears "by" ("ready my Wednesday")
_PREFIX = r"(?:(?P<before>before)\s+|(?:by|on|until|till|for|due|my)\s+)?"


@dataclass(frozen=True, slots=True)
class DueDate:
    """A phrase of ``text`` (``start``, ``end`` character offsets) and the date it means."""

    start: int
    end: int
    when: date


def _weekday_index(stem: str) -> int:
    return [w[:3] for w in WEEKDAYS].index(stem[:3])


def _day_number(match: re.Match[str]) -> int | None:
    if match.group("day"):
        return int(match.group("day"))
    if "cardinal" in match.groupdict() and match.group("cardinal"):
        return _CARDINALS.get(re.sub(r"[\s-]+", " ", match.group("cardinal")))
    word = match.group("dayword")
    if word:
        return _ORDINALS.get(re.sub(r"[\s-]+", " ", word))
    return None


def _friday(reference: date, weeks: int) -> date:
    monday = reference - timedelta(days=reference.weekday())
    return monday + timedelta(days=7 * weeks + 4)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(reference: date, months: int) -> date:
    index = reference.month - 1 + months
    year, month = reference.year + index // 12, index % 12 + 1
    return date(year, month, min(reference.day, calendar.monthrange(year, month)[1]))


def _safe_date(year: int, month: int, day: int) -> date | None:
    if 1 <= day <= calendar.monthrange(year, month)[1]:
        return date(year, month, day)
    return None


def _dated(reference: date, month: int, day: int) -> date | None:
    """``day`` of ``month``: this year's, or next year's once it is past."""
    found = _safe_date(reference.year, month, day)
    if found is not None and found < reference:
        found = _safe_date(reference.year + 1, month, day)
    return found


def _day_of_month(reference: date, day: int) -> date | None:
    found = _safe_date(reference.year, reference.month, day)
    if found is not None and found >= reference:
        return found
    following = _add_months(reference.replace(day=1), 1)
    return _safe_date(following.year, following.month, day)


def _weekday_date(reference: date, weekday: int, qualifier: str) -> date:
    ahead = (weekday - reference.weekday()) % 7
    if qualifier == "next":
        monday = reference - timedelta(days=reference.weekday()) + timedelta(days=7)
        return monday + timedelta(days=weekday)
    if qualifier == "this":
        return reference + timedelta(days=ahead)
    return reference + timedelta(days=ahead or 7)


# Each rule: a pattern and how its match becomes a date. Earlier rules win where spans overlap.
def _rule_weekday(match: re.Match[str], reference: date) -> date | None:
    weekday = _weekday_index(match.group("weekday"))
    qualifier = match.group("qualifier") or ""
    if match.group("nextweek"):
        qualifier = "next"
    if qualifier == "last":
        return None
    day = _day_number(match)
    if day is not None:
        dated = _day_of_month(reference, day)
        # "Friday the 27th" when the 27th is a Friday; "Friday, 10 of us" is Friday
        if dated is not None and dated.weekday() == weekday:
            return dated
    return _weekday_date(reference, weekday, qualifier)


def _rule_month_day(match: re.Match[str], reference: date) -> date | None:
    day = _day_number(match)
    if day is None:
        return None
    return _dated(reference, MONTHS.index(match.group("month")) + 1, day)


def _rule_month_cardinal(match: re.Match[str], reference: date) -> date | None:
    day = _CARDINALS.get(re.sub(r"[\s-]+", " ", match.group("cardinal")))
    if day is None:
        return None
    return _dated(reference, MONTHS.index(match.group("month")) + 1, day)


def _rule_end_of(match: re.Match[str], reference: date) -> date | None:
    what = match.group("what")
    if match.group("month"):
        month = MONTHS.index(match.group("month")) + 1
        year = reference.year + (1 if month < reference.month else 0)
        return _month_end(year, month)
    nxt = 1 if match.group("nxt") else 0
    if what == "day":
        return reference
    if what == "week":
        return _friday(reference, nxt)
    if what == "month":
        shifted = _add_months(reference.replace(day=1), nxt)
        return _month_end(shifted.year, shifted.month)
    if what == "quarter":
        last_month = ((reference.month - 1) // 3 + 1 + nxt) * 3
        year = reference.year + (last_month - 1) // 12
        return _month_end(year, (last_month - 1) % 12 + 1)
    if what == "year":
        return date(reference.year + nxt, 12, 31)
    return None


def _rule_relative(match: re.Match[str], reference: date) -> date | None:
    count = match.group("count")
    number = int(count) if count.isdigit() else _NUMBERS.get(count, 1)
    unit = match.group("unit")
    if unit == "day":
        return reference + timedelta(days=number)
    if unit == "week":
        return reference + timedelta(days=7 * number)
    if unit == "month":
        return _add_months(reference, number)
    return None


def _rule_week(match: re.Match[str], reference: date) -> date | None:
    return _friday(reference, 1 if match.group("which") == "next" else 0)


def _rule_month(match: re.Match[str], reference: date) -> date | None:
    shifted = _add_months(reference.replace(day=1), 1)
    return _month_end(shifted.year, shifted.month)


def _rule_the_day(match: re.Match[str], reference: date) -> date | None:
    day = _day_number(match)
    return None if day is None else _day_of_month(reference, day)


def _rule_words(match: re.Match[str], reference: date) -> date | None:
    word = match.group("word")
    if "day after" in word:
        return reference + timedelta(days=2)
    if word.startswith("tomorrow"):
        return reference + timedelta(days=1)
    return reference


_RULES: tuple[tuple[re.Pattern[str], object], ...] = (
    (
        re.compile(
            rf"\b{_PREFIX}(?:(?:by\s+)?(?:the\s+)?{_DAY_PART}\s+(?:on\s+)?)?"
            rf"(?:(?P<qualifier>next|this|coming|last)\s+)?{_WEEKDAY}"
            # "Friday the 27th", "Friday, 27", "Friday not twenty-seven" (Whisper's "the")
            rf"(?:,?\s+(?:(?:the|not|of|a|da)\s+)?(?:{_DAY}|(?P<cardinal>{_CARDINAL_WORDS})\b))?"
            rf"(?P<nextweek>\s+(?:of\s+)?next\s+week)?"
            r"(?:\s+at\s+\w+(?:\s+(?:am|pm|o'clock|thirty))?)?"
            rf"(?:,?\s+(?:by\s+)?(?:the\s+)?{_DAY_PART})?"
        ),
        _rule_weekday,
    ),
    (re.compile(rf"\b{_PREFIX}{_MONTH}\s+(?:the\s+)?(?:{_DAY})"), _rule_month_day),
    (re.compile(rf"\b{_PREFIX}(?:the\s+)?(?:{_DAY})\s+of\s+{_MONTH}"), _rule_month_day),
    (re.compile(rf"\b{_PREFIX}{_MONTH_CARDINAL}"), _rule_month_cardinal),
    (
        re.compile(
            rf"\b{_PREFIX}(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(?P<nxt>next\s+)?"
            rf"(?:(?P<what>day|week|month|quarter|year)|{_MONTH})"
        ),
        _rule_end_of,
    ),
    (
        re.compile(rf"\b(?:in|within)\s+(?:the\s+next\s+)?{_COUNT}\s+(?P<unit>day|week|month)s?\b"),
        _rule_relative,
    ),
    (
        re.compile(rf"\b{_COUNT}\s+(?P<unit>day|week|month)s?\s+from\s+(?:today|now)\b"),
        _rule_relative,
    ),
    (
        re.compile(
            r"\b(?:by\s+|before\s+|until\s+)?(?:the\s+end\s+of\s+)?(?P<which>this|next)\s+week\b"
        ),
        _rule_week,
    ),
    (re.compile(r"\b(?:by\s+|until\s+)?next\s+month\b"), _rule_month),
    (
        # "on the 15th", not "the first week" nor "the second candidate"
        re.compile(
            rf"\b{_PREFIX}the\s+(?:{_DAY})(?!\s+(?!at\b|and\b|or\b|so\b|please\b|then\b)[a-z])"
        ),
        _rule_the_day,
    ),
    (
        # a bare "15th", its "by the" misheard ("I'll share a draft, I'm a 15th")
        re.compile(
            r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)\b(?P<dayword>)"
            r"(?!\s+(?!at\b|and\b|or\b|so\b|please\b|then\b)[a-z])"
        ),
        _rule_the_day,
    ),
    (
        re.compile(
            r"\b(?:by\s+|before\s+|until\s+)?(?P<word>the\s+day\s+after\s+tomorrow|day\s+after\s+"
            r"tomorrow|tomorrow(?:\s+(?:morning|afternoon|evening|night))?|today|tonight|"
            r"this\s+(?:morning|afternoon|evening)|end\s+of\s+(?:the\s+)?day|eod|"
            r"close\s+of\s+business|cob|(?:right\s+)?after\s+(?:this|the)\s+(?:call|meeting))\b"
        ),
        _rule_words,
    ),
)


def find_due_dates(text: str, reference: date) -> list[DueDate]:
    """Every deadline phrase of ``text`` and its date, in order of position."""
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    found: list[DueDate] = []
    for pattern, rule in _RULES:
        for match in pattern.finditer(lowered):
            start, end = match.span()
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            when = rule(match, reference)  # type: ignore[operator]
            if when is None or when < reference:
                continue
            before = "before" in match.groupdict() and match.group("before")
            if before and when > reference:
                when -= timedelta(days=1)
            found.append(DueDate(start, end, when))
    return sorted(found, key=lambda due: due.start)


def resolve_due_date(text: str, reference: date) -> date | None:
    """The first deadline said in ``text``, or None."""
    found = find_due_dates(text, reference)
    return found[0].when if found else None
