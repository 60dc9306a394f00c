"""Plain-text and Markdown transcripts: the meeting's facts, its insights (summary, action items,
decisions, open questions) when it has them, then one line per segment."""

from __future__ import annotations

import re

from mina.exporters.document import (
    ExportActionItem,
    ExportPoint,
    MeetingExport,
    format_date,
    format_duration,
    insight_sections,
    insights_byline,
    owner_and_due,
)
from mina.exporters.registry import register_format


def _facts(export: MeetingExport) -> list[tuple[str, str]]:
    facts = [
        ("Date", format_date(export.started_at)),
        ("Duration", format_duration(export.duration_ms)),
    ]
    if export.participants:
        facts.append(("Participants", ", ".join(export.participants)))
    facts.append(("Language", export.language))
    return facts


def _item_line(export: MeetingExport, item: ExportPoint | ExportActionItem, text: str) -> str:
    """``text [mm:ss]``, then ``(owner · due date)`` for an action item."""
    line = f"{text} [{export.clock(item.start_ms)}]"
    if isinstance(item, ExportActionItem) and owner_and_due(item):
        line += f" ({owner_and_due(item)})"
    return line


def _txt_insights(export: MeetingExport) -> list[str]:
    lines: list[str] = []
    for heading, items in insight_sections(export.insights):
        lines += ["", heading, "-" * len(heading), ""]
        for item in items:
            mark = "- "
            if isinstance(item, ExportActionItem):
                mark = "[x] " if item.task_status == "done" else "[ ] "
            lines.append(mark + _item_line(export, item, " ".join(item.text.split())))
    if lines and export.insights is not None:
        lines += ["", insights_byline(export.insights)]
    return lines


@register_format("txt", media_type="text/plain; charset=utf-8", label="Plain text")
def render_txt(export: MeetingExport) -> bytes:
    lines = [export.title, "=" * max(3, len(export.title)), ""]
    width = max(len(label) for label, _ in _facts(export)) + 1
    lines += [f"{label + ':':<{width}} {value}" for label, value in _facts(export)]
    if export.description.strip():
        lines += ["", export.description.strip()]
    lines += _txt_insights(export)
    lines += ["", "Transcript", "----------", ""]
    for segment in export.segments:
        if not segment.text:
            continue
        who = f" {segment.speaker}:" if segment.speaker else ""
        lines.append(f"[{export.clock(segment.start_ms)}]{who} {' '.join(segment.text.split())}")
    if not any(s.text for s in export.segments):
        lines.append("(no transcribed speech)")
    return ("\n".join(lines) + "\n").encode("utf-8")


# What can start emphasis, code, links, images or HTML inside a line; the rest stays readable.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~])")


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as written (no emphasis, links, HTML or headings by accident)."""
    # Every line this module writes starts with its own markup, so block syntax cannot trigger.
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_insights(export: MeetingExport) -> list[str]:
    lines: list[str] = []
    for heading, items in insight_sections(export.insights):
        lines += [f"## {heading}", ""]
        for item in items:
            mark = "- "
            if isinstance(item, ExportActionItem):
                mark = "- [x] " if item.task_status == "done" else "- [ ] "
            text = escape_markdown(item.text)
            line = f"{text} \\[{export.clock(item.start_ms)}\\]"
            if isinstance(item, ExportActionItem) and owner_and_due(item):
                line += f" *{escape_markdown(owner_and_due(item))}*"
            lines.append(mark + line)
        lines.append("")
    if lines and export.insights is not None:
        lines += [f"*{escape_markdown(insights_byline(export.insights))}*", ""]
    return lines


@register_format("md", media_type="text/markdown; charset=utf-8", label="Markdown")
def render_md(export: MeetingExport) -> bytes:
    title = escape_markdown(export.title)
    if title.endswith("#"):
        title = title[:-1] + "\\#"  # a trailing # would close the heading and vanish
    lines = [f"# {title}", ""]
    lines += [f"- **{label}:** {escape_markdown(value)}" for label, value in _facts(export)]
    if export.description.strip():
        lines += ["", escape_markdown(export.description)]
    lines.append("")
    lines += _md_insights(export)
    lines += ["## Transcript", ""]
    for segment in export.segments:
        if not segment.text:
            continue
        who = f" {escape_markdown(segment.speaker)}:" if segment.speaker else ""
        text = escape_markdown(segment.text)
        lines += [f"**[{export.clock(segment.start_ms)}]{who}** {text}", ""]
    if not any(s.text for s in export.segments):
        lines += ["*No transcribed speech.*", ""]
    return "\n".join(lines).encode("utf-8")
