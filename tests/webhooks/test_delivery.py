"""Delivery through the outbox: signatures, order and retries, nothing for a rolled-back change,
giving up, disabling a dead subscription, and the address rules at delivery time."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy import func, select, update

from community.extensions import db
from community.models import AuditEntry, Thread, WebhookDelivery, WebhookEvent, WebhookSubscription
from community.models.base import utcnow
from community.services import events, webhook_delivery
from tests.factories import make_answer, make_thread, make_user
from tests.webhooks.conftest import run_until, subscribe


def test_a_delivery_is_signed_as_documented(client, admin_headers, receiver):
    subscription = subscribe(client, admin_headers, receiver.url, ["answer.created"])
    asker, helper = make_user("asker"), make_user("helper")
    thread = make_thread(asker)
    answer = make_answer(helper, thread)

    run_until(lambda: receiver.delivered())

    [arrived] = receiver.arrived  # thread.created is not wanted by this subscription
    body = arrived.json()
    assert body["type"] == "answer.created" and set(body) == {"id", "type", "created_at", "data"}
    assert body["data"] == {"thread_id": thread.id, "post_id": answer.id}
    assert arrived.headers["community-event-id"] == str(body["id"])
    t = arrived.headers["community-timestamp"]
    expected = hmac.new(subscription["secret"].encode(), f"{t}.".encode() + arrived.body,
                        hashlib.sha256).hexdigest()
    assert arrived.headers["community-signature"] == f"t={t},v1={expected}"


def test_a_receiver_failing_for_a_while_gets_every_event_once_in_order(
        client, admin_headers, receiver, fast_retries):
    subscription = subscribe(client, admin_headers, receiver.url)
    receiver.answer = lambda n: (500, {}) if n < 4 else (200, {})
    asker = make_user("asker")
    for n in range(5):
        make_thread(asker, title=f"Question number {n} about roaming")

    run_until(lambda: len(receiver.delivered()) == 5)

    ids = [item.event_id for item in receiver.delivered()]
    all_ids = list(db.session.scalars(select(WebhookEvent.id).where(
        WebhookEvent.type == "thread.created").order_by(WebhookEvent.id)))
    assert ids == all_ids  # every event once, in order, although the first waited for retries
    states = [item["state"] for item in client.get(
        f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=admin_headers
    ).get_json()["items"]]
    assert states == ["delivered"] * 5


def test_429_waits_at_least_what_retry_after_asks(client, admin_headers, receiver):
    subscription = subscribe(client, admin_headers, receiver.url)
    receiver.answer = lambda n: (429, {"Retry-After": "120"})
    make_thread(make_user("asker"))

    webhook_delivery.run_once()

    row = db.session.scalar(select(WebhookDelivery))
    assert (row.state, row.response_status, row.attempts) == ("pending", 429, 1)
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=110)
    assert db.session.get(WebhookSubscription, subscription["id"]).failing_since is not None


def test_a_rolled_back_change_sends_nothing(client, admin_headers, receiver, ctx):
    subscribe(client, admin_headers, receiver.url)
    asker = make_user("asker")
    db.session.add(Thread(title="Never committed", author_id=asker.id))
    events.publish("thread.created", thread_id=999, post_id=999)
    db.session.flush()
    db.session.rollback()

    webhook_delivery.run_once()

    assert receiver.arrived == []
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    make_thread(asker)  # the next committed change is delivered, alone
    run_until(lambda: receiver.delivered())
    assert [item.json()["data"]["thread_id"] != 999 for item in receiver.arrived] == [True]


def test_a_failing_delivery_is_given_up_after_a_day_and_the_subscription_disabled(
        client, admin_headers, receiver):
    subscription = subscribe(client, admin_headers, receiver.url)
    receiver.answer = lambda n: (503, {})
    make_thread(make_user("asker"))
    webhook_delivery.run_once()
    day_ago = utcnow() - timedelta(hours=25)
    db.session.execute(update(WebhookDelivery).values(created_at=day_ago, next_attempt_at=day_ago))
    db.session.execute(update(WebhookSubscription).values(failing_since=day_ago))
    db.session.commit()

    webhook_delivery.run_once()

    shown = client.get(f"/api/v1/webhooks/{subscription['id']}", headers=admin_headers).get_json()
    assert shown["enabled"] is False and "failed" in shown["disabled_reason"]
    [delivery] = client.get(f"/api/v1/webhooks/{subscription['id']}/deliveries",
                            headers=admin_headers).get_json()["items"]
    assert (delivery["state"], delivery["response_status"]) == ("failed", 503)
    assert "given up" in delivery["last_error"]
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.target_kind == "webhook", AuditEntry.actor_id.is_(None))) == "webhook.disable"
    make_thread(make_user("asker2"), title="Another question about roaming")
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1

    changed = client.patch(f"/api/v1/webhooks/{subscription['id']}", headers=admin_headers,
                           json={"enabled": True}).get_json()
    assert changed["enabled"] is True and changed["failing_since"] is None


def test_a_client_error_fails_at_once(client, admin_headers, receiver):
    subscribe(client, admin_headers, receiver.url)
    receiver.answer = lambda n: (410, {})
    make_thread(make_user("asker"))

    webhook_delivery.run_once()

    row = db.session.scalar(select(WebhookDelivery))
    assert (row.state, row.response_status, row.attempts) == ("failed", 410, 1)


def test_private_targets_are_refused_at_delivery_when_not_allowed(
        app, client, admin_headers, receiver, monkeypatch):
    subscribe(client, admin_headers, receiver.url)  # saved while allowed (as in tests)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
    make_thread(make_user("asker"))

    webhook_delivery.run_once()

    row = db.session.scalar(select(WebhookDelivery))
    assert row.state == "failed" and "not a public address" in row.last_error
    assert receiver.arrived == []


def test_a_disabled_subscription_is_owed_nothing_but_a_ping_still_goes(
        client, admin_headers, receiver):
    subscription = subscribe(client, admin_headers, receiver.url)
    client.patch(f"/api/v1/webhooks/{subscription['id']}", headers=admin_headers,
                 json={"enabled": False})
    make_thread(make_user("asker"))

    ping = client.post(f"/api/v1/webhooks/{subscription['id']}/ping", headers=admin_headers)
    assert ping.status_code == 202, ping.get_json()
    run_until(lambda: receiver.delivered())

    assert [json.loads(item.body)["type"] for item in receiver.arrived] == ["ping"]


def test_a_second_worker_does_not_overtake_a_delivery_in_flight(client, admin_headers, receiver):
    subscribe(client, admin_headers, receiver.url)
    asker = make_user("asker")
    make_thread(asker)
    make_thread(asker, title="A second question about roaming")
    [first] = webhook_delivery.DELIVERIES.claim(1)  # worker A claims the first, then sends...

    webhook_delivery.run_once()  # ...while worker B runs a round
    assert receiver.arrived == []

    webhook_delivery.deliver([first])  # A's send ends
    run_until(lambda: len(receiver.delivered()) == 2)
    ids = [item.event_id for item in receiver.arrived]
    assert ids == sorted(ids) and len(set(ids)) == 2


def test_events_past_retention_are_purged_with_their_deliveries(app, client, admin_headers,
                                                                 receiver):
    subscribe(client, admin_headers, receiver.url)
    make_thread(make_user("asker"))
    old = utcnow() - timedelta(days=app.config["EVENTS_RETENTION_DAYS"] + 1)
    db.session.execute(update(WebhookEvent).values(created_at=old))
    db.session.commit()
    make_thread(make_user("asker2"), title="A fresh question about roaming")

    assert webhook_delivery.purge() == 1

    feed = client.get("/api/v1/events", headers=admin_headers).get_json()["items"]
    assert len(feed) == 1 and feed[0]["created_at"] > old.isoformat()
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
