"""The JSON export: the API's Meeting shape plus its segments, for scripts and other tools."""

from __future__ import annotations

import json
from typing import Any

from mina.exporters.document import MeetingExport, iso_datetime
from mina.exporters.registry import register_format


@register_format("json", media_type="application/json", label="JSON")
def render_json(export: MeetingExport) -> bytes:
    document: dict[str, Any] = {
        **export.meeting,
        "participants": export.participants,
        "exported_at": iso_datetime(export.exported_at),
        "segments": [
            {
                "id": s.id,
                "seq": s.seq,
                "text": s.text,
                "start_ms": s.start_ms,
                "end_ms": s.end_ms,
                "confidence": s.confidence,
                "speaker": s.speaker,
                "edited": s.edited,
                "original_text": s.original_text,
                "edited_at": iso_datetime(s.edited_at),
                "words": [
                    {
                        "text": w.text,
                        "start_ms": w.start_ms,
                        "end_ms": w.end_ms,
                        "probability": w.probability,
                    }
                    for w in s.words
                ],
            }
            for s in export.segments
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
