"""Triage fixtures: staff API headers, a bridged complaint, and the queue as the API lists it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from community.extensions import db
from community.models import Thread, TriageItem
from community.services import threads
# Socket.IO clients against the live server, for the `triage` room.
from tests.live.conftest import connect, live_url  # noqa: F401


@pytest.fixture
def staff_headers(users, token_for):
    return token_for(users.staff)


def complaint(author, text="My flight was cancelled and nobody answers", channel="whatsapp",
              minutes_ago: int = 0):
    """A bridged complaint (as the bridge intake creates it), `minutes_ago` old."""
    thread = threads.create_thread(author, text[:80], text, [channel], source_kind=channel)
    db.session.commit()
    if minutes_ago:
        age(thread.id, minutes_ago)
    return thread


def age(thread_id: int, minutes: int) -> None:
    """Move a thread and its queue row back in time (waiting started `minutes` ago)."""
    now = db.session.get(Thread, thread_id).created_at
    then = now - timedelta(minutes=minutes)
    db.session.execute(update(Thread).where(Thread.id == thread_id).values(created_at=then))
    item = db.session.get(TriageItem, thread_id)
    delta = item.waiting_since - then
    db.session.execute(update(TriageItem).where(TriageItem.thread_id == thread_id).values(
        waiting_since=then, due_at=item.due_at - delta))
    db.session.commit()


@pytest.fixture
def listed(client, staff_headers):
    """The queue's items by thread id, as GET /api/v1/staff/triage returns them."""
    def fetch(**params) -> dict[int, dict]:
        response = client.get("/api/v1/staff/triage", query_string={"limit": 100, **params},
                              headers=staff_headers)
        assert response.status_code == 200, response.get_json()
        return {item["thread"]["id"]: item for item in response.get_json()["items"]}
    return fetch
