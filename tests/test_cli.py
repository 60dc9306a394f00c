from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from mina.cli import main
from mina.models import ApiToken, User
from mina.security import hash_token
from tests.conftest import PASSWORD, csrf_from


def test_user_create_with_password_stdin(cli_env: dict[str, str], db: Session) -> None:
    result = CliRunner().invoke(
        main,
        ["user", "create", "ops@example.com", "--name", "Ops", "--password-stdin"],
        input=PASSWORD + "\n",
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    assert "created user ops@example.com" in result.output
    user = db.scalar(select(User).where(User.email == "ops@example.com"))
    assert user is not None and user.name == "Ops" and user.password_hash.startswith("$argon2id$")
    again = CliRunner().invoke(
        main,
        ["user", "create", "ops@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        env=cli_env,
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_user_create_prompts_for_the_password(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main, ["user", "create", "p@example.com"], input=f"{PASSWORD}\n{PASSWORD}\n", env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_token_create_prints_only_the_token(cli_env: dict[str, str], db: Session) -> None:
    CliRunner().invoke(
        main,
        ["user", "create", "ops@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        env=cli_env,
    )
    result = CliRunner().invoke(
        main, ["token", "create", "ops@example.com", "--name", "ci"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("mina_") and "\n" not in token
    stored = db.scalar(select(ApiToken).where(ApiToken.name == "ci"))
    assert stored is not None and stored.token_hash == hash_token(token)
    missing = CliRunner().invoke(main, ["token", "create", "nobody@example.com"], env=cli_env)
    assert missing.exit_code != 0 and "no user" in missing.output


def test_invalid_settings_give_a_clear_error(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env={**cli_env, "MINA_PORT": "nope"})
    assert result.exit_code != 0 and "invalid settings" in result.output and "port" in result.output


def test_serve_refuses_insights_that_could_never_be_made(cli_env: dict[str, str]) -> None:
    for env, message in (
        ({"MINA_INSIGHTS": "lcoal"}, "unknown insight provider 'lcoal'"),
        ({"MINA_INSIGHTS": "openai"}, "MINA_INSIGHTS=openai needs MINA_LLM_URL"),
    ):
        result = CliRunner().invoke(main, ["serve", "--port", "1"], env={**cli_env, **env})
        assert result.exit_code != 0 and message in result.output, result.output


def test_serve_refuses_a_speech_model_it_cannot_find(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--port", "1"], env={**cli_env, "MINA_MODEL": "large-v9"}
    )
    assert result.exit_code != 0
    assert "MINA_MODEL=large-v9: unknown model 'large-v9'" in result.output, result.output


def test_serve_refuses_an_embedding_model_that_is_not_installed(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mina.semantic import mpnet

    monkeypatch.setattr(mpnet, "PACKAGES", (*mpnet.PACKAGES[:4], "no-such-mpnet-part"))
    env = {**cli_env, "MINA_EMBEDDING_MODEL": "mpnet"}
    result = CliRunner().invoke(main, ["serve", "--port", "1"], env=env)
    assert result.exit_code != 0
    assert "MINA_EMBEDDING_MODEL=mpnet: the mpnet embedding model needs no-such-mpnet-part" in (
        result.output
    ), result.output
    assert "make install-mpnet" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``mina serve`` as a real process on an empty data directory (SQLite, as `make run` does)."""
    port = _free_port()
    env = {**os.environ, "MINA_DATA_DIR": str(tmp_path / "fresh"), "MINA_LOG_LEVEL": "INFO"}
    env.pop("MINA_DATABASE_URL", None)
    log = tmp_path / "server.log"
    with log.open("w") as output:  # a file, not a pipe: a chatty server never blocks on it
        process = subprocess.Popen(
            [sys.executable, "-m", "mina", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            process.kill()
            pytest.fail("mina serve did not come up:\n" + log.read_text())
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        assert "Traceback" not in log.read_text(), log.read_text()


def test_serve_on_an_empty_data_dir(served: str, tmp_path: Path) -> None:
    assert (tmp_path / "fresh" / "mina.db").exists()
    with httpx.Client(base_url=served, follow_redirects=True) as client:
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        token = csrf_from(client.get("/signup").text)
        response = client.post(
            "/signup",
            data={
                "name": "New User",
                "email": "new@example.com",
                "password": PASSWORD,
                "csrf_token": token,
            },
        )
        assert response.status_code == 200 and str(response.url).endswith("/dashboard")
        assert "No meetings yet: start a recording" in response.text


def test_user_create_works_on_a_fresh_data_dir(tmp_path: Path) -> None:
    env = {
        "MINA_DATA_DIR": str(tmp_path / "new"),
        "MINA_DATABASE_URL": "",
        "MINA_LOG_LEVEL": "WARNING",
    }
    result = CliRunner().invoke(
        main,
        ["user", "create", "first@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "mina.db").exists()
    token = CliRunner().invoke(main, ["token", "create", "first@example.com"], env=env)
    assert token.exit_code == 0 and token.output.startswith("mina_")


def _exportable_meeting(cli_env: dict[str, str], db: Session) -> int:
    from tests.exporthelp import make_meeting

    created = CliRunner().invoke(
        main,
        ["user", "create", "ada@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        env=cli_env,
    )
    assert created.exit_code == 0, created.output
    return make_meeting(
        db, email="ada@example.com", audio_dir=Path(cli_env["MINA_DATA_DIR"]) / "audio"
    ).id


def test_export_writes_a_file_named_after_the_title(
    cli_env: dict[str, str], db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.exporthelp import EDITED, TITLE

    meeting_id = _exportable_meeting(cli_env, db)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(main, ["export", str(meeting_id), "md"], env=cli_env)
    assert result.exit_code == 0, result.output
    written = work / "Quarterly review- Réunion über Ünïcode.md"
    assert [p.name for p in work.iterdir()] == [written.name]
    text = written.read_text(encoding="utf-8")
    assert text.startswith(f"# {TITLE}\n") and EDITED in text
    assert str(written) in result.output

    target = tmp_path / "out.docx"
    result = CliRunner().invoke(
        main, ["export", str(meeting_id), "docx", "-o", str(target)], env=cli_env
    )
    assert result.exit_code == 0, result.output
    import docx

    assert docx.Document(str(target)).core_properties.title == TITLE


def test_export_to_stdout(cli_env: dict[str, str], db: Session) -> None:
    from tests.exporthelp import EDITED, HOUR_TEXT

    meeting_id = _exportable_meeting(cli_env, db)
    result = CliRunner().invoke(main, ["export", str(meeting_id), "srt", "-o", "-"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"1\n00:00:00,000 --> 00:00:04,200\n")
    said = " ".join(result.stdout_bytes.decode("utf-8").split())
    assert EDITED in said and HOUR_TEXT in said
    pdf = CliRunner().invoke(main, ["export", str(meeting_id), "pdf", "-o", "-"], env=cli_env)
    assert pdf.exit_code == 0 and pdf.stdout_bytes.startswith(b"%PDF-")


def test_export_of_a_missing_meeting_fails_clearly(
    cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = CliRunner().invoke(main, ["export", "424242", "pdf"], env=cli_env)
    assert missing.exit_code == 1 and "no meeting with id 424242" in missing.output
    unknown = CliRunner().invoke(main, ["export", "1", "exe"], env=cli_env)
    assert unknown.exit_code == 1 and "unknown format 'exe'" in unknown.output
    assert "txt, md" in unknown.output or "pdf, docx" in unknown.output
    assert not list(tmp_path.glob("*.pdf"))


def test_demo_data_fills_a_workspace_with_searchable_meetings(
    cli_env: dict[str, str], db: Session
) -> None:
    from datetime import timedelta

    from mina import store
    from mina.models import Meeting, RecordingSession, Segment, utcnow

    result = CliRunner().invoke(
        main, ["demo-data", "--meetings", "30", "--segments-per-meeting", "6"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert "created user demo@example.com" in result.output  # no user yet: a demo one
    made = re.search(r"created 30 meetings with (\d+) segments", result.output)
    assert made, result.output
    demo = store.get_user_by_email(db, email="demo@example.com")
    assert demo is not None
    workspace = store.get_principal(db, user=demo).workspace
    meetings = list(db.scalars(select(Meeting).where(Meeting.workspace_id == workspace.id)))
    segments = list(db.scalars(select(Segment)))
    assert len(meetings) == 30 and len(segments) == int(made.group(1)) > 30 * 6 * 0.6
    now = utcnow()
    assert all(now - timedelta(days=366) < m.created_at < now for m in meetings)
    assert sum(m.status.value == "completed" for m in meetings) >= 20
    by_meeting: dict[int, list[Segment]] = {}
    for segment in segments:
        by_meeting.setdefault(segment.meeting_id, []).append(segment)
    for meeting in meetings:
        own = sorted(by_meeting.get(meeting.id, []), key=lambda s: s.seq)
        if not own:
            continue
        assert meeting.actual_start and meeting.actual_end
        assert meeting.actual_end - meeting.actual_start >= timedelta(milliseconds=own[-1].end_ms)
        speakers = {s.speaker for s in own}
        assert None not in speakers and 2 <= len(speakers) <= 5 or len(own) == 1
        for segment in own:
            words = segment.words
            assert [w["text"] for w in words] == segment.text.split()
            assert segment.start_ms <= words[0]["start_ms"] < words[-1]["end_ms"] <= segment.end_ms
        recording = db.scalar(
            select(RecordingSession).where(RecordingSession.meeting_id == meeting.id)
        )
        assert recording is not None and recording.total_segments == len(own)
    word = max(segments[0].text.split(), key=len).strip(".,?!:")
    found = store.search_meetings(db, workspace_id=workspace.id, q=word)
    assert found.total > 0 and found.items[0].matches, word

    # a second run adds to the named user's workspace, nobody else's
    other = CliRunner().invoke(
        main,
        ["demo-data", "--meetings", "2", "--segments-per-meeting", "1", "--email", "nobody@x.io"],
        env=cli_env,
    )
    assert other.exit_code != 0 and "no user with email nobody@x.io" in other.output
    again = CliRunner().invoke(
        main,
        ["demo-data", "--meetings", "2", "--segments-per-meeting", "1", "--email", demo.email],
        env=cli_env,
    )
    assert again.exit_code == 0, again.output
    db.expire_all()
    assert store.count_meetings(db, workspace_id=workspace.id) == 32
