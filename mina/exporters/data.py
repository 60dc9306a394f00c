"""The JSON export: the API's Meeting shape plus its insights and segments, for scripts and other
tools."""

from __future__ import annotations

import json
from typing import Any

from mina.exporters.document import (
    ExportActionItem,
    ExportInsights,
    ExportPoint,
    MeetingExport,
    iso_datetime,
)
from mina.exporters.registry import register_format


def _point(point: ExportPoint | ExportActionItem) -> dict[str, Any]:
    return {"text": point.text, "segment_id": point.segment_id, "start_ms": point.start_ms}


def insights_json(insights: ExportInsights | None) -> dict[str, Any] | None:
    """The insights as ``GET /api/meetings/{id}/insights`` gives them (less the job's state),
    on the export's timeline; None when the meeting has none."""
    if insights is None:
        return None
    return {
        "provider": insights.provider,
        "model": insights.model,
        "generated_at": iso_datetime(insights.generated_at),
        "stale": insights.stale,
        "summary": [_point(p) for p in insights.summary],
        "action_items": [
            {
                **_point(a),
                "owner": a.owner,
                "due_date": a.due_date.isoformat() if a.due_date else None,
                "task_id": a.task_id,
                "task_status": a.task_status,
            }
            for a in insights.action_items
        ],
        "decisions": [_point(p) for p in insights.decisions],
        "questions": [_point(p) for p in insights.questions],
        "topics": [{"label": label, "weight": weight} for label, weight in insights.topics],
        "sentiment": {
            "overall": insights.sentiment_overall,
            "by_speaker": insights.sentiment_by_speaker,
        },
    }


@register_format("json", media_type="application/json", label="JSON")
def render_json(export: MeetingExport) -> bytes:
    document: dict[str, Any] = {
        **export.meeting,
        "participants": export.participants,
        "exported_at": iso_datetime(export.exported_at),
        "insights": insights_json(export.insights),
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
                "sentiment": s.sentiment,
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
