"""The Word (DOCX) export: a titled document with a facts table, the meeting's insights (summary,
action items, decisions, open questions) when it has them, and a timestamped transcript."""

from __future__ import annotations

import io

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

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@register_format("docx", media_type=DOCX_TYPE, label="Word document")
def render_docx(export: MeetingExport) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Cm, Pt, RGBColor

    muted = RGBColor(0x5D, 0x65, 0x79)
    document = Document()
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(2.0)
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)

    properties = document.core_properties
    properties.title = export.title
    properties.subject = "Meeting transcript"
    properties.author = "Mina"
    properties.created = export.exported_at
    properties.language = export.language
    properties.keywords = ", ".join(export.participants)

    document.add_heading(export.title, level=0)
    facts = [
        ("Date", format_date(export.started_at)),
        ("Duration", format_duration(export.duration_ms)),
        ("Participants", ", ".join(export.participants) or "–"),
        ("Language", export.language),
    ]
    table = document.add_table(rows=0, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    widths = (Cm(3.5), Cm(13))
    for column, column_width in zip(table.columns, widths, strict=True):
        column.width = column_width
    for label, value in facts:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = widths
        label_run = cells[0].paragraphs[0].add_run(label)
        label_run.bold = True
        label_run.font.color.rgb = muted
        cells[1].paragraphs[0].add_run(value)
    if export.description.strip():
        document.add_paragraph(export.description.strip())

    for heading, items in insight_sections(export.insights):
        document.add_heading(heading, level=1)
        for item in items:
            paragraph = document.add_paragraph(style="List Bullet")
            paragraph.paragraph_format.space_after = Pt(3)
            if isinstance(item, ExportActionItem):
                paragraph.add_run("\u2611 " if item.task_status == "done" else "\u2610 ")
            paragraph.add_run(" ".join(item.text.split()))
            if isinstance(item, ExportActionItem) and owner_and_due(item):
                paragraph.add_run(f"  {owner_and_due(item)}").bold = True
            stamp = paragraph.add_run(f"  [{export.clock(item.start_ms)}]")
            stamp.font.color.rgb = muted
            stamp.font.size = Pt(9.5)
    if export.insights is not None and insight_sections(export.insights):
        byline = document.add_paragraph().add_run(insights_byline(export.insights))
        byline.italic = True
        byline.font.size = Pt(9)
        byline.font.color.rgb = muted

    document.add_heading("Transcript", level=1)
    spoken = [s for s in export.segments if s.text]
    if not spoken:
        document.add_paragraph("No transcribed speech.").runs[0].italic = True
    for segment in spoken:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(6)
        stamp = paragraph.add_run(f"[{export.clock(segment.start_ms)}]  ")
        stamp.font.color.rgb = muted
        stamp.font.size = Pt(9.5)
        if segment.speaker:
            paragraph.add_run(f"{segment.speaker}: ").bold = True
        paragraph.add_run(" ".join(segment.text.split()))

    footer = section.footer.paragraphs[0]
    footer.text = f"{export.title} · exported by Mina on {format_date(export.exported_at)}"
    for run in footer.runs:
        run.font.size = Pt(8)
        run.font.color.rgb = muted
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
