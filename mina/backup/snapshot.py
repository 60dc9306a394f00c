"""A consistent snapshot of the database, dumped table by table in a portable form.

SQLite: the online backup API copies the live file into a scratch file in one step (one read
transaction, so it is consistent; in WAL mode writers are not held up), and the tables are read
from that copy. PostgreSQL: the tables are read inside one REPEATABLE READ, read-only
transaction, which sees a single snapshot. Either way each table becomes a JSON-lines file, so a
backup of either database restores into either.

Tables that triggers derive from others are left out and rebuilt as the restore inserts their
sources: ``meeting_speakers`` (talk time, from segments) and the full-text indexes (which are not
model tables at all).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, Table

from mina import store
from mina.backup.manifest import BackupError, TableSpec, encode_row, table_columns, table_member
from mina.backup.paths import ReferencedFile, make_row_portable
from mina.db import create_db_engine
from mina.migrate import head_revision, revision_of
from mina.models import Base, SessionStatus

logger = logging.getLogger(__name__)

DERIVED_TABLES = frozenset({"meeting_speakers"})
# which process holds which periodic work: meaningless on another server
TRANSIENT_TABLES = frozenset({"leases"})


@dataclass(frozen=True)
class TableDump:
    spec: TableSpec
    path: Path


@dataclass
class DatabaseSnapshot:
    revision: str
    backend: str
    tables: list[TableDump] = field(default_factory=list)
    files: list[ReferencedFile] = field(default_factory=list)
    live_recordings: int = 0

    def rows(self, table: str) -> int:
        return next((t.spec.rows for t in self.tables if t.spec.name == table), 0)


def backed_up_tables() -> list[Table]:
    """The tables a backup holds, parents before children (the order a restore inserts)."""
    skipped = DERIVED_TABLES | TRANSIENT_TABLES
    return [t for t in Base.metadata.sorted_tables if t.name not in skipped]


def take_snapshot(engine: Engine, *, data_dir: Path, scratch: Path) -> DatabaseSnapshot:
    """Dump every backed-up table into ``scratch`` as of one instant."""
    backend = engine.dialect.name
    if backend == "sqlite":
        copy = scratch / "snapshot.db"
        _copy_sqlite(engine, copy)
        reader = create_db_engine(f"sqlite:///{copy}")
        try:
            with reader.connect() as connection:
                return _dump(connection, backend, data_dir, scratch)
        finally:
            reader.dispose()
    with engine.connect() as connection:
        snapshot = connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        with snapshot.begin():
            return _dump(snapshot, backend, data_dir, scratch)


def _copy_sqlite(engine: Engine, copy: Path) -> None:
    database = engine.url.database
    if not database or database == ":memory:" or not Path(database).is_file():
        raise BackupError(f"there is no SQLite database at {database or '(none)'} to back up")
    try:
        source = sqlite3.connect(database, timeout=30)
        try:
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"could not copy the SQLite database {database}: {exc}") from exc
    logger.info("database snapshot taken (%d MB)", copy.stat().st_size >> 20)


def _dump(connection: Connection, backend: str, data_dir: Path, scratch: Path) -> DatabaseSnapshot:
    revision = revision_of(connection)
    head = head_revision()
    if revision is None:
        raise BackupError("the database has no Mina schema: there is nothing to back up")
    if revision != head:
        raise BackupError(
            f"the database is at schema revision {revision}, this Mina's is {head}: run "
            "`mina db upgrade` (or `mina serve`) with this version first"
        )
    snapshot = DatabaseSnapshot(revision=revision, backend=backend)
    live = SessionStatus.ACTIVE.value
    for table in backed_up_tables():
        columns = table_columns(table)
        path = scratch / f"{table.name}.jsonl"
        rows = 0
        with path.open("w", encoding="utf-8") as out:
            for row in store.stream_table_rows(connection, table=table):
                values = dict(row._mapping)
                referenced = make_row_portable(table.name, values, data_dir)
                if referenced is not None:
                    snapshot.files.append(referenced)
                if table.name == "sessions" and str(values["status"]) == live:
                    snapshot.live_recordings += 1
                out.write(encode_row(values, columns))
                out.write("\n")
                rows += 1
        spec = TableSpec(table.name, table_member(table.name), columns, rows)
        snapshot.tables.append(TableDump(spec, path))
    logger.info(
        "database dumped: %d rows in %d tables",
        sum(t.spec.rows for t in snapshot.tables),
        len(snapshot.tables),
    )
    return snapshot
