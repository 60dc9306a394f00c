"""``mina restore FILE``: a verified backup loaded into an empty data directory and database.

In order: every member is checked against the manifest (a damaged or truncated file changes
nothing); the target must be empty (no rows in any backed-up table, no files under audio/ or
uploads/), or nothing changes; the database is migrated to the backup's schema revision; the
rows are inserted table by table (parents first) in one transaction with the triggers active,
so the full-text indexes and the talk-time summary are rebuilt as they go; the files are
written under the new data directory, and the paths stored in rows point there; PostgreSQL's id
sequences move past the restored ids; finally the schema is migrated to this Mina's head.
A restore that fails half-way rolls the rows back and removes the files it wrote.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, column, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from mina import store
from mina.backup.archive import CHUNK, PROGRESS_EVERY_S, Readable, read_members, verify_archive
from mina.backup.manifest import (
    SECRET_KEY_NAME,
    BackupError,
    Manifest,
    MemberSpec,
    TableSpec,
    column_type,
    decode_row,
    is_file_member,
)
from mina.backup.paths import make_row_local
from mina.db import create_db_engine, create_session_factory, transaction
from mina.migrate import is_known_revision, migrate_database, upgrade_database
from mina.settings import Settings

logger = logging.getLogger(__name__)

BATCH_ROWS = 1000


@dataclass
class RestoreSummary:
    manifest: Manifest
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    seconds: float = 0.0


def restore_backup(settings: Settings, path: Path) -> RestoreSummary:
    """Load the backup at ``path`` into the empty data directory and database of
    ``settings``. ``BackupError`` (with nothing changed) for a damaged backup or a target
    that is not empty. Blocking."""
    started = time.monotonic()
    manifest = verify_archive(path)
    if not is_known_revision(manifest.schema_revision):
        raise BackupError(
            f"the backup's schema revision {manifest.schema_revision} is newer than this Mina "
            f"knows (made by Mina {manifest.mina_version}): restore it with that version or later"
        )
    _refuse_files(settings)
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        _refuse_rows(engine, settings, manifest)
        settings.prepare_data_dir()
        migrate_database(engine, manifest.schema_revision)
        summary = RestoreSummary(manifest)
        _load(engine, path, manifest, settings.data_dir.resolve(), summary)
        upgrade_database(engine)
        with transaction(create_session_factory(engine)) as session:
            store.refresh_search_statistics(session)
    except SQLAlchemyError as exc:
        raise BackupError(f"the database refused the restore: {exc}") from exc
    finally:
        engine.dispose()
    summary.seconds = time.monotonic() - started
    return summary


def _refuse_files(settings: Settings) -> None:
    for folder in (settings.audio_dir, settings.upload_dir):
        if folder.is_dir() and any(p.is_file() for p in folder.rglob("*")):
            raise BackupError(
                f"the data directory is not empty: {folder} holds files. Restore into an "
                "empty data directory (MINA_DATA_DIR) and an empty database; nothing was changed"
            )


def _refuse_rows(engine: Engine, settings: Settings, manifest: Manifest) -> None:
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not Path(database).exists():
            return  # a database file yet to be created is empty
    try:
        with engine.connect() as connection:
            found = store.tables_with_rows(connection, names=[t.name for t in manifest.tables])
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot open the target database: {exc}") from exc
    if found:
        counts = ", ".join(f"{name} ({count} rows)" for name, count in found.items())
        url = make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
        raise BackupError(
            f"the database {url} is not empty: {counts}. Restore into an empty database "
            "(MINA_DATABASE_URL) and an empty data directory; nothing was changed"
        )


def _load(
    engine: Engine, path: Path, manifest: Manifest, data_dir: Path, summary: RestoreSummary
) -> None:
    tables = {t.member: t for t in manifest.tables}
    members = {m.name: m for m in manifest.members}
    written: list[Path] = []
    key_file = data_dir / SECRET_KEY_NAME
    previous_key = key_file.read_bytes() if key_file.is_file() else None
    last_report = time.monotonic()
    try:
        with engine.begin() as connection, read_members(path) as stream:
            for name, handle in stream:
                expected = members[name]
                if name in tables:
                    spec = tables[name]
                    summary.rows[spec.name] = _insert_table(
                        connection, spec, handle, expected, data_dir
                    )
                elif name == SECRET_KEY_NAME:
                    _write_file(key_file, handle, expected, replace=True)
                elif is_file_member(name):
                    _write_file(data_dir / name, handle, expected, written=written)
                    summary.files += 1
                    summary.file_bytes += expected.size
                if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                    last_report = time.monotonic()
                    logger.info(
                        "restored %d files (%d MB) so far", summary.files, summary.file_bytes >> 20
                    )
            for spec in manifest.tables:
                count = store.count_table_rows(connection, name=spec.name)
                if count != spec.rows:
                    raise BackupError(
                        f"{spec.name} has {count} rows after the restore, the backup {spec.rows}"
                    )
            store.reset_id_sequences(connection, names=[t.name for t in manifest.tables])
    except BaseException:
        for target in written:
            target.unlink(missing_ok=True)
        if previous_key is None:
            key_file.unlink(missing_ok=True)
        else:
            key_file.write_bytes(previous_key)
        raise


def _insert_table(
    connection: Connection, spec: TableSpec, handle: Readable, expected: MemberSpec, data_dir: Path
) -> int:
    target = table(spec.name, *(column(c.name, column_type(c.kind)) for c in spec.columns))
    digest = hashlib.sha256()
    batch = []
    count = 0
    try:
        for line in _lines(handle, digest):
            row = decode_row(line, spec.columns)
            make_row_local(spec.name, row, data_dir)
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                store.insert_table_rows(connection, table=target, rows=batch)
                count += len(batch)
                batch.clear()
        store.insert_table_rows(connection, table=target, rows=batch)
        count += len(batch)
    except SQLAlchemyError as exc:
        raise BackupError(f"could not restore the rows of {spec.name}: {exc}") from exc
    except ValueError as exc:  # not UTF-8, not JSON, not a timestamp: the file changed
        raise BackupError(f"the rows of {spec.name} cannot be read: {exc}") from exc
    _check_digest(expected, digest)
    logger.info("restored %d rows of %s", count, spec.name)
    return count


def _lines(handle: Readable, digest: hashlib._Hash) -> Iterator[str]:
    pending = b""
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        *complete, pending = (pending + chunk).split(b"\n")
        for line in complete:
            yield line.decode("utf-8")
    if pending:
        yield pending.decode("utf-8")


def _write_file(
    target: Path,
    handle: Readable,
    expected: MemberSpec,
    *,
    replace: bool = False,
    written: list[Path] | None = None,
) -> None:
    """Stream a member into ``target`` (a new file unless ``replace``), fsync'd, checked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    digest = hashlib.sha256()
    fd = os.open(target, flags, 0o600 if replace else 0o640)
    if written is not None:
        written.append(target)
    with os.fdopen(fd, "wb") as out:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    _check_digest(expected, digest)


def _check_digest(expected: MemberSpec, digest: hashlib._Hash) -> None:
    if digest.hexdigest() != expected.sha256:
        raise BackupError(f"{expected.name} changed while it was restored: the file is unstable")
