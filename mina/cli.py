"""The ``mina`` command line; the only module that configures logging (observability.logs)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mina import __version__, store
from mina.db import create_db_engine, create_session_factory, transaction
from mina.jobs.command import require_queue, worker_command
from mina.migrate import upgrade_database
from mina.observability.logs import configure_logging
from mina.settings import Settings

logger = logging.getLogger(__name__)


def _open_database(settings: Settings) -> Engine:
    """The database, created and migrated if needed: every command works on a fresh data dir."""
    settings.prepare_data_dir()
    engine = create_db_engine(settings.sqlalchemy_url)
    upgrade_database(engine)
    return engine


def _load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(f"invalid settings: {problems}") from exc
    configure_logging(settings.log_level, settings.log_format)
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
    settings = _load_settings()
    require_queue(settings)  # first: an unreachable queue stops the server at once
    _check_insight_provider(settings)
    _check_speech_model(settings)
    _check_embedding_model(settings)
    _open_database(settings).dispose()

    import uvicorn

    from mina.cluster import RedisUnavailable
    from mina.web.app import create_app, prepare_routes

    try:
        app = create_app(settings)
    except RedisUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    prepare_routes(app)
    host = host or settings.host
    port = port or settings.port
    logger.info("Mina %s on http://%s:%d (data in %s)", __version__, host, port, settings.data_dir)
    if settings.public_url:
        logger.info("people reach it at %s", settings.public_url)
    # proxy headers are read by the app itself (mina.web.proxies: uvicorn's middleware, given
    # MINA_TRUSTED_PROXIES as its forwarded_allow_ips, plus Forwarded and X-Forwarded-Host)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False)


def _check_speech_model(settings: Settings) -> None:
    """Refuse to start with a whisper model that cannot be found (a typo in MINA_MODEL, base
    without its packages or assembled wrong); base is assembled into the data dir here, once."""
    if settings.engine != "whisper":
        return
    from mina.engines import EngineError
    from mina.engines.whisper import resolve_model

    settings.prepare_data_dir()
    try:
        resolve_model(settings.model, data_dir=settings.data_dir)
    except EngineError as exc:
        raise click.ClickException(f"MINA_MODEL={settings.model}: {exc}") from None


def _check_embedding_model(settings: Settings) -> None:
    """Refuse to start with an embedding model whose files are missing (mpnet without
    ``make install-mpnet``); the model itself loads at the first embedding or search."""
    if not settings.semantic_search:
        return
    from mina.semantic.model import EmbeddingModelError, embedding_model

    try:
        embedding_model(settings.embedding_model).check_installed()
    except EmbeddingModelError as exc:
        name = settings.embedding_model
        raise click.ClickException(f"MINA_EMBEDDING_MODEL={name}: {exc}") from None


def _check_insight_provider(settings: Settings) -> None:
    """Refuse to start with insights that could never be made (a typo in MINA_INSIGHTS)."""
    from mina.insights.registry import available_providers

    name = settings.insight_provider
    if name == "off":
        return
    known = available_providers()
    if name not in known:
        raise click.ClickException(
            f"MINA_INSIGHTS: unknown insight provider {name!r}; known: off, auto, "
            + ", ".join(known)
        )
    if name == "openai" and not settings.llm_url:
        raise click.ClickException("MINA_INSIGHTS=openai needs MINA_LLM_URL")
    logger.info("insights by %s", name if name != "openai" else f"openai at {settings.llm_url}")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    _open_database(_load_settings()).dispose()
    click.echo("database is up to date")


@main.command()
@click.option(
    "--stale-after",
    type=float,
    default=None,
    help="Seconds without a heartbeat before a recording counts as dead (MINA_STALE_AFTER_S).",
)
def recover(stale_after: float | None) -> None:
    """Complete recordings whose server died: transcribe their saved audio, close the meetings."""
    from mina.engines import load_engine
    from mina.live.config import StreamConfig
    from mina.live.recovery import recover_stale

    settings = _load_settings()
    engine = _open_database(settings)
    try:
        speech = load_engine(settings.engine, model=settings.model, data_dir=settings.data_dir)
        done = recover_stale(
            create_session_factory(engine),
            speech,
            stale_after_s=settings.stale_after_s if stale_after is None else stale_after,
            config=StreamConfig(vad=settings.vad),
            after=settings.post_meeting_jobs,  # run by the server when it next starts
        )
    finally:
        engine.dispose()
    for item in done:
        click.echo(
            f"recovered session {item.external_id}: meeting {item.meeting_id}, "
            f"{item.audio_bytes / 32000:.1f} s of audio, {item.new_segments} new segments"
        )
    click.echo(f"{len(done)} recording(s) recovered")


@main.command()
@click.option("--dry-run", is_flag=True, help="Count the meetings that would go; delete nothing.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep meetings this many days (default MINA_RETENTION_DAYS).",
)
def retention(dry_run: bool, days: int | None) -> None:
    """Delete meetings that ended more than the retention period ago, with their audio."""
    from mina.privacy.retention import apply_retention

    settings = _load_settings()
    days = days or settings.retention_days
    if not days:
        raise click.ClickException(
            "no retention period: MINA_RETENTION_DAYS is 0 (keep everything); set it or pass --days"
        )
    engine = _open_database(settings)
    try:
        report = apply_retention(create_session_factory(engine), days=days, dry_run=dry_run)
    finally:
        engine.dispose()
    before = report.cutoff.strftime("%Y-%m-%d %H:%M UTC")
    if report.dry_run:
        click.echo(f"{report.meetings} meeting(s) ended before {before}: they would be deleted")
    else:
        click.echo(
            f"{report.meetings} meeting(s) that ended before {before} deleted, "
            f"with {report.audio_files} audio file(s)"
        )


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", default=None, help="Speech model: tiny.en (bundled) or base (MINA_MODEL).")
@click.option("--json", "as_json", is_flag=True, help="Print segments and words as JSON.")
def transcribe(file: str, model: str | None, as_json: bool) -> None:
    """Transcribe an audio or video file offline, without a server."""
    import json

    from mina.audio import AudioDecodeError, decode_file
    from mina.engines import EngineError, load_engine
    from mina.live.config import StreamConfig
    from mina.live.transcription import transcribe_audio

    settings = _load_settings()
    try:
        speech = load_engine(
            settings.engine, model=model or settings.model, data_dir=settings.data_dir
        )
        audio = decode_file(file, sample_rate=speech.sample_rate)
    except (AudioDecodeError, EngineError) as exc:
        raise click.ClickException(str(exc)) from exc
    segments = transcribe_audio(speech, audio, config=StreamConfig(vad=settings.vad))
    if not as_json:
        for segment in segments:
            click.echo(f"[{_clock(segment.start)} - {_clock(segment.end)}] {segment.text}")
        return
    document = {
        "file": file,
        "engine": speech.name,
        "model": speech.model_name,
        "duration_s": round(audio.size / speech.sample_rate, 3),
        "text": " ".join(s.text for s in segments),
        "segments": [
            {
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text,
                "confidence": None if s.confidence is None else round(s.confidence, 4),
                "words": [
                    {
                        "text": w.text.strip(),
                        "start": round(w.start, 3),
                        "end": round(w.end, 3),
                        "probability": round(w.probability, 4),
                    }
                    for w in s.words
                ],
            }
            for s in segments
        ],
    }
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes):02d}:{secs:06.3f}"


@main.command("export")
@click.argument("meeting_id", type=int)
@click.argument("fmt", metavar="FORMAT")
@click.option(
    "-o",
    "--output",
    default=None,
    help="File to write, or - for standard output (default: named after the title, here).",
)
def export_command(meeting_id: int, fmt: str, output: str | None) -> None:
    """Export a meeting as txt, md, json, docx, pdf, srt or vtt."""
    from pathlib import Path

    from mina import exporters

    found = exporters.get_format(fmt)
    if found is None:
        names = ", ".join(f.extension for f in exporters.list_formats())
        raise click.ClickException(f"unknown format {fmt!r}: choose one of {names}")
    settings = _load_settings()
    engine = _open_database(settings)
    try:
        with transaction(create_session_factory(engine)) as session:
            meeting = store.get_meeting_unscoped(session, meeting_id=meeting_id)
            if meeting is None:
                raise click.ClickException(f"no meeting with id {meeting_id}")
            body = found.render(exporters.load_export(session, meeting=meeting))
            title = meeting.title
    finally:
        engine.dispose()
    if output == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    name = exporters.export_filename(title, found.extension)
    path = Path(output) if output else Path.cwd() / name
    try:
        path.write_bytes(body)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {path} ({len(body)} bytes)", err=True)


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
    engine = _open_database(settings)
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
@click.option(
    "--workspace",
    "workspace_id",
    type=int,
    default=None,
    help="The id of the workspace it acts in (default: the user's first).",
)
def token_create(email: str, name: str, workspace_id: int | None) -> None:
    """Create an API token for EMAIL and print only the token."""
    settings = _load_settings()
    engine = _open_database(settings)
    try:
        with transaction(create_session_factory(engine)) as session:
            owner = store.get_user_by_email(session, email=email)
            if owner is None:
                raise click.ClickException(f"no user with email {email}")
            if workspace_id is not None and (
                store.find_principal(session, user=owner, workspace_id=workspace_id) is None
            ):
                raise click.ClickException(f"{email} is not a member of workspace {workspace_id}")
            _, plain = store.create_api_token(
                session, user=owner, name=name, workspace_id=workspace_id
            )
        click.echo(plain)
    finally:
        engine.dispose()


@main.command("demo-data")
@click.option("--meetings", "meeting_count", type=click.IntRange(1, 1_000_000), required=True)
@click.option(
    "--segments-per-meeting", type=click.IntRange(0, 100_000), required=True, help="On average."
)
@click.option("--email", default=None, help="Whose workspace (default: the first user).")
@click.option("--seed", type=int, default=1, help="Same seed, same meetings.")
@click.option("--embed", is_flag=True, help="Embed the completed ones for search by meaning.")
def demo_data(
    meeting_count: int, segments_per_meeting: int, email: str | None, seed: int, embed: bool
) -> None:
    """Create realistic meetings with transcripts in a user's workspace, in bulk."""
    import time

    from mina.demodata import DEMO_EMAIL, DEMO_PASSWORD, generate_meetings
    from mina.models import utcnow

    settings = _load_settings()
    engine = _open_database(settings)
    factory = create_session_factory(engine)
    started = time.monotonic()
    try:
        with transaction(factory) as session:
            owner = (
                store.get_user_by_email(session, email=email)
                if email
                else store.first_user(session)
            )
            if owner is None and email:
                raise click.ClickException(f"no user with email {email}")
            if owner is None:
                owner = store.create_user(
                    session, email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo"
                )
                click.echo(f"created user {DEMO_EMAIL} (password: {DEMO_PASSWORD})")
            principal = store.get_principal(session, user=owner)
            workspace_id, owner_id = principal.workspace.id, owner.id
            owner_email, workspace_name = owner.email, principal.workspace.name
            before = store.list_completed_meeting_ids(session)
        meetings = segments = 0
        batch: list[store.BulkMeeting] = []
        pending = 0

        def flush() -> None:
            nonlocal segments, pending
            with transaction(factory) as session:
                segments += store.bulk_add_meetings(
                    session, workspace_id=workspace_id, organizer_id=owner_id, meetings=batch
                )
            batch.clear()
            pending = 0

        for demo in generate_meetings(meeting_count, segments_per_meeting, now=utcnow(), seed=seed):
            batch.append(
                store.BulkMeeting(demo.title, demo.status, demo.start, demo.end, demo.segments)
            )
            meetings += 1
            pending += len(demo.segments) + 1
            if pending >= 20_000:
                flush()
                logger.info("%d meetings, %d segments so far", meetings, segments)
        flush()
        with transaction(factory) as session:
            store.refresh_search_statistics(session)
        click.echo(
            f"created {meetings} meetings with {segments} segments in {owner_email}'s workspace "
            f"({workspace_name}) in {time.monotonic() - started:.1f} s"
        )
        if embed:
            _embed_demo(factory, after_id=max(before, default=0), model=settings.embedding_model)
    finally:
        engine.dispose()


def _embed_demo(factory: sessionmaker[Session], *, after_id: int, model: str) -> None:
    """Embed the completed meetings past ``after_id`` (those demo-data made), timed."""
    import time

    from mina.semantic.backfill import embed_meetings

    started = time.monotonic()
    with transaction(factory) as session:
        ids = [i for i in store.list_completed_meeting_ids(session) if i > after_id]
    with click.progressbar(ids, label=f"Embedding with {model}", file=sys.stderr) as bar:
        total = embed_meetings(factory, bar, model=model)
    took = time.monotonic() - started
    click.echo(
        f"embedded {total} passages of {len(ids)} meetings in {took:.1f} s "
        f"({total / max(took, 1e-9):.0f} passages/s)"
    )


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup_command(file: Path, force: bool) -> None:
    """Write the database, audio files and secret key to one tar file, while the server runs."""
    from mina.backup import BackupError, create_backup

    if file.exists() and not force:
        raise click.ClickException(f"{file} exists: choose a new name, or add --force")
    settings = _load_settings()
    try:
        summary = create_backup(settings, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = summary.rows
    click.echo(
        f"wrote {summary.path} ({summary.size / 1e6:.1f} MB): {rows.get('meetings', 0)} meetings, "
        f"{rows.get('segments', 0)} segments, {rows.get('users', 0)} users, "
        f"{summary.files} files ({summary.file_bytes / 1e6:.1f} MB) in {summary.seconds:.1f} s"
    )
    if summary.live_recordings:
        click.echo(
            f"{summary.live_recordings} recording(s) were live: the backup holds their audio up "
            "to the snapshot; a restored server completes them"
        )
    if summary.missing:
        click.echo(f"warning: {len(summary.missing)} audio file(s) were missing", err=True)
    if summary.secret_key == "environment":
        click.echo("MINA_SECRET_KEY is set: keep it, the backup does not hold it")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Load a backup into an empty data directory and database (SQLite or PostgreSQL)."""
    from mina.backup import BackupError, restore_backup

    settings = _load_settings()
    try:
        summary = restore_backup(settings, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest, rows = summary.manifest, summary.rows
    click.echo(
        f"restored {rows.get('meetings', 0)} meetings, {rows.get('segments', 0)} segments, "
        f"{rows.get('users', 0)} users and {summary.files} files "
        f"({summary.file_bytes / 1e6:.1f} MB) in {summary.seconds:.1f} s from a "
        f"{manifest.database_backend} backup made {manifest.created_at} by Mina "
        f"{manifest.mina_version}"
    )
    if manifest.live_recordings:
        click.echo(
            f"{manifest.live_recordings} recording(s) were live at the backup: `mina serve` "
            "completes them from their audio at start-up"
        )
    if manifest.secret_key == "environment" and not settings.secret_key:
        click.echo(
            "the backed-up server had MINA_SECRET_KEY set: set the same value here, or "
            "everyone signs in again (API tokens keep working)"
        )


@main.command("embed")
@click.argument("meeting_ids", nargs=-1, type=click.IntRange(1, 2**31 - 1))
@click.option("--all", "every", is_flag=True, help="Every completed meeting.")
@click.option(
    "--missing",
    is_flag=True,
    help="Only meetings not embedded with MINA_EMBEDDING_MODEL yet (with --all).",
)
def embed_command(meeting_ids: tuple[int, ...], every: bool, missing: bool) -> None:
    """Embed meetings' passages for search by meaning and Ask: the given ids, or --all
    completed meetings (an archive recorded before semantic search). The server need not run;
    a running one picks the new passages up at its next search."""
    from mina.semantic.backfill import EmbedError, embed_meetings

    if bool(meeting_ids) == every:
        raise click.UsageError("give meeting ids or --all")
    settings = _load_settings()
    engine = _open_database(settings)
    factory = create_session_factory(engine)
    try:
        with transaction(factory) as session:
            ids = list(meeting_ids) or store.list_completed_meeting_ids(
                session, without_passages=settings.embedding_model if missing else None
            )
        with click.progressbar(
            ids, label=f"Embedding with {settings.embedding_model}", file=sys.stderr
        ) as bar:
            total = embed_meetings(factory, bar, model=settings.embedding_model)
    except EmbedError as e:
        raise click.ClickException(str(e)) from e
    finally:
        engine.dispose()
    click.echo(f"{total} passages embedded for {len(ids)} meetings")


@main.command("insights")
@click.argument("meeting_ids", nargs=-1, type=click.IntRange(1, 2**31 - 1))
@click.option("--all", "every", is_flag=True, help="Every completed meeting.")
@click.option("--missing", is_flag=True, help="Only meetings without insights (with --all).")
def insights_command(meeting_ids: tuple[int, ...], every: bool, missing: bool) -> None:
    """Make the insights of meetings now (summary, action items and tasks, decisions,
    topics, sentiment): the given ids, or --all completed meetings, e.g. an archive recorded
    before insights existed. The server need not run."""
    from mina.insights.job import load_meeting_text, make_insights, store_insights

    if bool(meeting_ids) == every:
        raise click.UsageError("give meeting ids or --all")
    settings = _load_settings()
    engine = _open_database(settings)
    factory = create_session_factory(engine)
    try:
        with transaction(factory) as session:
            ids = list(meeting_ids) or store.list_completed_meeting_ids(
                session, without_insights=missing
            )
        with click.progressbar(ids, label="Insights", file=sys.stderr) as bar:
            for meeting_id in bar:
                with transaction(factory) as session:
                    meeting = store.get_meeting_unscoped(session, meeting_id=meeting_id)
                    if meeting is None:
                        raise click.ClickException(f"no meeting {meeting_id}")
                    if meeting.status is not store.MeetingStatus.COMPLETED:
                        raise click.ClickException(f"meeting {meeting_id} is not completed")
                    text = load_meeting_text(session, meeting=meeting)
                made = make_insights(settings, text)
                with transaction(factory) as session:
                    meeting = store.get_meeting_unscoped(session, meeting_id=meeting_id)
                    if meeting is not None:
                        store_insights(session, meeting=meeting, insights=made)
    finally:
        engine.dispose()
    click.echo(f"insights made for {len(ids)} meetings")


main.add_command(worker_command)
