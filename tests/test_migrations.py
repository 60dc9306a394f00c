from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from mina.db import create_db_engine
from mina.migrate import (
    current_revision,
    head_revision,
    migrate_database,
    upgrade_database,
)
from mina.models import EXPRESSION_INDEXES, Base
from mina.search import is_search_schema_object
from mina.settings import Settings


def test_migrations_reach_head_and_are_idempotent(db_engine: Engine) -> None:
    assert current_revision(db_engine) == head_revision()
    upgrade_database(db_engine)  # nothing pending: a second run changes nothing
    assert current_revision(db_engine) == head_revision()
    tables = set(inspect(db_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def _modelled(name: str | None, type_: str) -> bool:
    """False for what migrations add outside the models: the full-text objects of 0002 (FTS5
    tables, tsvector columns) and expression indexes."""
    if type_ == "index" and name in EXPRESSION_INDEXES:
        return False
    return not is_search_schema_object(name, type_)


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, parents: _modelled(name, type_),
                "include_object": lambda obj, name, type_, reflected, other: _modelled(name, type_),
            },
        )
        with warnings.catch_warnings():
            # SQLAlchemy cannot reflect SQLite expression indexes (it says so, then skips them)
            warnings.filterwarnings(
                "ignore", message=".*expression-based index ix_meetings_workspace_"
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


def test_full_text_migration_downgrades_and_rebuilds_its_index(
    db_engine: Engine, db: Session
) -> None:
    from mina import store
    from tests.searchhelp import make_meeting, make_user

    ada = make_user(db, "ada@example.com")
    make_meeting(db, ada, "Before the index", ["Existing words about giraffes."])
    db.commit()
    db.close()
    migrate_database(db_engine, "0001")  # down to it, with the rows in place
    assert not any(
        is_search_schema_object(t, "table") for t in inspect(db_engine).get_table_names()
    )
    upgrade_database(db_engine)  # 0002 indexes what is already there
    results = store.search_meetings(db, workspace_id=ada.workspace.id, q="giraffes")
    assert [hit.meeting.title for hit in results.items] == ["Before the index"]


def test_topics_migration_fills_meeting_topics_from_insights(
    db_engine: Engine, db: Session
) -> None:
    from sqlalchemy import select

    from mina import store
    from mina.models import MeetingTopic
    from tests.searchhelp import make_meeting, make_user

    ada = make_user(db, "ada@example.com")
    meeting = make_meeting(db, ada, "Planning", ["We talk about the budget."])
    topics = [
        {"label": "Budget", "weight": 1.0},
        {"label": "budget", "weight": 0.2},  # the same topic: the first one counts
        {"label": "  cloud   hosting ", "weight": 0.5},
        {"label": "", "weight": 0.9},
        "not a topic",
    ]
    store.save_insights(
        db,
        meeting_id=meeting.id,
        provider="local",
        model="m",
        data={"topics": topics},
        sentiment=0.1,
        segment_sentiment={},
    )
    db.commit()
    expected = [("budget", "Budget", 1.0), ("cloud hosting", "cloud hosting", 0.5)]

    def stored() -> list[tuple[str, str, float]]:
        rows = db.execute(
            select(MeetingTopic.key, MeetingTopic.label, MeetingTopic.weight)
            .where(MeetingTopic.meeting_id == meeting.id)
            .order_by(MeetingTopic.key)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    assert stored() == expected  # save_insights keeps them
    db.close()
    migrate_database(db_engine, "0005")  # down to it, with the rows in place
    assert "meeting_topics" not in inspect(db_engine).get_table_names()
    upgrade_database(db_engine)  # 0006 reads the insights already made
    assert stored() == expected


def test_passage_ids_only_grow_and_survive_the_sqlite_rebuild(
    db_engine: Engine, db: Session, settings: Settings, ada_token: str
) -> None:
    """0013 rebuilds passages on SQLite with AUTOINCREMENT (a no-op on PostgreSQL): the rows
    survive down and up, and an id once given out is never given again."""
    from mina.models import Passage
    from tests.test_vector_index import ADA, _embed, _meeting

    def rows() -> list[tuple[object, ...]]:
        db.rollback()
        # without the model column, which 0014 adds
        columns = [c for c in Passage.__table__.c if c.name != "model"]
        return [tuple(r) for r in db.execute(select(*columns).order_by(Passage.id))]

    meeting = _meeting(db, settings, ADA, "kept")
    _embed(db, meeting)
    before = rows()
    assert len(before) == 4
    db.close()
    migrate_database(db_engine, "0012")  # down to it, with the rows in place
    assert rows() == before
    db.close()
    upgrade_database(db_engine)
    assert rows() == before

    newest = max(r[0] for r in before)
    _embed(db, meeting)  # the meeting's passages, the newest rows, replaced
    assert min(r[0] for r in rows()) > newest  # type: ignore[operator]
