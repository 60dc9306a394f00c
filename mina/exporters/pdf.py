"""The PDF export (fpdf2): title, a facts block, the meeting's insights (summary, action items,
decisions, open questions) when it has them, then the transcript with timestamps and speakers.

Text is set in the bundled DejaVu Sans (Latin, Greek, Cyrillic and much more); Chinese, Japanese
and Korean fall back to the bundled Droid Sans Fallback, loaded only when a meeting needs it.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, cast

from mina.exporters.document import (
    ExportActionItem,
    MeetingExport,
    format_date,
    format_duration,
    insight_sections,
    insights_byline,
    owner_and_due,
)
from mina.exporters.registry import register_format

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
FALLBACK = FONT_DIR / "DroidSansFallback.ttf"

INK = (20, 24, 39)
MUTED = (93, 101, 121)
ACCENT = (79, 70, 229)
RULE = (227, 230, 239)
PANEL = (246, 247, 251)
STAMP_WIDTH = 20.0  # mm


def _needs_fallback(export: MeetingExport, covered: Collection[int]) -> bool:
    texts = [export.title, export.description, *export.participants]
    texts += [s.text for s in export.segments]
    if export.insights is not None:
        texts += export.insights.texts()
    return any(ord(ch) not in covered for text in texts for ch in text if not ch.isspace())


def _wrap_lines(
    pdf: FPDF, text: str, width: float, covered: Collection[int], cache: dict[str, float]
) -> list[str] | None:
    """``text`` broken into lines that fit ``width`` in the current font, measuring each word once.

    fpdf2's own line breaking re-measures the line at every character, which made a one-hour
    transcript take seconds. None when ``multi_cell`` must do it: a glyph from the fallback font
    or a word wider than the line.
    """
    if any(ord(ch) not in covered for ch in text if ch != " "):
        return None
    space = pdf.get_string_width(" ")
    lines: list[str] = []
    current: list[str] = []
    current_width = 0.0
    for word in text.split(" "):
        word_width = cache.get(word)
        if word_width is None:
            word_width = cache[word] = pdf.get_string_width(word)
        if word_width > width:
            return None
        if current and current_width + space + word_width > width:
            lines.append(" ".join(current))
            current, current_width = [word], word_width
        else:
            current_width += (space if current else 0.0) + word_width
            current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.set_font("body", "B", 13)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*RULE)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(3)


def _insights(pdf: FPDF, export: MeetingExport) -> None:
    """The insight sections: each item beside the timestamp of its moment, an action item with
    a box (ticked when its task is done), its owner and due date."""
    sections = insight_sections(export.insights)
    text_width = pdf.epw - STAMP_WIDTH
    for heading, items in sections:
        _heading(pdf, heading)
        for item in items:
            if pdf.will_page_break(10):
                pdf.add_page()
            y = pdf.get_y()
            pdf.set_font("body", "", 9)
            pdf.set_text_color(*ACCENT)
            pdf.set_xy(pdf.l_margin, y + 0.4)
            pdf.cell(STAMP_WIDTH, 5, export.clock(item.start_ms))
            pdf.set_xy(pdf.l_margin + STAMP_WIDTH, y)
            pdf.set_font("body", "", 10.5)
            pdf.set_text_color(*INK)
            text = " ".join(item.text.split())
            if isinstance(item, ExportActionItem):
                text = ("\u2611 " if item.task_status == "done" else "\u2610 ") + text
            pdf.multi_cell(text_width, 5.6, text, align="L", new_x="LEFT", new_y="NEXT")
            if isinstance(item, ExportActionItem) and owner_and_due(item):
                pdf.set_font("body", "B", 9)
                pdf.set_text_color(*MUTED)
                pdf.multi_cell(
                    text_width, 5, owner_and_due(item), align="L", new_x="LEFT", new_y="NEXT"
                )
            pdf.set_x(pdf.l_margin)
            pdf.ln(1.6)
        pdf.ln(2)
    if sections and export.insights is not None:
        pdf.set_font("body", "", 8.5)
        pdf.set_text_color(*MUTED)
        byline = insights_byline(export.insights)
        pdf.multi_cell(0, 4.5, byline, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)


def _document(export: MeetingExport) -> FPDF:
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

    footer_text = f"{export.title} · {format_date(export.started_at)}"

    class _Transcript(FPDF):
        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("body", size=8)
            self.set_text_color(*MUTED)
            self.cell(0, 6, footer_text[:110], align="L")
            self.set_x(self.l_margin)
            self.cell(0, 6, f"{self.page_no()} / {{nb}}", align="R")

    pdf = _Transcript(format="A4", unit="mm")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("body", "", str(REGULAR))
    pdf.add_font("body", "B", str(BOLD))
    body = pdf.fonts["body"]
    if isinstance(body, TTFFont) and _needs_fallback(export, body.cmap):
        pdf.add_font("fallback", "", str(FALLBACK))
        pdf.set_fallback_fonts(["fallback"], exact_match=False)
    pdf.set_title(export.title)
    pdf.set_subject("Meeting transcript")
    pdf.set_author("Mina")
    pdf.set_creator("Mina")
    pdf.set_keywords(", ".join(export.participants))
    pdf.set_lang(export.language or "en")
    pdf.set_creation_date(export.exported_at)
    return pdf


@register_format("pdf", media_type="application/pdf", label="PDF document")
def render_pdf(export: MeetingExport) -> bytes:
    from fpdf.fonts import TTFFont

    pdf = _document(export)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("body", "B", 9)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 5, "MEETING TRANSCRIPT", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("body", "B", 20)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 9, export.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    facts = [
        ("Date", format_date(export.started_at)),
        ("Duration", format_duration(export.duration_ms)),
        ("Participants", ", ".join(export.participants) or "–"),
        ("Language", export.language),
    ]
    top = pdf.get_y()
    label_width = 30.0
    pdf.set_fill_color(*PANEL)
    pdf.set_draw_color(*RULE)
    # measure first so the panel is drawn behind the text
    pdf.set_font("body", "", 10)
    value_width = width - label_width - 8
    height = 4.0
    for _, value in facts:
        lines = pdf.multi_cell(value_width, 5.5, value, dry_run=True, output="LINES")
        height += 5.5 * max(1, len(cast(list[str], lines)))
    pdf.rect(pdf.l_margin, top, width, height, style="DF")
    pdf.set_y(top + 2)
    for label, value in facts:
        pdf.set_x(pdf.l_margin + 4)
        pdf.set_font("body", "B", 10)
        pdf.set_text_color(*MUTED)
        pdf.cell(label_width, 5.5, label)
        pdf.set_font("body", "", 10)
        pdf.set_text_color(*INK)
        pdf.multi_cell(value_width, 5.5, value, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + height + 4)
    if export.description.strip():
        pdf.set_font("body", "", 10)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 5.5, export.description.strip(), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    _insights(pdf, export)
    _heading(pdf, "Transcript")

    spoken = [s for s in export.segments if s.text]
    if not spoken:
        pdf.set_font("body", "", 10.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 6, "No transcribed speech.", new_x="LMARGIN", new_y="NEXT")
    previous_speaker: str | None = None
    body = pdf.fonts["body"]
    covered: Collection[int] = body.cmap if isinstance(body, TTFFont) else ()
    word_widths: dict[str, float] = {}
    for segment in spoken:
        if pdf.will_page_break(12):
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_font("body", "", 9)
        pdf.set_text_color(*ACCENT)
        pdf.set_xy(pdf.l_margin, y + 0.4)
        pdf.cell(STAMP_WIDTH, 5, export.clock(segment.start_ms))
        pdf.set_xy(pdf.l_margin + STAMP_WIDTH, y)
        if segment.speaker and segment.speaker != previous_speaker:
            pdf.set_font("body", "B", 10)
            pdf.set_text_color(*INK)
            pdf.multi_cell(
                width - STAMP_WIDTH, 5.5, segment.speaker, align="L", new_x="LEFT", new_y="NEXT"
            )
        previous_speaker = segment.speaker
        pdf.set_font("body", "", 10.5)
        pdf.set_text_color(*INK)
        text = " ".join(segment.text.split())
        wrapped = _wrap_lines(pdf, text, width - STAMP_WIDTH, covered, word_widths)
        if wrapped is None:
            pdf.multi_cell(width - STAMP_WIDTH, 5.6, text, align="L", new_x="LMARGIN", new_y="NEXT")
        for line in wrapped or []:
            pdf.set_x(pdf.l_margin + STAMP_WIDTH)
            pdf.cell(width - STAMP_WIDTH, 5.6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.2)
    return bytes(pdf.output())
