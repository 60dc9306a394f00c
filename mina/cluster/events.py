"""Live events across web processes: the in-process bus, relayed through Redis pub/sub.

A process delivers its own events to its own viewers at once, as the in-process bus does, and
publishes them for the others; it delivers the others' events to its viewers as they arrive.
A recording is streamed by one process at a time (``mina.cluster.leases``), so a meeting's
events come from one publisher and reach every viewer in the order they were published.
"""

from __future__ import annotations

from typing import Any

from mina.cluster.relay import Relay
from mina.live.events import EventBus

CHANNEL = "events"
# sent to every viewer of this process when its subscription was lost and is back: events
# published meanwhile are gone, so viewers reconnect for the transcript so far
INTERRUPTED = {
    "type": "error",
    "code": "events_interrupted",
    "message": "Live events were interrupted; reconnect for the transcript so far.",
}


class SharedEventBus(EventBus):
    def __init__(self, relay: Relay) -> None:
        super().__init__()
        self._relay = relay
        relay.on(CHANNEL, self._received)
        relay.on_reconnect(self._interrupted)

    def publish(self, meeting_id: int, event: dict[str, Any]) -> None:
        super().publish(meeting_id, event)
        self._relay.publish(CHANNEL, {"meeting_id": meeting_id, "event": event})

    async def flush(self) -> None:
        await self._relay.flush(timeout_s=1.0)

    def _received(self, body: dict[str, Any]) -> None:
        meeting_id, event = body.get("meeting_id"), body.get("event")
        if isinstance(meeting_id, int) and isinstance(event, dict):
            super().publish(meeting_id, event)

    def _interrupted(self) -> None:
        for meeting_id in self.meeting_ids():
            super().publish(meeting_id, dict(INTERRUPTED))
