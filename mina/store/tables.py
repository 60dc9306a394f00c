"""Whole tables, for backup and restore: rows read in key order, rows inserted in bulk, which
tables hold rows, and PostgreSQL's id sequences moved past the ids a restore inserted.

These take a ``Connection`` (not a ``Session``): a backup reads inside one snapshot transaction
it opens itself, and a restore inserts through Core, never through the ORM."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, TableClause, func, inspect, select, table, text


def stream_table_rows(
    connection: Connection, *, table: Table, batch_size: int = 1000
) -> Iterator[Row[Any]]:
    """Every row of ``table`` in primary-key order, fetched ``batch_size`` at a time (the
    driver streams them: a large table is never whole in memory)."""
    statement = select(table).order_by(*table.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=batch_size).execute(
        statement
    )
    yield from result


def insert_table_rows(
    connection: Connection, *, table: TableClause, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows`` (each a dict of every column of ``table``) in one statement per batch of
    the driver, so statement-level triggers run once per batch."""
    if rows:
        connection.execute(table.insert(), list(rows))


def tables_with_rows(connection: Connection, *, names: Iterable[str]) -> dict[str, int]:
    """The row counts of those of ``names`` that exist and hold at least one row."""
    existing = set(inspect(connection).get_table_names())
    found: dict[str, int] = {}
    for name in names:
        if name not in existing:
            continue
        count = connection.scalar(select(func.count()).select_from(_quoted(name)))
        if count:
            found[name] = int(count)
    return found


def count_table_rows(connection: Connection, *, name: str) -> int:
    return int(connection.scalar(select(func.count()).select_from(_quoted(name))) or 0)


def reset_id_sequences(connection: Connection, *, names: Iterable[str]) -> None:
    """On PostgreSQL, set each table's ``id`` sequence past its largest id, so rows inserted
    with explicit ids are not followed by a duplicate key. SQLite needs nothing: its next
    rowid is always past the largest."""
    if connection.dialect.name != "postgresql":
        return
    quote = connection.dialect.identifier_preparer.quote
    for name in names:
        columns = {c["name"] for c in inspect(connection).get_columns(name)}
        if "id" not in columns:
            continue
        connection.execute(
            text(
                f"SELECT setval(seq, coalesce((SELECT max(id) FROM {quote(name)}), 0) + 1, false) "
                "FROM pg_get_serial_sequence(:name, 'id') AS seq WHERE seq IS NOT NULL"
            ),
            {"name": quote(name)},
        )


def _quoted(name: str) -> TableClause:
    return table(name)
