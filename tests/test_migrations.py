from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from mina.db import create_db_engine
from mina.migrate import current_revision, head_revision, upgrade_database
from mina.models import Base
from mina.search import is_search_schema_object


def test_migrations_reach_head_and_are_idempotent(db_engine: Engine) -> None:
    assert current_revision(db_engine) == head_revision()
    upgrade_database(db_engine)  # nothing pending: a second run changes nothing
    assert current_revision(db_engine) == head_revision()
    tables = set(inspect(db_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        # the full-text objects of migration 0002 (FTS5 tables, tsvector columns) are not models
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, parents: not is_search_schema_object(
                    name, type_
                ),
                "include_object": lambda obj, name, type_, reflected, other: (
                    not is_search_schema_object(name, type_)
                ),
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations drifted: {diff}"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db_engine: Engine, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    with db_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_upgrade_on_an_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    engine = create_db_engine(f"sqlite:///{path}")
    assert current_revision(engine) is None
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
