"""Every query parameter of the API is one value. One given twice is refused with a clear
error instead of being half-read (FastAPI keeps the last value). Found by schemathesis."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    "query",
    [
        "/api/tasks?q=budget&q=hosting",
        "/api/meetings?limit=5&limit=6",
        "/api/search?q=budget&q=hosting&mode=keyword",
        "/api/notifications?unread=true&unread=false",
    ],
)
def test_a_parameter_given_twice_is_refused(user_client: TestClient, query: str) -> None:
    answer = user_client.get(query)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "is given twice" in error["message"]


@pytest.mark.parametrize(
    "query", ["/api/tasks?q=budget", "/api/meetings?limit=5", "/api/search?q=budget&mode=keyword"]
)
def test_each_parameter_once_is_answered(user_client: TestClient, query: str) -> None:
    assert user_client.get(query).status_code == 200
