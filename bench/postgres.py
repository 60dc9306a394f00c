"""A throwaway PostgreSQL database for a benchmark, on the server MINA_TEST_DATABASE_URL names."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from mina.db import create_db_engine
from mina.settings import normalise_database_url


def server_url() -> str | None:
    """The PostgreSQL server to benchmark on, or None (then PostgreSQL is skipped)."""
    url = os.environ.get("MINA_TEST_DATABASE_URL", "")
    return normalise_database_url(url) if url.startswith("postgres") else None


@contextlib.contextmanager
def throwaway_database(server: str, prefix: str) -> Iterator[str]:
    """A new, empty database named ``prefix`` plus a random suffix; dropped on exit."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    admin = create_db_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
