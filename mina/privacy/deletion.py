"""Deleting an account (``DELETE /api/me``): the database part is ``store.delete_account``;
this removes, once it is committed, the files only that account held."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass

from mina import store
from mina.playback import remove_meeting_audio
from mina.privacy.export import remove_user_exports
from mina.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemovedFiles:
    meetings: int
    audio_files: int


def remove_account_files(settings: Settings, deleted: store.DeletedAccount) -> RemovedFiles:
    """The audio files and playback copies of the deleted workspaces' meetings, their audio and
    upload folders, and the account's data exports. Blocking: call it off the event loop."""
    audio_files = sum(
        remove_meeting_audio(meeting_id, paths) for meeting_id, paths in deleted.audio.items()
    )
    for workspace_id in deleted.deleted_workspaces:
        for folder in (
            settings.audio_dir / str(workspace_id),
            settings.upload_dir / str(workspace_id),
        ):
            shutil.rmtree(folder, ignore_errors=True)
    remove_user_exports(settings.export_dir, user_id=deleted.user_id)
    return RemovedFiles(meetings=len(deleted.audio), audio_files=audio_files)
