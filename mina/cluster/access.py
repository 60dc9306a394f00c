"""Access revocations for every web process: a removed member's viewer sockets close wherever
they are connected (a pub/sub message to the other processes)."""

from __future__ import annotations

from typing import Any

from mina.cluster.relay import Relay
from mina.teams.access import AccessRevocations

CHANNEL = "revocations"


class SharedRevocations(AccessRevocations):
    def __init__(self, relay: Relay) -> None:
        super().__init__()
        self._relay = relay
        relay.on(CHANNEL, self._received)

    def revoke(self, user_id: int, workspace_id: int) -> int:
        """Close this process's sockets of the user now and tell the others (any thread);
        the count is this process's."""
        self._relay.publish_threadsafe(CHANNEL, {"user": user_id, "workspace": workspace_id})
        return super().revoke(user_id, workspace_id)

    def _received(self, body: dict[str, Any]) -> None:
        user_id, workspace_id = body.get("user"), body.get("workspace")
        if isinstance(user_id, int) and isinstance(workspace_id, int):
            super().revoke(user_id, workspace_id)
