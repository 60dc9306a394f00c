"""SRT and WebVTT subtitles: cues of at most two short lines that never overlap and are never empty.

A long segment is cut into several cues at word boundaries (between characters in Chinese and
Japanese, which count two columns each). Its word timings place the cuts when the text is the
engine's own; an edited text no longer matches its words, so its cuts are placed in proportion
to the text before them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from mina.exporters.document import (
    ExportSegment,
    MeetingExport,
    format_date,
    format_duration,
)
from mina.exporters.registry import register_format

MAX_LINE_CHARS = 42
MAX_LINES = 2
MIN_CUE_MS = 700  # a segment that claims no time still stays on screen long enough to read


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    speaker: str | None
    lines: list[str]


@dataclass(frozen=True)
class _Piece:
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str


@dataclass(frozen=True)
class _Unit:
    """Where a line may break: a word, or one character of a script written without spaces."""

    text: str
    word: int  # index of the word (space-separated) it belongs to
    spaced: bool  # a space goes before it when it does not start a line
    width: int


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _width(text: str) -> int:
    """Screen width in Latin-letter columns: Chinese, Japanese and Korean characters take two."""
    return sum(2 if _is_wide(ch) else 1 for ch in text)


def _units(words: list[str]) -> list[_Unit]:
    units: list[_Unit] = []
    for index, word in enumerate(words):
        if not any(_is_wide(ch) for ch in word):
            units.append(_Unit(word, index, True, len(word)))
            continue
        pieces: list[str] = []
        for ch in word:
            # a wide character may start a line, unless it is punctuation (kept with the text
            # before it) or follows narrow text of the same word
            joins = pieces and (
                not _is_wide(ch)
                or unicodedata.category(ch).startswith("P")
                or not _is_wide(pieces[-1][-1])
            )
            if joins:
                pieces[-1] += ch
            else:
                pieces.append(ch)
        units += [_Unit(p, index, n == 0, _width(p)) for n, p in enumerate(pieces)]
    return units


def _join(units: list[_Unit]) -> str:
    return "".join((" " if u.spaced and n else "") + u.text for n, u in enumerate(units))


def _joined_width(units: list[_Unit]) -> int:
    return sum(u.width + (1 if u.spaced and n else 0) for n, u in enumerate(units))


def _chunks(units: list[_Unit], limit: int) -> list[list[_Unit]]:
    """``units`` grouped greedily into runs at most ``limit`` columns wide."""
    groups: list[list[_Unit]] = [[]]
    width = 0
    for unit in units:
        extra = unit.width + (1 if groups[-1] and unit.spaced else 0)
        if groups[-1] and width + extra > limit:
            groups.append([])
            width, extra = 0, unit.width
        groups[-1].append(unit)
        width += extra
    return [g for g in groups if g]


def _split_segment(segment: ExportSegment, text: str) -> list[_Piece]:
    reserve = _width(segment.speaker) + 2 if segment.speaker else 0
    words = text.split()
    units = _units(words)
    limit = max(MAX_LINE_CHARS, MAX_LINE_CHARS * MAX_LINES - reserve)
    groups = _chunks(units, limit)
    # as even as the same number of cues allows: no three-word tail after two full cues
    for target in range(-(-_joined_width(units) // len(groups)), limit):
        even = _chunks(units, target)
        if len(even) == len(groups):
            groups = even
            break
    start, end = segment.start_ms, max(segment.end_ms, segment.start_ms)
    if len(groups) == 1:
        return [_Piece(start, end, segment.speaker, text)]
    timed = (
        not segment.edited
        and len(segment.words) == len(words)
        and all(start <= w.start_ms <= end for w in segment.words)
        and all(group[0].spaced for group in groups)
    )
    total = _width(text)
    starts: list[int] = []
    offset = 0
    for group in groups:
        if timed:
            starts.append(segment.words[group[0].word].start_ms)
        else:
            starts.append(start + (end - start) * offset // max(1, total))
        offset += _joined_width(group) + 1
    starts[0] = start
    for number in range(1, len(starts)):
        starts[number] = min(end, max(starts[number], starts[number - 1]))
    pieces = []
    for number, group in enumerate(groups):
        piece_end = starts[number + 1] if number + 1 < len(groups) else end
        pieces.append(_Piece(starts[number], piece_end, segment.speaker, _join(group)))
    return pieces


def _wrap(text: str) -> list[str]:
    """One line, or two lines as even as the places a line may break allow."""
    if _width(text) <= MAX_LINE_CHARS:
        return [text]
    units = _units(text.split())
    if len(units) < 2:
        return [text]
    best = min(
        range(1, len(units)),
        key=lambda cut: (
            max(_joined_width(units[:cut]), _joined_width(units[cut:])),
            not units[cut].spaced,  # between words rather than inside one
        ),
    )
    return [_join(units[:best]), _join(units[best:])]


def build_cues(segments: list[ExportSegment], *, speaker_prefix: bool) -> list[Cue]:
    """Cues in time order. Each starts where the previous one ended at the earliest and ends
    before the next begins, so players never show two at once; empty segments give no cue."""
    pieces: list[_Piece] = []
    for segment in segments:
        text = " ".join(segment.text.split())
        if text:
            pieces.extend(_split_segment(segment, text))
    pieces.sort(key=lambda p: p.start_ms)
    cues: list[Cue] = []
    previous_end = 0
    for index, piece in enumerate(pieces):
        start = max(piece.start_ms, previous_end)
        end = max(piece.end_ms, start + MIN_CUE_MS)
        if index + 1 < len(pieces) and pieces[index + 1].start_ms > start:
            end = min(end, pieces[index + 1].start_ms)
        shown = f"{piece.speaker}: {piece.text}" if speaker_prefix and piece.speaker else piece.text
        cues.append(Cue(start, end, piece.speaker, _wrap(shown)))
        previous_end = end
    return cues


def subtitle_timestamp(ms: int, separator: str) -> str:
    """``HH:MM:SS,mmm`` (SRT) or ``HH:MM:SS.mmm`` (WebVTT); hours grow past 99 if need be."""
    seconds, millis = divmod(max(0, ms), 1000)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _timing(cue: Cue, separator: str) -> str:
    start = subtitle_timestamp(cue.start_ms, separator)
    return f"{start} --> {subtitle_timestamp(cue.end_ms, separator)}"


@register_format("srt", media_type="application/x-subrip", label="Subtitles (SRT)")
def render_srt(export: MeetingExport) -> bytes:
    blocks = []
    for number, cue in enumerate(build_cues(export.segments, speaker_prefix=True), start=1):
        timing = _timing(cue, ",")
        lines = [line.replace("-->", "->") for line in cue.lines]
        blocks.append("\n".join([str(number), timing, *lines]))
    return ("\n\n".join(blocks) + "\n").encode("utf-8") if blocks else b""


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_line(text: str) -> str:
    # a NOTE block ends at a blank line and may not contain "-->"
    return " ".join(text.split()).replace("-->", "->")


@register_format("vtt", media_type="text/vtt; charset=utf-8", label="Subtitles (WebVTT)")
def render_vtt(export: MeetingExport) -> bytes:
    note = [
        "NOTE",
        _note_line(export.title),
        _note_line(f"Date: {format_date(export.started_at)}"),
        _note_line(f"Duration: {format_duration(export.duration_ms)}"),
    ]
    if export.participants:
        note.append(_note_line(f"Participants: {', '.join(export.participants)}"))
    blocks = ["WEBVTT", "\n".join(note)]
    for number, cue in enumerate(build_cues(export.segments, speaker_prefix=False), start=1):
        timing = _timing(cue, ".")
        lines = [_vtt_escape(line) for line in cue.lines]
        if cue.speaker:
            # the voice span names who speaks; players may show or style it
            speaker = _vtt_escape(cue.speaker).replace("\n", " ")
            lines[0] = f"<v {speaker}>{lines[0]}"
            lines[-1] = f"{lines[-1]}</v>"
        blocks.append("\n".join([str(number), timing, *lines]))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")
