"""``mina backup FILE``: the database snapshot first, then the files, then the manifest.

The order makes a backup taken while people record consistent: every audio file is copied as
it is after the snapshot, so it holds at least the bytes the snapshot records as durable
(``sessions.audio_bytes``). A recording still live at the snapshot is restored as an active
session whose heartbeat has stopped; the restored server's recovery completes it like any
recording whose server died.

What is copied: the recordings a session of the snapshot points to (PCM), every other file
under ``<data dir>/audio`` (the Opus playback copies; hidden scratch files left out), the
uploaded files of upload jobs not yet finished (a restored server resumes them), and the
generated secret key. PCM files no session of the snapshot knows (a recording started after
it) and files of finished uploads are left out.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from mina import __version__
from mina.backup.archive import PROGRESS_EVERY_S, ArchiveWriter
from mina.backup.manifest import (
    SECRET_KEY_NAME,
    BackupError,
    Manifest,
    SecretKeySource,
    is_file_member,
)
from mina.backup.paths import ReferencedFile
from mina.backup.snapshot import take_snapshot
from mina.db import create_db_engine
from mina.models import utcnow
from mina.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class BackupSummary:
    path: Path
    size: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    live_recordings: int = 0
    missing: list[str] = field(default_factory=list)
    secret_key: SecretKeySource = "none"
    seconds: float = 0.0


def create_backup(settings: Settings, path: Path) -> BackupSummary:
    """Write a backup of the database and data directory of ``settings`` to ``path``
    (atomically: a failed backup leaves no file). Blocking; safe while the server runs."""
    started = time.monotonic()
    path = path.expanduser().absolute()
    if not path.parent.is_dir():
        raise BackupError(f"cannot write {path}: {path.parent} is not a directory")
    summary = BackupSummary(path)
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        with tempfile.TemporaryDirectory(prefix=".mina-backup-", dir=path.parent) as scratch:
            snapshot = take_snapshot(engine, data_dir=settings.data_dir, scratch=Path(scratch))
            with ArchiveWriter(path) as archive:
                for dump in snapshot.tables:
                    archive.add_file(dump.spec.member, dump.path)
                    summary.rows[dump.spec.name] = dump.spec.rows
                summary.secret_key = _add_secret_key(archive, settings)
                _add_files(archive, _files_to_copy(snapshot.files, settings), summary)
                manifest = Manifest(
                    mina_version=__version__,
                    schema_revision=snapshot.revision,
                    database_backend=snapshot.backend,
                    created_at=utcnow().isoformat(),
                    secret_key=summary.secret_key,
                    source_data_dir=str(settings.data_dir.resolve()),
                    tables=tuple(t.spec for t in snapshot.tables),
                    members=tuple(archive.members),
                    live_recordings=snapshot.live_recordings,
                )
                archive.finish(manifest)
                summary.live_recordings = snapshot.live_recordings
    except OSError as exc:
        raise BackupError(f"could not write {path}: {exc}") from exc
    except SQLAlchemyError as exc:
        raise BackupError(f"could not read the database: {exc}") from exc
    finally:
        engine.dispose()
    summary.size = path.stat().st_size
    summary.seconds = time.monotonic() - started
    return summary


def _add_secret_key(archive: ArchiveWriter, settings: Settings) -> SecretKeySource:
    if settings.secret_key:
        return "environment"  # never written into the file: the operator keeps it
    key_file = settings.data_dir / SECRET_KEY_NAME
    if not key_file.is_file():
        return "none"
    archive.add_file(SECRET_KEY_NAME, key_file)
    return "file"


def _files_to_copy(referenced: list[ReferencedFile], settings: Settings) -> list[ReferencedFile]:
    """The referenced files, then every other non-PCM file under the audio folder."""
    chosen: dict[str, ReferencedFile] = {}
    for item in referenced:
        chosen.setdefault(item.member, item)
    audio_dir = settings.audio_dir
    for folder, dirs, names in os.walk(audio_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            source = Path(folder) / name
            if name.startswith(".") or name.endswith(".pcm") or not source.is_file():
                continue
            member = "audio/" + source.relative_to(audio_dir).as_posix()
            if not is_file_member(member):
                logger.warning("left out %s: its name cannot be restored safely", source)
                continue
            chosen.setdefault(member, ReferencedFile(member, source))
    return list(chosen.values())


def _add_files(archive: ArchiveWriter, files: list[ReferencedFile], summary: BackupSummary) -> None:
    last_report = time.monotonic()
    for index, item in enumerate(files, start=1):
        try:
            member = archive.add_file(item.member, item.source)
        except FileNotFoundError:
            if item.min_size:  # else nothing was written yet (an upload not yet decoded)
                logger.warning("%s is missing: the backup has no %s", item.source, item.member)
                summary.missing.append(item.member)
            continue
        if member.size < item.min_size:
            logger.warning(
                "%s has %d bytes, fewer than the %d the database records as durable",
                item.source,
                member.size,
                item.min_size,
            )
        summary.files += 1
        summary.file_bytes += member.size
        if time.monotonic() - last_report >= PROGRESS_EVERY_S:
            last_report = time.monotonic()
            logger.info(
                "copied %d of %d files (%d MB)", index, len(files), summary.file_bytes >> 20
            )
