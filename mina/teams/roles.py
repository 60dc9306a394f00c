"""What each role in a workspace may do.

| role   | may                                                                  |
|--------|----------------------------------------------------------------------|
| owner  | everything, and transfer ownership                                   |
| admin  | manage members, invites and webhooks, and everything a member does   |
| member | record, upload, edit transcripts, rename speakers, tasks, share      |
| viewer | read meetings, audio and exports, and comment                        |

Each route names the ``Action`` it performs; ``may`` is the one place the table lives.
"""

from __future__ import annotations

import enum

from mina.models import Role


class Action(enum.StrEnum):
    READ = "read"  # meetings, transcripts, audio, exports, tasks, analytics
    COMMENT = "comment"  # comment on segments, mention members
    EDIT = "edit"  # record, upload, edit transcripts, rename speakers, tasks, share links
    MANAGE = "manage"  # members, invites, webhooks, the workspace's name
    OWN = "own"  # transfer ownership


_LEAST = {
    Action.READ: Role.VIEWER,
    Action.COMMENT: Role.VIEWER,
    Action.EDIT: Role.MEMBER,
    Action.MANAGE: Role.ADMIN,
    Action.OWN: Role.OWNER,
}

DENIED = {
    Action.READ: "You are not a member of this workspace.",
    Action.COMMENT: "You are not a member of this workspace.",
    Action.EDIT: "Viewers read and comment; ask an admin to make you a member to change things.",
    Action.MANAGE: "Only the workspace's owner and admins can do this.",
    Action.OWN: "Only the workspace's owner can do this.",
}


def role_rank(role: Role) -> int:
    return role.rank


def may(role: Role, action: Action) -> bool:
    """Whether ``role`` may perform ``action``."""
    return role.rank >= _LEAST[action].rank


def least_role(action: Action) -> Role:
    return _LEAST[action]
