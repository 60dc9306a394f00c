from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from mina.engines.whisper import default_cpu_threads
from mina.settings import Settings


def test_defaults_use_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.data_dir == Path("data")
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'data' / 'mina.db'}"
    assert settings.port == 8000 and settings.host == "127.0.0.1"
    assert settings.max_upload_mb == 500 and settings.resume_grace_s == 120


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MINA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MINA_PORT", "9123")
    monkeypatch.setenv("MINA_MAX_UPLOAD_MB", "20")
    settings = Settings()
    assert settings.data_dir == tmp_path and settings.port == 9123
    assert settings.max_upload_bytes == 20 * 1024 * 1024


@pytest.mark.parametrize(
    "given",
    ["postgres://u:p@db:5432/mina", "postgresql://u:p@db:5432/mina"],
)
def test_postgres_urls_are_normalised(given: str) -> None:
    assert Settings(database_url=given).sqlalchemy_url == "postgresql+psycopg://u:p@db:5432/mina"


def test_weak_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="too weak"):
        Settings(environment="production", secret_key="changeme")
    with pytest.raises(ValidationError, match="too weak"):
        Settings(environment="production", secret_key="short-but-not-in-list")
    strong = "k" * 48
    assert Settings(environment="production", secret_key=strong).secret_key == strong


def test_production_without_secret_refuses_to_generate(tmp_path: Path) -> None:
    settings = Settings(environment="production", data_dir=tmp_path)
    with pytest.raises(ValueError, match="must be set"):
        settings.resolved_secret_key()


def test_generated_secret_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).resolved_secret_key()
    second = Settings(data_dir=tmp_path).resolved_secret_key()
    assert first == second and len(first) >= 48
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "field, value", [("port", "0"), ("max_upload_mb", "0"), ("log_level", "LOUD")]
)
def test_invalid_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_the_server_loads_one_whisper_replica_per_decode_worker(tmp_path: Path) -> None:
    options = Settings(data_dir=tmp_path, decode_workers=3).server_engine_options()
    # each replica takes the engine's default threads (the cores shared out among replicas)
    assert options == {"model": "tiny.en", "data_dir": tmp_path, "num_workers": 3}
    # other engines get only what every engine accepts
    fake = Settings(data_dir=tmp_path, engine="fake").server_engine_options()
    assert fake == {"model": "tiny.en", "data_dir": tmp_path}


@pytest.mark.parametrize(
    "cores, workers, threads",
    [(2, 2, 1), (1, 2, 1), (4, 2, 2), (8, 2, 4), (64, 2, 4), (16, 8, 2), (3, 2, 1), (2, 1, 2)],
)
def test_decode_workers_share_the_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, workers: int, threads: int
) -> None:
    """Each replica gets the cores shared out among the decode workers (1 to 4), so that
    replicas all busy at once do not outnumber the cores."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert default_cpu_threads(workers) == threads


def test_decode_threads_can_be_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MINA_DECODE_THREADS", "2")
    assert Settings(data_dir=tmp_path).server_engine_options()["cpu_threads"] == 2
    with pytest.raises(ValidationError):
        Settings(decode_threads=-1)
