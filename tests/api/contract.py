"""Assertions shared by the API contract tests: the error shape, times, authors, post keys."""

from __future__ import annotations

from datetime import datetime

POST_KEYS = {"id", "thread_id", "kind", "author", "body", "body_html", "score", "accepted",
             "endorsed", "created_at", "edited_at", "comments"}


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """The one error shape: exactly {"error": {"code", "message"[, "field"]}}."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"} | ({"field"} if field else set()), error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    if field:
        assert error["field"] == field
    return error


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None
    return parsed


def assert_author(data: dict, user) -> None:
    assert {"id", "username", "rank"} <= set(data)
    assert data["id"] == user.id
    assert data["username"] == user.username
    assert isinstance(data["rank"], str) and data["rank"]
