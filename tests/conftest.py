"""Fixtures: every test that touches the database runs on a real, migrated SQLite file and, when
``MINA_TEST_DATABASE_URL`` names a PostgreSQL server, again on PostgreSQL."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bench.speakers import Item, load_items
from mina import security
from mina.db import create_db_engine, create_session_factory
from mina.migrate import upgrade_database
from mina.models import Base
from mina.settings import Settings, normalise_database_url
from mina.web.app import create_app
from tests.redishelp import (  # noqa: F401 (fixtures: a real Redis, a prefix or a database)
    redis_queue,
    redis_server,
)

TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


# The run a process belongs to: the pid of the pytest process that started it, passed on to
# its pytest-xdist workers (started after ``pytest_configure``, with its environment).
RUN_VARIABLE = "PYTEST_MINA_RUN"


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ[RUN_VARIABLE] = str(os.getpid())
    # Playwright's assertions wait 5 s by default: too little for a page on a busy machine
    # (two test processes on two cores, beside Chromium and a server). They pass as soon as
    # the page is right, so a longer wait costs only failing tests.
    expect.set_options(timeout=15_000)


# The files that take longest (minutes each) run first: under pytest-xdist (``--dist loadfile``
# hands out whole files in collection order) a long file picked up last would leave the other
# worker idle while it runs.
SLOW_FILES = (
    "test_queue_celery.py",
    "test_multi_process.py",
    "test_protocol_fuzz.py",
    "test_browser.py",
    "test_authz.py",
    "test_openapi.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    first = {name: rank for rank, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: first.get(item.path.name, len(first)))  # stable: the rest in order


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In the process that started the run: drop the PostgreSQL databases its workers left, if
    one died before its own teardown could drop its database."""
    server = _pg_server_url()
    if server is None or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    admin = create_db_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            names = connection.scalars(text("SELECT datname FROM pg_database")).all()
            for name in [n for n in names if n.startswith(_database_prefix())]:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except OperationalError:
        pass  # the server is down: the tests that needed it have failed and said so
    finally:
        admin.dispose()


def _pg_server_url() -> str | None:
    url = os.environ.get("MINA_TEST_DATABASE_URL", "")
    return normalise_database_url(url) if url.startswith(("postgres", "postgresql")) else None


def _database_prefix() -> str:
    """The names of this run's PostgreSQL databases start with this."""
    return f"mina_test_{os.environ.get(RUN_VARIABLE, os.getpid())}_"


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its lowest cost in the apps of this process. At the recommended cost a hash
    takes 64 MiB and about 0.1 s of CPU (several times that on a busy machine), and the suite
    signs up and logs in thousands of times: that was a large part of its CPU time. ``mina
    serve`` processes keep the real cost, and test_auth checks that they do."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", cheap)
        patch.setattr(security, "_DUMMY_HASH", cheap.hash(secrets.token_urlsafe(16)))
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "mina.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, migrated once, dropped at the end."""
    server = _pg_server_url()
    if server is None:
        pytest.skip("MINA_TEST_DATABASE_URL is not set to a PostgreSQL server")
    # one per process: each pytest-xdist worker has its own
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{_database_prefix()}{worker}_{secrets.token_hex(3)}"
    admin = create_db_engine(server)
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    upgrade_database(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_all(url: str) -> None:
    engine = create_db_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database of each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "mina.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
    else:
        url: str = request.getfixturevalue("postgres_database")
        try:
            yield url
        finally:
            truncate_all(url)


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET,
        engine="fake",
        vad="energy",
        resume_grace_s=5,
    )


@pytest.fixture
def quick_settings(settings: Settings) -> Settings:
    """The test settings with every timer short: a resume grace of 1 s, an idle timeout of
    1 s, a recording stale 1.5 s after its last heartbeat."""
    return settings.model_copy(
        update={
            "resume_grace_s": 1.0,
            "idle_timeout_s": 1.0,
            "heartbeat_s": 0.5,
            "stale_after_s": 1.5,
        }
    )


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment a ``mina`` command needs to act on the test's data dir and database."""
    return {
        "MINA_DATA_DIR": str(tmp_path / "data"),
        "MINA_DATABASE_URL": database_url,
        "MINA_SECRET_KEY": TEST_SECRET,
        "MINA_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def db_engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_sessions(db_engine: Engine) -> sessionmaker[Session]:
    return create_session_factory(db_engine)


@pytest.fixture
def db(db_sessions: sessionmaker[Session]) -> Iterator[Session]:
    session = db_sessions()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def ada_token(db: Session) -> str:
    """An API token of a new user, ada@example.com, made as ``mina token create`` does."""
    from mina import store

    user = store.create_user(db, email="ada@example.com", password=PASSWORD, name="Ada")
    _, plain = store.create_api_token(db, user=user, name="tests")
    db.commit()
    return plain


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by a module's browser tests (a module that needs
    other flags, such as a fake microphone, defines its own)."""
    from tests.browser import open_chromium

    with open_chromium() as chromium:
        yield chromium


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def create_settings_token(client: TestClient, name: str) -> str:
    """A new API token made on /settings, as a person does; the page shows it once."""
    token = csrf_from(client.get("/settings").text)
    page = client.post("/settings/tokens", data={"name": name, "csrf_token": token})
    assert page.status_code == 200
    match = re.search(r'id="new-token">(mina_[^<]+)<', page.text)
    assert match, "the new token is shown once"
    return match.group(1)


def signup(client: TestClient, email: str, name: str = "", password: str = PASSWORD) -> None:
    token = csrf_from(client.get("/signup").text)
    response = client.post(
        "/signup",
        data={"name": name, "email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def login(client: TestClient, email: str, password: str = PASSWORD) -> int:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture
def user_client(app: FastAPI) -> Iterator[TestClient]:
    """A client signed in as a fresh user, ada@example.com."""
    with TestClient(app) as test_client:
        signup(test_client, "ada@example.com", "Ada Lovelace")
        yield test_client


@pytest.fixture
def other_client(app: FastAPI) -> Iterator[TestClient]:
    """A second user in a workspace of their own."""
    with TestClient(app) as test_client:
        signup(test_client, "grace@example.com", "Grace Hopper")
        yield test_client


@pytest.fixture(scope="session", autouse=True)
def speech_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the espeak-ng speech of bench/ material (dialogues, insight scripts) is kept: this
    run's own folder, never ``~/.cache``; the run's workers share it (each write is atomic)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    path = root / "speakers-cache"
    path.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_SPEAKERS_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def speaker_items() -> list[Item]:
    """Every item of the diarization benchmark (its audio in ``speech_cache``)."""
    return load_items()
