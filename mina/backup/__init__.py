"""Backup and restore: one tar file holding a consistent snapshot of the database (portable
between SQLite and PostgreSQL), every audio file and the secret key, with a manifest of versions
and checksums. ``create_backup`` runs while the server serves; ``restore_backup`` loads a backup
into an empty data directory and database."""

from mina.backup.create import BackupSummary, create_backup
from mina.backup.manifest import BackupError, Manifest
from mina.backup.restore import RestoreSummary, restore_backup

__all__ = [
    "BackupError",
    "BackupSummary",
    "Manifest",
    "RestoreSummary",
    "create_backup",
    "restore_backup",
]
