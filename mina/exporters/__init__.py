"""Meeting exports: txt, md, json, docx, pdf, srt and vtt, each one function plus a registration."""

from __future__ import annotations

from mina.exporters.document import (
    ExportActionItem,
    ExportInsights,
    ExportPoint,
    ExportSegment,
    ExportWord,
    MeetingExport,
    export_filename,
    load_export,
)
from mina.exporters.registry import (
    ExportFormat,
    get_format,
    list_formats,
    register_format,
    render_export,
)

__all__ = [
    "ExportActionItem",
    "ExportFormat",
    "ExportInsights",
    "ExportPoint",
    "ExportSegment",
    "ExportWord",
    "MeetingExport",
    "export_filename",
    "get_format",
    "list_formats",
    "load_export",
    "register_format",
    "render_export",
]
