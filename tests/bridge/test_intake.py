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
from community.models import InboundMessage, OutboundMessage, Thread
from community.models.base import utcnow
from community.services import bridge
from community.services.bridge import sending
from community.workers import bridge as bridge_workers
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
    assert bridge_workers.flush(), "intake did not finish"
    db.session.expire_all()
    outcomes = db.session.scalars(select(InboundMessage.outcome)).all()
    assert outcomes == ["thread"] * 20
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 20


def test_messages_a_stopped_process_never_took_in_are_taken_in_by_the_worker(client, channel,
                                                                             background, app):
    body = batch(3)
    # Stored, then the process stopped before its intake thread got to them.
    stored = bridge.store(channel.id, bridge.adapter(channel).parse(body), body)
    assert len(stored) == 3
    assert sending.run_once().get("taken_in", 0) == 0  # younger than a minute: maybe in flight
    db.session.execute(update(InboundMessage).values(received_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert sending.run_once()["taken_in"] == 3
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 3


def test_a_mixed_burst_is_taken_in_together_and_in_order(client, channel, caplog):
    """New customers' complaints are taken in as one batch; a follow-up in the same
    conversation, a second message by the same customer, an edit and a returning customer wait
    for it and then join the right threads, as if each had come alone."""
    returning = json.dumps({"type": "message", "id": "old", "conversation": "c-old",
                            "author": {"id": "u-old"}, "text": "Yesterday's question: no signal"})
    deliver(client, "partner", returning.encode(), generic.sign(SECRET, returning.encode()))
    activities = [
        {"type": "message", "id": "a1", "conversation": "ca", "author": {"id": "ua"},
         "text": "My roaming stopped working in Spain."},
        {"type": "message", "id": "b1", "conversation": "cb", "author": {"id": "ub"},
         "text": "Where do I find my PUK code?"},
        {"type": "message", "id": "a2", "conversation": "ca", "author": {"id": "ua"},
         "text": "I already restarted the phone."},
        {"type": "edit", "id": "b1-edit", "target": "b1", "author": {"id": "ub"},
         "text": "Where do I find the PUK code for my eSIM?"},
        {"type": "message", "id": "old2", "conversation": "c-old", "author": {"id": "u-old"},
         "text": "Still no signal today."},
        {"type": "message", "id": "c1", "conversation": "cc", "author": {"id": "uc"},
         "text": "LINK 000000"},
        {"type": "message", "id": "d1", "conversation": "cd", "author": {"id": "ud"},
         "text": "My bill shows a charge I do not recognise."},
    ]
    body = json.dumps({"activities": activities}).encode()
    with caplog.at_level("WARNING"):
        response = deliver(client, "partner", body, generic.sign(SECRET, body))
    assert response.status_code == 200 and response.get_json() == {"received": 7, "stored": 7}
    assert "fell back" not in caplog.text

    db.session.expire_all()
    rows = {row.external_id: row for row in db.session.scalars(select(InboundMessage))}
    assert {key: row.outcome for key, row in rows.items()} == {
        "old": "thread", "a1": "thread", "b1": "thread", "a2": "joined", "edit:b1-edit": "edited",
        "old2": "joined", "c1": "link_failed", "d1": "thread"}
    assert rows["a2"].thread_id == rows["a1"].thread_id
    assert rows["old2"].thread_id == rows["old"].thread_id
    assert rows["a1"].identity_id == rows["a2"].identity_id
    edited = db.session.get(Thread, rows["b1"].thread_id).question
    assert "eSIM" in edited.body_source
    titles = {db.session.get(Thread, rows[key].thread_id).title for key in ("a1", "b1", "d1")}
    assert titles == {"My roaming stopped working in Spain.", "Where do I find my PUK code?",
                      "My bill shows a charge I do not recognise."}
    acks = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "ack")).all()
    assert sorted(ack.inbound_id for ack in acks) == sorted(
        rows[key].id for key in ("old", "a1", "b1", "d1"))
    notices = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "notice"))
    assert [notice.inbound_id for notice in notices] == [rows["c1"].id]


def test_concurrent_deliveries_store_each_message_once(app, channel, background):
    """Webhooks arriving at once each answer with their own count, and a message delivered by
    several of them at once is stored (and counted, and taken in) once."""
    import threading

    results: list[dict] = []
    failures: list[BaseException] = []

    def send(worker: int) -> None:
        client = app.test_client()
        try:
            for n in range(10):
                ids = [f"w{worker}-{n}", f"shared-{n}"]  # every worker also sends shared-n
                body = json.dumps({"activities": [
                    {"type": "message", "id": item, "conversation": item,
                     "author": {"id": item}, "text": f"Complaint {item}: my calls drop"}
                    for item in ids]}).encode()
                response = deliver(client, "partner", body, generic.sign(SECRET, body))
                assert response.status_code == 200, response.get_json()
                results.append(response.get_json())
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            failures.append(exc)

    workers = [threading.Thread(target=send, args=(worker,)) for worker in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures
    assert len(results) == 60 and all(result["received"] == 2 for result in results)
    assert sum(result["stored"] for result in results) == 60 + 10
    assert bridge_workers.flush(), "intake did not finish"
    db.session.expire_all()
    stored = db.session.scalars(select(InboundMessage.external_id)).all()
    assert sorted(stored) == sorted([f"w{w}-{n}" for w in range(6) for n in range(10)]
                                    + [f"shared-{n}" for n in range(10)])
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 70


def test_workers_claiming_at_once_each_get_different_replies(app, client, channel):
    """Outbox workers in several threads (or processes) at once: every due reply is claimed by
    exactly one of them."""
    import threading

    body = batch(40)
    assert deliver(client, "partner", body, generic.sign(SECRET, body)).status_code == 200
    owed = set(db.session.scalars(select(OutboundMessage.id).where(
        OutboundMessage.state == "pending")))
    assert len(owed) == 40
    start = threading.Barrier(4)
    claims: list[list[int]] = []

    def work() -> None:
        with app.app_context():
            start.wait()
            while mine := sending.claim(3):
                claims.append(mine)
            db.session.remove()

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    claimed = [reply_id for mine in claims for reply_id in mine]
    assert sorted(claimed) == sorted(owed)  # all of them, none twice
    db.session.expire_all()
    assert set(db.session.scalars(select(OutboundMessage.state))) == {"sending"}
