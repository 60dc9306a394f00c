"""What the store modules share: the range of ids, the error users may see, and a
recording's length as SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast

from mina.models import RecordingSession

# Ids are 32-bit integer columns (PostgreSQL ``integer``): an id outside 1..MAX_ID names nothing.
MAX_ID = 2**31 - 1


def _possible_id(value: int) -> bool:
    """Whether ``value`` could be a row's id: larger numbers would fail in the database driver
    instead of simply finding nothing."""
    return 0 < value <= MAX_ID


class StoreError(ValueError):
    """A request the data cannot satisfy; the message is safe to show to the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _audio_ms() -> ColumnElement[Any]:
    """A recording's length in milliseconds, from its durable audio (16-bit samples). In
    64 bits: bytes * 500 passes 2**31 after 2 min 14 s of audio (PostgreSQL integers)."""
    return cast(RecordingSession.audio_bytes, BigInteger) * 500 / RecordingSession.sample_rate
