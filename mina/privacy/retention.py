"""The retention period (``MINA_RETENTION_DAYS``): meetings that ended more than N days ago are
deleted with their transcripts, audio files and playback copies, at start-up and then daily in
the server (``keep_tidy``), or by hand with ``mina retention``. Users, workspaces, memberships
and API tokens are kept; so are meetings being recorded or processed, whatever their age."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from mina import store
from mina.db import in_thread_to_the_end, transaction
from mina.jobs.leases import Lease
from mina.models import utcnow
from mina.playback import remove_meeting_audio
from mina.privacy.export import remove_expired_exports
from mina.settings import Settings

logger = logging.getLogger(__name__)

BATCH = 100  # meetings deleted per transaction: locks stay short on a large archive
RETENTION_EVERY_S = 24 * 3600
TIDY_EVERY_S = 3600  # expired data exports are looked for hourly
# the housekeeping lease outlives a pass by two: its holder renews it at every pass
HOUSEKEEPING_LEASE_S = 3 * TIDY_EVERY_S - 60


@dataclass(frozen=True)
class RetentionReport:
    cutoff: datetime
    meetings: int  # deleted, or with dry_run those that would be
    audio_files: int
    dry_run: bool


def apply_retention(
    sessions: sessionmaker[Session],
    *,
    days: int,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Delete the meetings older than ``days`` (see ``store.list_expired_meetings``) with their
    audio; ``dry_run`` only counts them. Blocking: call it off the event loop."""
    if days < 1:
        raise ValueError("the retention period is at least one day")
    cutoff = (now or utcnow()) - timedelta(days=days)
    if dry_run:
        with transaction(sessions) as session:
            count = len(store.list_expired_meetings(session, before=cutoff))
        return RetentionReport(cutoff, count, 0, dry_run=True)
    meetings = audio_files = 0
    while True:
        with transaction(sessions) as session:
            ids = store.list_expired_meetings(session, before=cutoff, limit=BATCH)
            deleted = store.delete_meetings(session, meeting_ids=ids)
        for meeting_id, paths in deleted.items():
            audio_files += remove_meeting_audio(meeting_id, paths)
        meetings += len(deleted)
        if len(ids) < BATCH:
            break
    logger.info(
        "retention (%d days): %d meetings that ended before %s deleted, with %d audio files",
        days,
        meetings,
        cutoff.strftime("%Y-%m-%d %H:%M UTC"),
        audio_files,
    )
    return RetentionReport(cutoff, meetings, audio_files, dry_run=False)


async def keep_tidy(
    sessions: sessionmaker[Session], settings: Settings, lease: Lease | None = None
) -> None:
    """The server's housekeeping, until cancelled: expired data exports deleted at start-up and
    hourly; with a retention period, old meetings deleted at start-up and every 24 hours. With
    ``lease`` (several processes), only while this process holds it."""
    next_retention = 0.0
    while True:
        if lease is not None and not await in_thread_to_the_end(lease.held):
            await asyncio.sleep(TIDY_EVERY_S / 4)
            continue
        try:
            await in_thread_to_the_end(remove_expired_exports, sessions, settings.export_dir)
        except Exception:
            logger.exception("could not remove expired data exports")
        if settings.retention_days and time.monotonic() >= next_retention:
            next_retention = time.monotonic() + RETENTION_EVERY_S
            try:
                await in_thread_to_the_end(
                    functools.partial(apply_retention, sessions, days=settings.retention_days)
                )
            except Exception:
                logger.exception("retention pass failed")
        await asyncio.sleep(TIDY_EVERY_S)
