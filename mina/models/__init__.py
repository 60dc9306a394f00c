"""The relational schema (SQLAlchemy 2 declarative), one module per concept: ``base`` (the
declarative base, types and enumerations), ``core`` (people, workspaces, meetings, recordings,
jobs), ``insights``, ``teams`` and ``search``. Alembic migrations mirror it exactly; import the
models from here, which registers every table on ``Base.metadata``."""

from mina.models.base import (
    EXPRESSION_INDEXES,
    NAMING_CONVENTION,
    Base,
    DeliveryStatus,
    JobStatus,
    MeetingStatus,
    Role,
    SessionStatus,
    TaskSource,
    TaskStatus,
    UTCDateTime,
    utcnow,
)
from mina.models.core import (
    ApiToken,
    Job,
    Lease,
    Meeting,
    MeetingSpeaker,
    Membership,
    RecordingSession,
    Segment,
    User,
    Workspace,
)
from mina.models.insights import MeetingInsights, MeetingTopic, Task
from mina.models.search import Passage, SearchVersion
from mina.models.teams import (
    Comment,
    Invite,
    Notification,
    NotificationType,
    ShareLink,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "EXPRESSION_INDEXES",
    "NAMING_CONVENTION",
    "Base",
    "DeliveryStatus",
    "JobStatus",
    "MeetingStatus",
    "Role",
    "SessionStatus",
    "TaskSource",
    "TaskStatus",
    "UTCDateTime",
    "utcnow",
    "ApiToken",
    "Job",
    "Lease",
    "Meeting",
    "MeetingSpeaker",
    "Membership",
    "RecordingSession",
    "Segment",
    "User",
    "Workspace",
    "MeetingInsights",
    "MeetingTopic",
    "Task",
    "Passage",
    "SearchVersion",
    "Comment",
    "Invite",
    "Notification",
    "NotificationType",
    "ShareLink",
    "Webhook",
    "WebhookDelivery",
]
