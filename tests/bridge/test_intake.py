"""Background intake, as production runs it: the webhook stores and answers, a thread takes the
messages in behind it, and messages a stopped process never took in are picked up later."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from community.bridge import generic
from community.extensions import db
from community.models import InboundMessage, Thread
from community.models.base import utcnow
from community.services import bridge, outbox
from tests.bridge.conftest import add_channel, deliver

SECRET = "intake-secret"


@pytest.fixture
def background(app):
    app.config["BRIDGE_INTAKE"] = "background"
    yield
    app.config["BRIDGE_INTAKE"] = "inline"


@pytest.fixture
def channel(ctx):
    return add_channel("generic", "partner", secret=SECRET, callback_url="http://127.0.0.1:9/x")


def batch(count: int) -> bytes:
    return json.dumps({"activities": [
        {"type": "message", "id": f"m{n}", "conversation": f"c{n}", "author": {"id": f"u{n}"},
         "text": f"Complaint number {n}: my calls drop", "timestamp": int(time.time())}
        for n in range(count)]}).encode()


def test_the_webhook_answers_before_intake_and_intake_catches_up(client, channel, background):
    body = batch(20)
    response = deliver(client, "partner", body, generic.sign(SECRET, body))
    assert response.status_code == 200 and response.get_json() == {"received": 20, "stored": 20}
    assert bridge.flush(), "intake did not finish"
    db.session.expire_all()
    outcomes = db.session.scalars(select(InboundMessage.outcome)).all()
    assert outcomes == ["thread"] * 20
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 20


def test_messages_a_stopped_process_never_took_in_are_taken_in_by_the_worker(client, channel,
                                                                             background, app):
    body = batch(3)
    # Stored, then the process stopped before its intake thread got to them.
    stored = bridge.store(channel, bridge.adapter(channel).parse(body), body)
    assert len(stored) == 3
    assert outbox.run_once().get("taken_in", 0) == 0  # younger than a minute: maybe in flight
    db.session.execute(update(InboundMessage).values(received_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert outbox.run_once()["taken_in"] == 3
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 3
