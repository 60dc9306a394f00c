"""``mina backup`` while the server records, ``mina restore`` into SQLite and PostgreSQL: every
row, edit, token and audio byte comes back, a live recording is completed by the restored
server's recovery, and a damaged backup or a non-empty target changes nothing."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tarfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from mina import store
from mina.backup.snapshot import TRANSIENT_TABLES
from mina.cli import main
from mina.db import create_db_engine, create_session_factory, transaction
from mina.migrate import current_revision, head_revision
from mina.models import Base
from mina.settings import Settings
from mina.web.app import create_app
from tests.conftest import PASSWORD, TEST_SECRET, _pg_server_url, create_settings_token, signup
from tests.livehelp import FRAME, receive_until, send_pcm, sentences_pcm, start, stop, words_of
from tests.test_authz import wait_jobs_idle

LIVE_SENTENCES = ([21, 22, 23], [24, 25])


def _mina(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as a separate process (the server keeps running in this one)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MINA_")}
    return subprocess.run(
        [sys.executable, "-m", "mina", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> Result:
    """The same commands in this process (quicker where nothing else runs meanwhile)."""
    return CliRunner().invoke(main, list(args), input=stdin, env=env)


@dataclass(frozen=True)
class Target:
    """An empty data directory and database to restore into."""

    data_dir: Path
    database_url: str  # "" for SQLite in the data directory

    @property
    def env(self) -> dict[str, str]:
        return {
            "MINA_DATA_DIR": str(self.data_dir),
            "MINA_DATABASE_URL": self.database_url,
            "MINA_LOG_LEVEL": "WARNING",
        }

    def settings(self, **overrides: Any) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            engine="fake",
            vad="energy",
            **overrides,
        )


@pytest.fixture
def make_target(tmp_path: Path) -> Iterator[Callable[[str], Target]]:
    """Fresh targets: SQLite in a new data directory, or a new PostgreSQL database (dropped
    at the end of the test)."""
    created: list[str] = []
    server = _pg_server_url()

    def make(kind: str) -> Target:
        data_dir = tmp_path / f"restored-{kind}-{secrets.token_hex(2)}"
        if kind == "sqlite":
            return Target(data_dir, "")
        if server is None:
            pytest.skip("MINA_TEST_DATABASE_URL is not set to a PostgreSQL server")
        name = f"mina_restore_{os.getpid()}_{secrets.token_hex(3)}"
        admin = create_db_engine(server).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        return Target(data_dir, url)

    yield make
    if created and server is not None:
        admin = create_db_engine(server).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(url: str, data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every model table, in key order, with stored paths made relative to the
    data directory (they must name the same file in each)."""
    engine = create_db_engine(url)
    root = data_dir.resolve()
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                if table.name in TRANSIENT_TABLES:  # which server does periodic work
                    continue
                rows = []
                for row in connection.execute(select(table).order_by(*table.primary_key.columns)):
                    values = dict(row._mapping)
                    if values.get("audio_path"):
                        values["audio_path"] = Path(values["audio_path"]).relative_to(root)
                    if (
                        isinstance(values.get("payload"), dict)
                        and "upload_path" in values["payload"]
                    ):
                        payload = dict(values["payload"])
                        payload["upload_path"] = Path(payload["upload_path"]).relative_to(root)
                        values["payload"] = payload
                    rows.append(values)
                found[table.name] = rows
    finally:
        engine.dispose()
    return found


def _without_recording(rows: dict[str, list[dict[str, Any]]], meeting_id: int) -> dict[str, Any]:
    """The rows, less those a live recording of ``meeting_id`` changes after the snapshot (its
    session's heartbeat, its segments and their talk time)."""
    return {
        name: [r for r in table_rows if r.get("meeting_id") != meeting_id]
        for name, table_rows in rows.items()
    }


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_backup_while_recording_restores_everything(
    settings: Settings,
    cli_env: dict[str, str],
    database_url: str,
    backend: str,
    tmp_path: Path,
    make_target: Callable[[str], Target],
) -> None:
    source = settings.model_copy(update={"heartbeat_s": 0.5})
    archive = tmp_path / "mina-backup.tar"
    live_pcm = sentences_pcm(*LIVE_SENTENCES)
    with ExitStack() as stack:
        client = stack.enter_context(TestClient(create_app(source)))
        signup(client, "ada@example.com", "Ada Lovelace")
        token = create_settings_token(client, "backup test")
        bearer = {"Authorization": f"Bearer {token}"}
        finished = []
        for title, sentences in (("Budget review", ([1, 2, 3], [4, 5])), ("Standup", ([6, 7],))):
            with client.websocket_connect("/ws/transcribe") as ws:
                finished.append(start(ws, title=title)["meeting_id"])
                send_pcm(ws, sentences_pcm(*sentences))
                stop(ws)
        first = client.get(f"/api/meetings/{finished[0]}/transcript").json()["segments"][0]
        edited = client.patch(
            f"/api/segments/{first['id']}",
            json={"text": "Kubernetes rollout first", "speaker": "Grace"},
            headers=bearer,
        )
        assert edited.status_code == 200, edited.text
        # the playback copies of both meetings, made by a job after each stop (renamed into
        # place when complete)
        engine = create_db_engine(source.sqlalchemy_url)
        stack.callback(engine.dispose)
        sessions = create_session_factory(engine)

        def copies_made() -> bool:
            return len(list(source.audio_dir.rglob("*.opus"))) == 2

        _wait_for(copies_made, 30, "the Opus copies")

        with sessions() as session:  # the edit's insights and embeddings too
            wait_jobs_idle(session)

        # a recording that is still live while the backup runs
        ws = stack.enter_context(client.websocket_connect("/ws/transcribe"))
        live_id = start(ws, title="Still talking")["meeting_id"]
        send_pcm(ws, live_pcm)
        for message in iter(ws.receive_json, None):
            if message["type"] == "ack" and message["received_bytes"] == len(live_pcm):
                break

        def heartbeat_recorded() -> bool:
            with transaction(sessions) as session:
                live = store.list_recordings(session, meeting_id=live_id)[0]
                return live.audio_bytes == len(live_pcm)

        _wait_for(heartbeat_recorded, 10, "the heartbeat to record the acknowledged audio")

        # silence keeps arriving (the file grows) while the backup is made
        more = threading.Event()

        def keep_talking() -> None:
            while not more.is_set():
                ws.send_bytes(bytes(FRAME))
                time.sleep(0.05)

        talker = threading.Thread(target=keep_talking)
        talker.start()
        try:
            made = _mina(cli_env, "backup", str(archive))
        finally:
            more.set()
            talker.join()
        assert made.returncode == 0, made.stderr
        assert "1 recording(s) were live" in made.stdout
        assert "MINA_SECRET_KEY is set" in made.stdout
        source_rows = _rows(database_url, source.data_dir)
        source_files = _files(source.audio_dir)
        live_path = str(source_rows["sessions"][-1]["audio_path"])
        assert source_rows["sessions"][-1]["meeting_id"] == live_id
        ws.send_json({"type": "stop"})
        receive_until(ws, "stopped")

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[-1] == "manifest.json" and names[0] == "db/users.jsonl"
    assert manifest["schema_revision"] == head_revision()
    assert manifest["database_backend"] == backend and manifest["secret_key"] == "environment"
    assert {m["name"] for m in manifest["members"]} == set(names[:-1])
    assert all(len(m["sha256"]) == 64 for m in manifest["members"])
    assert (
        sum(n.endswith(".opus") for n in names) == 2 and sum(n.endswith(".pcm") for n in names) == 3
    )
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    # SQLite and, when a server is configured, PostgreSQL: from either source, so SQLite to
    # PostgreSQL (how a team moves up) and back
    for kind in ["sqlite"] + (["postgresql"] if _pg_server_url() else []):
        target = make_target(kind)
        restored = _cli(target.env, "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        assert "1 recording(s) were live" in restored.stdout
        url = target.settings().sqlalchemy_url
        rows = _rows(url, target.data_dir)
        # every row of every table, the edit and the talk time summary included
        assert _without_recording(rows, live_id) == _without_recording(source_rows, live_id)
        live_segments = [s for s in rows["segments"] if s["meeting_id"] == live_id]
        source_live = [s for s in source_rows["segments"] if s["meeting_id"] == live_id]
        assert live_segments == source_live[: len(live_segments)]
        edit = next(s for s in rows["segments"] if s["id"] == first["id"])
        assert edit["edited_text"] == "Kubernetes rollout first" and edit["speaker"] == "Grace"
        live_session = next(s for s in rows["sessions"] if s["meeting_id"] == live_id)
        assert live_session["status"].value == "active"
        acknowledged = live_session["audio_bytes"]  # durable at the snapshot
        assert acknowledged >= len(live_pcm)
        # every audio byte: the finished meetings' files equal, the live one at least what
        # the snapshot acknowledged, and exactly what the source file held
        files = _files(target.data_dir / "audio")
        assert set(files) == set(source_files)
        live_name = Path(live_path).relative_to("audio").as_posix()
        for name, data in files.items():
            if name == live_name:
                assert len(data) >= acknowledged and data[: len(live_pcm)] == live_pcm
                assert source_files[name].startswith(data)
            else:
                assert data == source_files[name], name
        live_audio = files[live_name]

        # the restored server: the token works, search finds the edit, recovery ends the live one
        with TestClient(
            create_app(target.settings(secret_key=TEST_SECRET, heartbeat_s=1, stale_after_s=3))
        ) as server:
            me = server.get("/api/me", headers=bearer)
            assert me.status_code == 200 and me.json()["email"] == "ada@example.com"
            found = server.get("/api/meetings", params={"q": "kubernetes"}, headers=bearer)
            assert [m["id"] for m in found.json()["items"]] == [finished[0]]
            assert server.get("/api/analytics?days=30", headers=bearer).status_code == 200

            def completed() -> bool:
                meeting = server.get(f"/api/meetings/{live_id}", headers=bearer).json()
                return bool(meeting["status"] == "completed")

            _wait_for(completed, 30, f"recovery of the live meeting on {kind}")
            transcript = server.get(f"/api/meetings/{live_id}/transcript", headers=bearer).json()
            words = [
                w["text"].rstrip(".").lower() for s in transcript["segments"] for w in s["words"]
            ]
            assert words == words_of(*LIVE_SENTENCES)
            audio = server.get(f"/api/meetings/{live_id}/audio", headers=bearer).content
            assert audio[44:] == live_audio
            # new rows get new ids (PostgreSQL's sequences moved past the restored ones)
            signup(server, f"new-{kind}@example.com")
        recovered = _rows(url, target.data_dir)["sessions"]
        live_session = next(s for s in recovered if s["meeting_id"] == live_id)
        assert live_session["recovered"] and live_session["status"].value == "interrupted"


# --- a small SQLite installation with a generated secret key and an upload in progress --------


@dataclass(frozen=True)
class SmallBackup:
    archive: Path
    data_dir: Path
    upload_meeting_id: int
    job_id: int
    token: str


def _wav(path: Path, pcm: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(pcm)
    return path


@pytest.fixture(scope="module")
def small_backup(tmp_path_factory: pytest.TempPathFactory) -> SmallBackup:
    """A backup of SQLite with demo meetings, an API token, a secret key in the data
    directory (none in the environment) and an upload whose job has not run yet."""
    folder = tmp_path_factory.mktemp("small")
    source = Target(folder / "data", "")
    env = source.env
    created_user = _cli(
        env, "user", "create", "ada@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert created_user.exit_code == 0, created_user.output
    demo = _cli(env, "demo-data", "--meetings", "4", "--segments-per-meeting", "6")
    assert demo.exit_code == 0, demo.output
    token = _cli(env, "token", "create", "ada@example.com").stdout.strip()
    settings = source.settings()
    settings.resolved_secret_key()  # generated into the data directory, as `mina serve` does
    upload = _wav(settings.upload_dir / "1" / "talk.wav", sentences_pcm([31, 32, 33]))
    engine = create_db_engine(settings.sqlalchemy_url)
    with transaction(create_session_factory(engine)) as session:
        user = store.get_user_by_email(session, email="ada@example.com")
        assert user is not None
        created = store.create_upload(
            session,
            principal=store.get_principal(session, user=user),
            audio_dir=settings.audio_dir,
            title="Uploaded talk",
            language="en",
            engine="fake",
            model="test",
            job_name="transcribe_upload",
            payload={
                "upload_path": str(upload),
                "filename": "talk.wav",
                "size": upload.stat().st_size,
            },
        )
        ids = created.meeting.id, created.job.id
    engine.dispose()
    archive = folder / "small.tar"
    made = _cli(env, "backup", str(archive))
    assert made.exit_code == 0, made.output
    return SmallBackup(archive, source.data_dir, ids[0], ids[1], token)


def test_restore_brings_back_the_secret_key_and_resumes_an_upload(
    small_backup: SmallBackup, make_target: Callable[[str], Target]
) -> None:
    target = make_target("sqlite")
    restored = _cli(target.env, "restore", str(small_backup.archive))
    assert restored.exit_code == 0, restored.output
    key = target.data_dir / "secret_key"
    assert key.read_bytes() == (small_backup.data_dir / "secret_key").read_bytes()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    upload = target.data_dir / "uploads" / "1" / "talk.wav"
    assert (
        upload.read_bytes() == (small_backup.data_dir / "uploads" / "1" / "talk.wav").read_bytes()
    )
    headers = {"Authorization": f"Bearer {small_backup.token}"}
    with TestClient(create_app(target.settings())) as server:
        # the restored server's job runner picks the upload up from the restored file
        def done() -> bool:
            return bool(
                server.get(f"/api/jobs/{small_backup.job_id}", headers=headers).json()["status"]
                == "done"
            )

        _wait_for(done, 60, "the restored upload job")
        transcript = server.get(
            f"/api/meetings/{small_backup.upload_meeting_id}/transcript", headers=headers
        ).json()["segments"]
        words = [w["text"].rstrip(".").lower() for s in transcript for w in s["words"]]
        assert words == words_of([31, 32, 33])
    assert not upload.exists()  # a finished upload's file is removed, as on the first server


def _target_state(cli_env: dict[str, str]) -> tuple[dict[str, int], dict[str, bytes], str | None]:
    engine = create_db_engine(cli_env["MINA_DATABASE_URL"])
    with engine.connect() as connection:
        counts = {
            t.name: store.count_table_rows(connection, name=t.name)
            for t in Base.metadata.sorted_tables
        }
    revision = current_revision(engine)
    engine.dispose()
    data_dir = Path(cli_env["MINA_DATA_DIR"])
    return counts, _files(data_dir) if data_dir.exists() else {}, revision


def test_restore_refuses_a_target_that_is_not_empty(
    small_backup: SmallBackup, cli_env: dict[str, str], db: Session
) -> None:
    store.create_user(db, email="someone@example.com", password=PASSWORD, name="Someone")
    db.commit()
    before = _target_state(cli_env)
    refused = _cli(cli_env, "restore", str(small_backup.archive))
    assert refused.exit_code == 1, refused.output
    assert (
        "is not empty: users (1 rows)" in refused.stderr and "nothing was changed" in refused.stderr
    )
    assert _target_state(cli_env) == before

    # an empty database, but files in the data directory
    db.execute(text("DELETE FROM memberships"))
    db.execute(text("DELETE FROM workspaces"))
    db.execute(text("DELETE FROM users"))
    db.commit()
    stray = Path(cli_env["MINA_DATA_DIR"]) / "audio" / "1" / "left-behind.pcm"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"\x00" * 64)
    before = _target_state(cli_env)
    refused = _cli(cli_env, "restore", str(small_backup.archive))
    assert refused.exit_code == 1 and "data directory is not empty" in refused.stderr
    assert _target_state(cli_env) == before


@pytest.mark.parametrize("damage", ["flipped bytes", "truncated"])
def test_a_damaged_backup_changes_nothing(
    small_backup: SmallBackup, cli_env: dict[str, str], tmp_path: Path, damage: str
) -> None:
    broken = tmp_path / "broken.tar"
    data = bytearray(small_backup.archive.read_bytes())
    if damage == "flipped bytes":
        with tarfile.open(small_backup.archive) as tar:
            member = tar.getmember("db/segments.jsonl")
        middle = member.offset_data + member.size // 2
        data[middle : middle + 3] = bytes(b ^ 0xFF for b in data[middle : middle + 3])
    else:
        del data[len(data) // 2 :]
    broken.write_bytes(bytes(data))
    before = _target_state(cli_env)
    failed = _cli(cli_env, "restore", str(broken))
    assert failed.exit_code == 1, failed.output
    expected = (
        "segments.jsonl does not match its checksum" if damage == "flipped bytes" else "truncated"
    )
    assert expected in failed.stderr, failed.stderr
    assert isinstance(failed.exception, SystemExit)  # a clear error, not a traceback
    assert _target_state(cli_env) == before


def test_backup_keeps_an_existing_file_unless_forced(
    small_backup: SmallBackup, tmp_path: Path
) -> None:
    env = Target(small_backup.data_dir, "").env
    existing = tmp_path / "there.tar"
    existing.write_bytes(b"keep me")
    refused = _cli(env, "backup", str(existing))
    assert refused.exit_code == 1 and "exists" in refused.stderr
    assert existing.read_bytes() == b"keep me"
    forced = _cli(env, "backup", "--force", str(existing))
    assert forced.exit_code == 0, forced.output
    assert tarfile.is_tarfile(existing)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no scratch left
