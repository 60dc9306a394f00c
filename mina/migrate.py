"""Schema migrations (Alembic), applied by ``mina db upgrade`` and at ``mina serve`` start."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

logger = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "mina:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration (idempotent)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def revision_of(connection: Connection) -> str | None:
    """The schema revision as seen by ``connection`` (inside its transaction, if any)."""
    return MigrationContext.configure(connection).get_current_revision()


def is_known_revision(revision: str) -> bool:
    """Whether this version of Mina has the migration named ``revision``."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def migrate_database(engine: Engine, revision: str) -> None:
    """Bring the schema to exactly ``revision``: upgrade, or downgrade from a later one (only
    safe on an empty database, which is what a restore migrates)."""
    current = current_revision(engine)
    if current == revision:
        return
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    later = current is not None and revision in {
        r.revision for r in script.iterate_revisions(current, "base")
    }
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if later:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
