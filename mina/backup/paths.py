"""File paths stored in rows, made portable: a backup stores them relative to the data
directory (``audio/3/<uuid>.pcm``), a restore joins them to the new data directory.

Two columns hold paths: ``sessions.audio_path`` (a recording's PCM file) and the
``upload_path`` in an upload job's ``payload``. A path outside the data directory (the data
directory moved since the row was written) is given a member name of its own under
``audio/external/`` or ``uploads/external/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mina.backup.manifest import is_file_member
from mina.models import JobStatus

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class ReferencedFile:
    """A file a row points to, to copy into the backup as ``member``. ``min_size`` is the
    byte count the database records as durable (a live recording's acknowledged audio)."""

    member: str
    source: Path
    min_size: int = 0


def make_row_portable(table: str, row: dict[str, Any], data_dir: Path) -> ReferencedFile | None:
    """Rewrite the path in ``row`` (in place) relative to ``data_dir``; the file to back up
    with it, if the row needs one."""
    if table == "sessions" and row.get("audio_path"):
        source = Path(row["audio_path"])
        member = _member_for(source, data_dir, "audio", f"sessions-{row['id']}")
        row["audio_path"] = member
        return ReferencedFile(member, source, int(row.get("audio_bytes") or 0))
    if table == "jobs" and isinstance(row.get("payload"), dict):
        payload = dict(row["payload"])
        if not payload.get("upload_path"):
            return None
        source = Path(str(payload["upload_path"]))
        member = _member_for(source, data_dir, "uploads", f"jobs-{row['id']}")
        payload["upload_path"] = member
        row["payload"] = payload
        unfinished = str(row.get("status")) in (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
        return ReferencedFile(member, source) if unfinished else None
    return None


def make_row_local(table: str, row: dict[str, Any], data_dir: Path) -> None:
    """Rewrite the portable path in ``row`` (in place) to a path in ``data_dir``."""
    if table == "sessions" and row.get("audio_path"):
        row["audio_path"] = str(data_dir / row["audio_path"])
    elif table == "jobs" and isinstance(row.get("payload"), dict):
        if row["payload"].get("upload_path"):
            payload = dict(row["payload"])
            payload["upload_path"] = str(data_dir / str(payload["upload_path"]))
            row["payload"] = payload


def _member_for(source: Path, data_dir: Path, folder: str, owner: str) -> str:
    try:
        relative = source.resolve().relative_to(data_dir.resolve())
    except ValueError:
        relative = None
    if relative is not None:
        name = PurePosixPath(*relative.parts).as_posix()
        if name.startswith(f"{folder}/") and is_file_member(name):
            return name
    return f"{folder}/external/{owner}-{_UNSAFE.sub('_', source.name) or 'file'}"
