"""People, workspaces, meetings, their recordings and segments, tokens, jobs and leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mina.models.base import (
    Base,
    JobStatus,
    MeetingStatus,
    Role,
    SessionStatus,
    string_enum,
    utcnow,
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="workspace")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "workspace_id", name="uq_memberships_user_workspace"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"), default=Role.MEMBER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    workspace: Mapped[Workspace] = relationship(back_populates="memberships")


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_workspace_created", "workspace_id", "created_at"),
        Index("ix_meetings_workspace_status", "workspace_id", "status"),
        Index("ix_meetings_workspace_start", "workspace_id", "actual_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    organizer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    meeting_type: Mapped[str] = mapped_column(String(40), default="general")
    status: Mapped[MeetingStatus] = mapped_column(
        string_enum(MeetingStatus, "meeting_status"), default=MeetingStatus.SCHEDULED
    )
    scheduled_start: Mapped[datetime | None]
    actual_start: Mapped[datetime | None]
    actual_end: Mapped[datetime | None]
    recording_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    transcription_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    ai_insights_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(16), default="en")
    # how many people took part, when the organiser says: a hint for labelling speakers
    expected_speakers: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sessions: Mapped[list[RecordingSession]] = relationship(
        back_populates="meeting", order_by="RecordingSession.started_at"
    )

    @property
    def duration_ms(self) -> int | None:
        """Wall time between start and end; None until the meeting has started."""
        if self.actual_start is None:
            return None
        end = self.actual_end or utcnow()
        return max(0, int((end - self.actual_start).total_seconds() * 1000))


class RecordingSession(Base):
    """One recording of a meeting: a live stream or an uploaded file."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_status_heartbeat", "status", "last_heartbeat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(36), unique=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[SessionStatus] = mapped_column(
        string_enum(SessionStatus, "session_status"), default=SessionStatus.ACTIVE
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    last_heartbeat: Mapped[datetime] = mapped_column(default=utcnow)
    sample_rate: Mapped[int] = mapped_column(Integer, default=16000)
    audio_path: Mapped[str] = mapped_column(String(500), default="")
    audio_bytes: Mapped[int] = mapped_column(Integer, default=0)
    engine: Mapped[str] = mapped_column(String(40), default="")
    model: Mapped[str] = mapped_column(String(80), default="")
    resume_token_hash: Mapped[str] = mapped_column(String(64), default="")
    total_segments: Mapped[int] = mapped_column(Integer, default=0)
    total_words: Mapped[int] = mapped_column(Integer, default=0)
    average_confidence: Mapped[float | None] = mapped_column(Float)
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)

    meeting: Mapped[Meeting] = relationship(back_populates="sessions")


class Segment(Base):
    """A final piece of transcript, on its session's audio clock."""

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_segments_session_seq"),
        Index("ix_segments_meeting_start", "meeting_id", "start_ms"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    avg_confidence: Mapped[float | None] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(100))
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    edited_text: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None]
    # compound sentiment in [-1, 1], written by the insights job; None until it ran
    sentiment: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def display_text(self) -> str:
        """The text people see: the edit when there is one, else what the engine heard."""
        return self.edited_text if self.edited_text is not None else self.text


class MeetingSpeaker(Base):
    """Talk time of one speaker in one meeting: a summary of its segments, kept exact by
    database triggers on ``segments`` (migration 0003), so analytics never reads segments.

    ``speaker_key`` is the segment's speaker label, or '' for segments without one (labels are
    never blank: the store turns a blank label into NULL)."""

    __tablename__ = "meeting_speakers"
    __table_args__ = {"sqlite_with_rowid": False}  # rows in key order: one B-tree, no rowid

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    speaker_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    talk_ms: Mapped[int] = mapped_column(BigInteger)
    segments: Mapped[int] = mapped_column(Integer)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # The workspace the token acts in (unless a request names another with X-Mina-Workspace);
    # removing its user from that workspace revokes it.
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Job(Base):
    """Background work (uploads, post-meeting processing), picked up again after a restart."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    status: Mapped[JobStatus] = mapped_column(
        string_enum(JobStatus, "job_status"), default=JobStatus.QUEUED
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # with a Celery queue (mina.jobs): when the row was last sent to the broker, and when the
    # worker running it last said it is alive (a stale one is sent again)
    sent_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


class Lease(Base):
    """Periodic work that one process at a time does (recovery, housekeeping, webhook
    retries): its holder until ``expires_at``, renewed while it lives (mina.jobs.leases)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
