"""What a person types into the search box, made safe for the full-text engines.

A query is words and ``"quoted phrases"``; ``plan*`` asks for a prefix, and the last word typed
is always a prefix (search as you type). Only word characters reach the engines: each word is
quoted for SQLite FTS5 and for PostgreSQL ``to_tsquery``, so no input is a syntax error there.
Snippets come back from the engines with control-character markers, turned into escaped HTML
with ``<mark>`` here. The SQL itself lives in :mod:`mina.store`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

# Marks a matched passage in snippets from FTS5's snippet() and PostgreSQL's ts_headline().
MARK_START = "\x02"
MARK_END = "\x03"
MAX_QUERY_WORDS = 12
MIN_PREFIX_LENGTH = 2

# Schema objects the full-text migration adds outside the SQLAlchemy models: SQLite FTS5 tables
# (and their shadow tables), PostgreSQL's segment_search table, tsvector column, GIN indexes.
FTS_TABLES = ("segments_fts", "meetings_fts", "segment_search")
SEARCH_COLUMN = "search_vector"
# (and the expression index of "longest first", which the models cannot express for both)
SEARCH_INDEXES = ("ix_segment_search_vector", "ix_meetings_search", "ix_meetings_workspace_length")

_WORD = re.compile(r"\w+")
_PIECE = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    """A word or a phrase of the query; ``prefix`` widens its last word to a prefix."""

    words: tuple[str, ...]
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: every term must match (AND)."""

    terms: tuple[Term, ...]

    @property
    def is_empty(self) -> bool:
        return not self.terms

    def fts5(self) -> str:
        """An FTS5 MATCH expression: each word double-quoted, phrases kept together."""
        parts = []
        for term in self.terms:
            phrase = '"' + " ".join(term.words) + '"'
            parts.append(phrase + ("*" if term.prefix else ""))
        return " AND ".join(parts)

    def tsquery(self) -> str:
        """A ``to_tsquery`` text: words single-quoted, phrases joined with ``<->``."""
        parts = []
        for term in self.terms:
            quoted = [f"'{word}'" for word in term.words]
            if term.prefix:
                quoted[-1] += ":*"
            parts.append(" <-> ".join(quoted) if term.is_phrase else quoted[0])
        return " & ".join(parts)


def parse_query(text: str) -> SearchQuery:
    """The terms of a query; punctuation and operators are dropped, never passed on."""
    terms: list[Term] = []
    pieces = list(_PIECE.finditer(text))
    for index, match in enumerate(pieces):
        phrase, bare = match.group(1), match.group(2)
        if phrase is not None:
            words = tuple(w.lower() for w in _WORD.findall(phrase))
            if words:
                terms.append(Term(words))
            continue
        words = tuple(w.lower() for w in _WORD.findall(bare))
        if not words:
            continue
        asks_prefix = bare.endswith("*") or index == len(pieces) - 1
        # "e-mail" or "o'clock" become separate words; only the final one can be a prefix
        for position, word in enumerate(words):
            final = position == len(words) - 1
            prefix = final and asks_prefix and len(word) >= MIN_PREFIX_LENGTH
            terms.append(Term((word,), prefix=prefix))
    unique = tuple(dict.fromkeys(terms))
    return SearchQuery(unique[:MAX_QUERY_WORDS])


def highlight(marked: str) -> Markup:
    """Escaped HTML of a marked snippet, matched passages in ``<mark>``; always balanced."""
    out: list[str] = []
    open_mark = False
    for piece in re.split(f"([{MARK_START}{MARK_END}])", marked):
        if piece == MARK_START:
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif piece == MARK_END:
            if open_mark:
                out.append("</mark>")
                open_mark = False
        elif piece:
            out.append(str(escape(piece)))
    if open_mark:
        out.append("</mark>")
    return Markup("".join(out))


def trim_snippet(marked: str, words: int, *, before: int = 4) -> str:
    """About ``words`` words of a fully marked text around its first match, with ellipses
    where it was cut (PostgreSQL's ts_headline drops tag-like text unless it marks it all)."""
    pieces = marked.split()
    first = next((i for i, piece in enumerate(pieces) if MARK_START in piece), 0)
    start = max(0, min(first - before, len(pieces) - words))
    end = min(len(pieces), start + words)
    text = " ".join(pieces[start:end])
    return ("\u2026" if start > 0 else "") + text + ("\u2026" if end < len(pieces) else "")


def is_search_schema_object(name: str | None, type_: str) -> bool:
    """True for the full-text objects the models do not describe (skipped in schema diffs)."""
    if name is None:
        return False
    if type_ == "table":
        return any(name == t or name.startswith(f"{t}_") for t in FTS_TABLES)
    if type_ == "column":
        return name == SEARCH_COLUMN
    if type_ == "index":
        return name in SEARCH_INDEXES
    return False
