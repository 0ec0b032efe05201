"""Live thread updates through a real Socket.IO client against the running server (issue 6)."""

from __future__ import annotations

import requests

from community.extensions import db
from tests import factories


def _bearer(token_for, user) -> dict[str, str]:
    return token_for(user)


def _token(token_for, user) -> str:
    return token_for(user)["Authorization"].split(" ", 1)[1]


def test_answer_through_the_api_reaches_a_visitor_in_the_thread_room(
        ctx, users, live_url, connect, token_for):
    thread = factories.make_thread(users.asker, "Voicemail stopped working today")
    thread_id = thread.id
    visitor = connect()
    assert visitor.join(thread=thread_id) == {"ok": True, "rooms": [f"thread:{thread_id}"]}

    response = requests.post(f"{live_url}/api/v1/threads/{thread_id}/answers",
                             json={"body": "Dial **121** and reset the *PIN*."},
                             headers=_bearer(token_for, users.helper), timeout=10)
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]

    data = visitor.wait_for("answer.created", post_id=post_id)
    assert data["thread_id"] == thread_id
    assert data["answer_count"] == 1
    assert data["status"] == "answered"
    assert data["author"]["username"] == "helper"
    assert f'data-post-id="{post_id}"' in data["html"]
    assert "<strong>121</strong>" in data["html"] and "<em>PIN</em>" in data["html"]
    assert "<form" not in data["html"]  # drawn as for a visitor: no one's CSRF token inside

