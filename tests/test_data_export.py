"""Download my data: the export job end to end through the API (start, poll, download, unzip),
on SQLite and PostgreSQL. Each meeting's JSON is the JSON export's, its audio the bytes that
``GET /api/meetings/{id}/audio`` serves; only the user who asked can download the zip."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from mina import security, store
from mina.models import Job, JobStatus, Membership, Role, User, utcnow
from mina.privacy import export
from mina.settings import Settings
from tests.conftest import PASSWORD, login
from tests.meetingdata import Said, add_meeting, principal_of
from tests.uploadhelp import csrf_header, wait_job

ADA, GRACE = "ada@example.com", "grace@example.com"


def make_meeting(db: Session, settings: Settings, email: str, title: str, **kwargs: Any) -> int:
    meeting = add_meeting(
        db,
        principal=principal_of(db, email),
        audio_dir=settings.audio_dir,
        title=title,
        started_at=utcnow() - timedelta(days=2),
        said=[
            Said("We agreed on the budget.", 0, 1500, "Ada"),
            Said("Grace will send the notes.", 1500, 3000, "Grace"),
        ],
        audio_s=3.0,
        **kwargs,
    )
    return meeting.id


def run_export(client: TestClient) -> tuple[int, list[float]]:
    started = client.post("/api/me/export", headers=csrf_header(client))
    assert started.status_code == 202, started.text
    job_id: int = started.json()["job_id"]
    job, progress = wait_job(client, job_id)
    assert job["status"] == "done", job
    return job_id, progress


def test_the_export_holds_every_meeting_json_and_audio_as_the_api_serves_them(
    user_client: TestClient, other_client: TestClient, db: Session, settings: Settings
) -> None:
    first = make_meeting(db, settings, ADA, "Budget review")
    second = make_meeting(db, settings, ADA, "Café ☕ planning / Q3")
    theirs = make_meeting(db, settings, GRACE, "Grace's own meeting")
    segment = store.list_transcript(db, meeting_id=first)[0]
    store.edit_segment_text(db, segment=segment, text="We agreed on the new budget.")
    _, plain_token = store.create_api_token(
        db, user=principal_of(db, ADA).user, name="Nightly script"
    )
    ada, grace = principal_of(db, ADA), principal_of(db, GRACE)
    for principal, title in ((ada, "Send the budget"), (grace, "Grace's own task")):
        store.create_task(
            db,
            workspace_id=principal.workspace.id,
            user_id=principal.user.id,
            title=title,
            meeting=store.get_meeting(
                db,
                workspace_id=principal.workspace.id,
                meeting_id=first if principal is ada else theirs,
            ),
            due_date=date(2027, 1, 15),
        )
    db.commit()

    job_id, progress = run_export(user_client)

    assert progress == sorted(progress) and all(0 <= p <= 1 for p in progress)
    response = user_client.get(f"/api/me/export/{job_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="mina-data-')
    assert "no-store" in response.headers["cache-control"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = archive.namelist()

    account = json.loads(archive.read("account.json"))
    assert account["user"]["email"] == ADA and account["user"]["name"] == "Ada Lovelace"
    assert [w["role"] for w in account["workspaces"]] == ["owner"]
    assert account["workspaces"][0]["owner"] is True
    assert [t["name"] for t in account["api_tokens"]] == ["Nightly script"]
    (task,) = account["tasks"]
    assert task["title"] == "Send the budget" and task["due_date"] == "2027-01-15"
    assert task["meeting_id"] == first and task["status"] == "open"
    whole = b"".join(archive.read(name) for name in names)
    token = store.list_api_tokens(db, user=principal_of(db, ADA).user)[0]
    for secret in (plain_token, token.token_hash, token.prefix):
        assert secret.encode() not in whole
    assert [m["id"] for m in account["meetings"]] == [first, second]
    assert "README.txt" in names

    for listed in account["meetings"]:
        meeting_id = listed["id"]
        assert listed["json"] in names and listed["audio"] in names
        document = json.loads(archive.read(listed["json"]))
        api = user_client.get(f"/api/meetings/{meeting_id}/export/json").json()
        document.pop("exported_at"), api.pop("exported_at")
        assert document == api
        audio = user_client.get(f"/api/meetings/{meeting_id}/audio")
        assert archive.read(listed["audio"]) == audio.content
        assert len(audio.content) > 90_000
    edited = json.loads(archive.read(account["meetings"][0]["json"]))["segments"][0]
    assert edited["text"] == "We agreed on the new budget." and edited["edited"] is True
    assert account["meetings"][1]["json"].startswith(f"meetings/{second} Café ☕ planning")
    assert not any(name.startswith(f"meetings/{theirs} ") for name in names)

    user_id = principal_of(db, ADA).user.id
    assert [p.name for p in (settings.export_dir / str(user_id)).iterdir()] == [
        f"mina-export-{job_id}.zip"
    ]


def test_an_empty_account_exports_its_profile(user_client: TestClient) -> None:
    job_id, _ = run_export(user_client)
    archive = zipfile.ZipFile(io.BytesIO(user_client.get(f"/api/me/export/{job_id}").content))
    assert sorted(archive.namelist()) == ["README.txt", "account.json"]
    assert json.loads(archive.read("account.json"))["meetings"] == []


def test_a_token_exports_and_downloads(user_client: TestClient, db: Session) -> None:
    _, plain = store.create_api_token(db, user=principal_of(db, ADA).user, name="script")
    db.commit()
    api = TestClient(user_client.app, headers={"Authorization": f"Bearer {plain}"})
    started = api.post("/api/me/export")
    assert started.status_code == 202
    job, _ = wait_job(api, started.json()["job_id"])
    assert job["status"] == "done"
    assert api.get(f"/api/me/export/{job['id']}").content[:2] == b"PK"


def test_only_the_user_who_asked_can_follow_or_download_an_export(
    user_client: TestClient,
    other_client: TestClient,
    db: Session,
    settings: Settings,
) -> None:
    make_meeting(db, settings, ADA, "Ada's secret")
    job_id, _ = run_export(user_client)
    missing = 2_000_000_000

    for path in (f"/api/me/export/{job_id}", f"/api/jobs/{job_id}"):
        theirs = other_client.get(path)
        nothing = other_client.get(path.replace(str(job_id), str(missing)))
        assert theirs.status_code == nothing.status_code == 404
        assert theirs.content == nothing.content

    # a member of the same workspace sees neither the job nor the file
    workspace = principal_of(db, ADA).workspace
    colleague = User(email="bob@example.com", password_hash=_hash(), name="Bob")
    db.add(colleague)
    db.flush()
    db.add(Membership(user_id=colleague.id, workspace_id=workspace.id, role=Role.ADMIN))
    db.commit()
    with TestClient(user_client.app) as bob:
        assert login(bob, "bob@example.com") == 303
        assert bob.get("/api/me").json()["workspace"]["id"] == workspace.id
        for path in (f"/api/me/export/{job_id}", f"/api/jobs/{job_id}"):
            answer = bob.get(path)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
        # nor can an upload's job id be fetched as an export
        upload_job = store.create_job(
            db, workspace_id=workspace.id, name="transcribe_upload", payload={}
        )
        db.commit()
        assert bob.get(f"/api/me/export/{upload_job.id}").status_code == 404
        assert bob.get(f"/api/jobs/{upload_job.id}").status_code == 200  # the workspace's own


def _hash() -> str:
    return security.hash_password(PASSWORD)


def test_an_export_is_404_until_done_and_after_it_expires(
    user_client: TestClient, db: Session, db_sessions: sessionmaker[Session], settings: Settings
) -> None:
    job = export.start_export(db, principal=principal_of(db, ADA))
    # held as if another worker were running it, so it cannot finish before the checks below
    job.status = JobStatus.RUNNING
    db.commit()
    job_id = job.id
    answer = user_client.get(f"/api/me/export/{job_id}")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "export_not_ready"
    # asking again while it is unfinished answers the same job
    again = user_client.post("/api/me/export", headers=csrf_header(user_client))
    assert again.json()["job_id"] == job_id
    store.requeue_job(db, job_id=job_id)  # released: the job runner takes it within a second
    db.commit()
    assert wait_job(user_client, job_id)[0]["status"] == "done"
    assert user_client.get(f"/api/me/export/{job_id}").status_code == 200

    # a day later the link has expired, and housekeeping deletes the file and the job
    user_id = principal_of(db, ADA).user.id
    path = export.export_path(settings.export_dir, user_id=user_id, job_id=job_id)
    day_ago = utcnow() - timedelta(seconds=export.KEEP_S + 60)
    job = db.get(Job, job_id, populate_existing=True)
    assert job is not None
    job.finished_at = day_ago
    db.commit()
    answer = user_client.get(f"/api/me/export/{job_id}")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "export_expired"
    os.utime(path, (day_ago.timestamp(), day_ago.timestamp()))
    assert export.remove_expired_exports(db_sessions, settings.export_dir) == 1
    assert not path.exists()
    db.expire_all()
    assert db.get(Job, job_id) is None


def test_a_new_export_replaces_the_previous_one(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    make_meeting(db, settings, ADA, "Standup")
    first, _ = run_export(user_client)
    second, _ = run_export(user_client)
    assert second != first
    gone = user_client.get(f"/api/me/export/{first}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "export_expired"
    assert user_client.get(f"/api/me/export/{second}").status_code == 200
    folder = settings.export_dir / str(principal_of(db, ADA).user.id)
    assert [p.name for p in folder.iterdir()] == [f"mina-export-{second}.zip"]


def test_exports_of_deleted_accounts_are_removed(
    db_sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    stray = settings.export_dir / "424242"
    stray.mkdir(parents=True)
    (stray / "mina-export-1.zip").write_bytes(b"PK")
    (settings.export_dir / "not-a-user").mkdir()
    assert export.remove_expired_exports(db_sessions, settings.export_dir) == 2
    assert list(settings.export_dir.iterdir()) == []


def test_the_settings_page_offers_a_ready_export(user_client: TestClient, db: Session) -> None:
    page = user_client.get("/settings").text
    assert 'data-job-id=""' in page and "Download my data" in page
    job_id, _ = run_export(user_client)
    page = user_client.get("/settings").text
    assert f'data-job-id="{job_id}"' in page and 'data-ready="true"' in page
    assert f'href="/api/me/export/{job_id}"' in page


@pytest.mark.parametrize("job_id", [0, -1, 2**31])
def test_impossible_export_ids_are_not_found(user_client: TestClient, job_id: int) -> None:
    assert user_client.get(f"/api/me/export/{job_id}").status_code == 404


def test_the_export_job_is_registered() -> None:
    from mina.jobs.registry import resolve_job

    assert resolve_job(export.JOB_NAME) is export.export_user_data
