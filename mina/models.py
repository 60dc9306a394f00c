"""The relational schema (SQLAlchemy 2 declarative). Alembic migrations mirror it exactly."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Expression indexes that migrations create and the models cannot declare for both databases
# (the drift test leaves them out; see also mina.search.SEARCH_INDEXES).
EXPRESSION_INDEXES = ("ix_meetings_workspace_started",)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        """Higher may do more: viewer 0, member 1, admin 2, owner 3 (mina/teams/roles.py)."""
        return (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER).index(self)


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class TaskSource(enum.StrEnum):
    INSIGHTS = "insights"  # an action item of the meeting's insights
    MANUAL = "manual"  # added by a person


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its first attempt or its next retry
    DELIVERED = "delivered"
    FAILED = "failed"  # no 2xx within the retry window, or refused


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable and easy to extend in a migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
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
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.MEMBER)
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
        _enum(MeetingStatus, "meeting_status"), default=MeetingStatus.SCHEDULED
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
        _enum(SessionStatus, "session_status"), default=SessionStatus.ACTIVE
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
        _enum(JobStatus, "job_status"), default=JobStatus.QUEUED
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


class MeetingInsights(Base):
    """What a provider made of one meeting (``mina.insights``): the items as JSON (each citing
    its segment), who made them and when. ``stale`` once the transcript was edited after."""

    __tablename__ = "meeting_insights"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # the meeting's overall sentiment, also in ``data``: a column so analytics averages it
    sentiment: Mapped[float | None] = mapped_column(Float)
    # {summary, action_items, decisions, questions, topics, sentiment: {overall, by_speaker},
    #  note}: the shapes of ``GET /api/meetings/{id}/insights``
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MeetingTopic(Base):
    """A topic of a meeting's insights as a narrow row, so analytics sums topics per week
    without parsing each meeting's insights JSON; ``store.save_insights`` keeps it. ``key`` is
    the label lower-cased (one row per topic whatever its case), ``label`` as written."""

    __tablename__ = "meeting_topics"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)


class Task(Base):
    """Something to do, across meetings: an action item of a meeting's insights (made once,
    never duplicated by regenerating) or added by a person.

    ``origin_key`` identifies the action item a task came from within its meeting, so
    regenerating insights finds the task again. A deleted task from insights stays as a
    tombstone (``deleted_at``, its text cleared) so regenerating never brings it back."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("meeting_id", "origin_key", name="uq_tasks_meeting_origin"),
        Index("ix_tasks_workspace_status_due", "workspace_id", "status", "due_date"),
        # analytics: the tasks opened and done in a period
        Index("ix_tasks_workspace_created", "workspace_id", "created_at"),
        Index("ix_tasks_workspace_done", "workspace_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), index=True
    )
    start_ms: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[TaskStatus] = mapped_column(
        _enum(TaskStatus, "task_status"), default=TaskStatus.OPEN
    )
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[TaskSource] = mapped_column(
        _enum(TaskSource, "task_source"), default=TaskSource.MANUAL
    )
    origin_key: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class Webhook(Base):
    """A URL that receives a workspace's events, signed with ``secret`` (HMAC-SHA256)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    # event names, from mina.store.webhooks.EVENTS
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # kept to sign deliveries; shown once, in the answer that created it
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook: the durable outbox row, written in the transaction that made
    the event true, and its delivery log (attempts, last answer)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # the sender's question: what is queued and due
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(40))
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_response: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class ShareLink(Base):
    """A read-only link to one meeting for people without an account (``/s/{token}``). Only
    the token's SHA-256 is kept; the token itself is shown once, when the link is made. A link
    works until ``expires_at`` or until it is revoked, whichever comes first."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    include_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Invite(Base):
    """An invitation to join a workspace with a role, sent to an email address. Only the
    token's SHA-256 is kept. It can be accepted once, by a signed-in user with that email,
    until it expires or is revoked."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(_enum(Role, "invite_role"), default=Role.MEMBER)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]


class Passage(Base):
    """A stretch of a meeting's transcript with its sentence embedding, for semantic search:
    one segment, or neighbouring segments of one speaker. The vector is int8 (384 bytes), to be
    multiplied by ``scale``; it is cited at its first segment."""

    __tablename__ = "passages"
    # SQLite: ids only grow (the vector index catches up on ids past the newest it holds)
    __table_args__ = (
        Index("ix_passages_workspace_id_id", "workspace_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    scale: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchVersion(Base):
    """Bumped whenever a workspace's passages change, so every process's in-memory index knows
    to reload them (one primary-key read per search)."""

    __tablename__ = "search_versions"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=0)


class Comment(Base):
    """A remark on one segment of a meeting's transcript. ``mentions`` holds the ids of the
    workspace members its ``@Name`` tokens named when it was last written. An author whose
    account is deleted leaves the comment, with ``author_id`` NULL ("Deleted user"); the
    comment goes with its segment (and so with its meeting)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_segment_created", "segment_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]


class NotificationType(enum.StrEnum):
    MENTION = "mention"  # someone @mentioned you in a comment
    TASK_ASSIGNED = "task_assigned"  # a task was assigned to you (or an action item names you)
    INVITE = "invite"  # you were invited to a workspace


class Notification(Base):
    """Something one person should see, in one workspace: who did it (``actor_id``, NULL for
    Mina itself or a deleted account), and what it is about. Unread until ``read_at``."""

    __tablename__ = "notifications"
    __table_args__ = (
        # the bell's question: this person's newest in this workspace, and how many unread
        Index("ix_notifications_user_workspace_id", "user_id", "workspace_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[NotificationType] = mapped_column(_enum(NotificationType, "notification_type"))
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
