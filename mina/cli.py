"""The ``mina`` command line. Only this module configures logging handlers."""

from __future__ import annotations

import logging
import sys

import click
from pydantic import ValidationError

from mina import __version__, store
from mina.db import create_db_engine, create_session_factory, transaction
from mina.migrate import upgrade_database
from mina.settings import Settings

logger = logging.getLogger(__name__)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


def _load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(f"invalid settings: {problems}") from exc
    _configure_logging(settings.log_level)
    return settings


@click.group()
@click.version_option(__version__, prog_name="mina")
def main() -> None:
    """Mina: self-hosted live meeting transcription."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (MINA_HOST, default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (MINA_PORT, default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Apply pending migrations, then serve pages, API and WebSockets."""
    import uvicorn

    from mina.web.app import create_app

    settings = _load_settings()
    settings.prepare_data_dir()
    engine = create_db_engine(settings.sqlalchemy_url)
    upgrade_database(engine)
    engine.dispose()
    app = create_app(settings)
    host = host or settings.host
    port = port or settings.port
    logger.info("Mina %s on http://%s:%d (data in %s)", __version__, host, port, settings.data_dir)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=True)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    settings = _load_settings()
    settings.prepare_data_dir()
    engine = create_db_engine(settings.sqlalchemy_url)
    upgrade_database(engine)
    engine.dispose()
    click.echo("database is up to date")


@main.group()
def user() -> None:
    """Manage user accounts."""


@user.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(email: str, name: str, password_stdin: bool) -> None:
    """Create a user (and their workspace)."""
    settings = _load_settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        with transaction(create_session_factory(engine)) as session:
            created = store.create_user(session, email=email, password=password, name=name)
            click.echo(f"created user {created.email} (id {created.id})")
    except store.StoreError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        engine.dispose()


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="CLI token", help="A label to recognise the token by.")
def token_create(email: str, name: str) -> None:
    """Create an API token for EMAIL and print only the token."""
    settings = _load_settings()
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        with transaction(create_session_factory(engine)) as session:
            owner = store.get_user_by_email(session, email=email)
            if owner is None:
                raise click.ClickException(f"no user with email {email}")
            _, plain = store.create_api_token(session, user=owner, name=name)
        click.echo(plain)
    finally:
        engine.dispose()
