"""The backup file's format: its members, its manifest, and how a row becomes a line of JSON.

A backup is an uncompressed tar file::

    db/<table>.jsonl    one JSON array per row, columns in the manifest's order, one file per
                        table, tables in the order a restore inserts them (parents first)
    secret_key          the data directory's generated secret key, when there is one
    audio/...           recordings (.pcm) and playback copies (.opus), as under <data dir>/audio
    uploads/...         uploaded files an unfinished upload job still needs
    manifest.json       last: versions, schema revision, tables, and size and SHA-256 of every
                        other member

Row values are portable between SQLite and PostgreSQL: timestamps as ISO 8601 in UTC, JSON
columns as JSON, bytes in base64, everything else as the JSON value it is. File paths stored in
rows are relative to the data directory (see :mod:`mina.backup.paths`).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, Column, DateTime, LargeBinary, Table
from sqlalchemy.sql.type_api import TypeEngine

from mina.models import UTCDateTime

FORMAT = "mina-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SECRET_KEY_NAME = "secret_key"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

ColumnKind = Literal["value", "datetime", "json", "bytes"]
SecretKeySource = Literal["file", "environment", "none"]
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
FILE_FOLDERS = ("audio", "uploads")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: ColumnKind


@dataclass(frozen=True)
class TableSpec:
    """One table's member: its columns (in the order of each row's values) and row count."""

    name: str
    member: str
    columns: tuple[ColumnSpec, ...]
    rows: int


@dataclass(frozen=True)
class MemberSpec:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    mina_version: str
    schema_revision: str
    database_backend: str
    created_at: str
    secret_key: SecretKeySource
    source_data_dir: str
    tables: tuple[TableSpec, ...]
    members: tuple[MemberSpec, ...]
    live_recordings: int = 0
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n").encode()

    def table(self, name: str) -> TableSpec | None:
        return next((t for t in self.tables if t.name == name), None)


def read_manifest(data: bytes) -> Manifest:
    """The manifest of a backup; ``BackupError`` for anything that is not one this version
    of Mina can restore."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"the manifest is not valid JSON ({exc}): the file is damaged") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BackupError("this is not a Mina backup (its manifest names no mina-backup format)")
    if raw.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"backup format version {raw.get('format_version')!r} is not one this version of "
            f"Mina reads ({FORMAT_VERSION}); restore it with the Mina that made it or a newer one"
        )
    try:
        tables = tuple(
            TableSpec(
                name=t["name"],
                member=t["member"],
                columns=tuple(ColumnSpec(c["name"], c["kind"]) for c in t["columns"]),
                rows=int(t["rows"]),
            )
            for t in raw["tables"]
        )
        members = tuple(
            MemberSpec(m["name"], int(m["size"]), str(m["sha256"])) for m in raw["members"]
        )
        manifest = Manifest(
            mina_version=str(raw["mina_version"]),
            schema_revision=str(raw["schema_revision"]),
            database_backend=str(raw["database_backend"]),
            created_at=str(raw["created_at"]),
            secret_key=raw["secret_key"],
            source_data_dir=str(raw["source_data_dir"]),
            tables=tables,
            members=members,
            live_recordings=int(raw.get("live_recordings", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupError(f"the manifest is incomplete ({exc!r}): the file is damaged") from exc
    _check_names(manifest)
    return manifest


def _check_names(manifest: Manifest) -> None:
    """Every member name is one a restore may write: no absolute paths, no '..', only the
    known folders; every column kind is known."""
    table_members = {t.member for t in manifest.tables}
    for member in manifest.members:
        if member.name in table_members or member.name == SECRET_KEY_NAME:
            continue
        if not is_file_member(member.name):
            raise BackupError(f"the manifest names an unexpected member {member.name!r}")
    kinds = set(get_args(ColumnKind))
    for table in manifest.tables:
        if not _SAFE_NAME.fullmatch(table.name) or table.member != table_member(table.name):
            raise BackupError(f"the manifest names an unexpected table {table.name!r}")
        for column in table.columns:
            if column.kind not in kinds or not _SAFE_NAME.fullmatch(column.name):
                raise BackupError(f"the manifest has an unknown column in {table.name}")
    if manifest.secret_key not in get_args(SecretKeySource):
        raise BackupError(f"the manifest has an unknown secret key source {manifest.secret_key!r}")


def table_member(name: str) -> str:
    return f"db/{name}.jsonl"


def is_file_member(name: str) -> bool:
    """A member restored as a file of the data directory: under audio/ or uploads/, made of
    plain path components."""
    parts = name.split("/")
    return (
        len(parts) >= 2
        and parts[0] in FILE_FOLDERS
        and all(_SAFE_NAME.fullmatch(part) and part not in (".", "..") for part in parts[1:])
    )


# --- rows ------------------------------------------------------------------------------------


def column_kind(column: Column[Any]) -> ColumnKind:
    kind = column.type
    if isinstance(kind, UTCDateTime | DateTime):
        return "datetime"
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, LargeBinary):
        return "bytes"
    return "value"


def table_columns(table: Table) -> tuple[ColumnSpec, ...]:
    return tuple(ColumnSpec(c.name, column_kind(c)) for c in table.columns)


def column_type(kind: ColumnKind) -> TypeEngine[Any] | None:
    """The SQLAlchemy type a restore binds a column of this kind with (None: as is)."""
    if kind == "datetime":
        return UTCDateTime()
    if kind == "json":
        return JSON(none_as_null=True)
    if kind == "bytes":
        return LargeBinary()
    return None


def encode_row(values: dict[str, Any], columns: tuple[ColumnSpec, ...]) -> str:
    """One line of a table member: the row's values in column order."""
    out: list[Any] = []
    for column in columns:
        value = values[column.name]
        if value is not None:
            if column.kind == "datetime":
                value = _iso(value)
            elif column.kind == "bytes":
                value = base64.b64encode(value).decode()
        out.append(value)
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def decode_row(line: str, columns: tuple[ColumnSpec, ...]) -> dict[str, Any]:
    values = json.loads(line)
    if not isinstance(values, list) or len(values) != len(columns):
        raise BackupError("a table row does not match its columns: the file is damaged")
    row: dict[str, Any] = {}
    for column, value in zip(columns, values, strict=True):
        if value is not None:
            if column.kind == "datetime":
                value = datetime.fromisoformat(value)
            elif column.kind == "bytes":
                value = base64.b64decode(value)
        row[column.name] = value
    return row


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise BackupError("a timestamp without a time zone cannot be backed up")
    return value.isoformat()
