"""Ids in request bodies are JSON integers: ``true`` is not user, meeting or notification 1
(pydantic would read it as 1 unless the field is strict). Found by schemathesis."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.uploadhelp import csrf_header


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/workspace/transfer", {"user_id": True}),
        ("/api/tasks", {"title": "Follow up", "meeting_id": True}),
        ("/api/tasks", {"title": "Follow up", "segment_id": True}),
        ("/api/ask", {"question": "What did we decide?", "meeting_id": True}),
        ("/api/notifications/read", {"ids": [True]}),
    ],
)
def test_a_boolean_id_is_refused(user_client: TestClient, path: str, body: dict[str, Any]) -> None:
    answer = user_client.post(path, json=body, headers=csrf_header(user_client))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_error"
