"""WhatsApp Cloud API: the real payloads through the real webhook, replies to a fake Graph API."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from community.bridge.text import count_chars
from community.config import DEFAULTS
from community.extensions import db
from community.models import Channel, InboundMessage, OutboundMessage, Post, Thread
from community.models.base import utcnow
from community.services.bridge import sending
from tests.bridge.conftest import Answer, add_channel, deliver

SECRET = "test-app-secret"
PHONE_ID = "1122334455667"
TOKEN = "test-access-token"


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body,
                                                         hashlib.sha256).hexdigest()}


def post(client, payload: dict | bytes, slug: str = "wa"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return deliver(client, slug, body, sign(body))


def inbound_count() -> int:
    return db.session.scalar(select(func.count()).select_from(InboundMessage))


@pytest.fixture
def graph(fake_api):
    """The Graph API's send endpoint: checks auth and fields, answers with a new wamid."""
    def send(request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Answer(401, {"error": {"message": "Invalid OAuth access token", "code": 190}})
        body = request.json()
        text = body.get("text", {}).get("body", "")
        if body.get("messaging_product") != "whatsapp" or not body.get("to") or not text:
            return Answer(400, {"error": {"message": "(#100) Invalid parameter", "code": 100}})
        if len(text) > 4096:
            return Answer(400, {"error": {"message": "(#100) text too long", "code": 100}})
        number = len(fake_api.sent("POST"))
        return Answer(200, {"messaging_product": "whatsapp",
                            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                            "messages": [{"id": f"wamid.reply{number}"}]})
    fake_api.route("POST", f"/{PHONE_ID}/messages", send)
    return fake_api


@pytest.fixture
def channel(ctx, graph):
    return add_channel("whatsapp", "wa", app_secret=SECRET, verify_token="hub-token",
                       access_token=TOKEN, phone_number_id=PHONE_ID, api_base=graph.url)


def text_message(body: str, *, message_id: str = "wamid.customer1", sender: str = "447700900123",
                 when: int | None = None, context: str | None = None) -> dict:
    message = {"from": sender, "id": message_id, "type": "text", "text": {"body": body},
               "timestamp": str(int(when if when is not None else utcnow().timestamp()))}
    if context:
        message["context"] = {"from": "15550001111", "id": context}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Priya"}, "wa_id": sender}],
            "messages": [message]}}]}]}


# ---- verification ----------------------------------------------------------------------------

def test_the_real_meta_signed_delivery_verifies_on_its_raw_bytes(client, ctx, payloads):
    meta = json.loads((payloads / "whatsapp_signed_text.meta.json").read_text())
    body = (payloads / meta["body_file"]).read_bytes()
    add_channel("whatsapp", "wa", app_secret=meta["app_secret"], verify_token="v",
                access_token="t", phone_number_id="1")
    response = deliver(client, "wa", body, {meta["header_name"]: meta["header_value"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"received": 1, "stored": 1}
    thread = db.session.scalar(select(Thread))
    assert thread.title == "Hey there!"
    assert thread.question.body_source == "Hey there! I am using PyWa."
    assert thread.tag_names == ["whatsapp"] and thread.source_kind == "whatsapp"
    # Re-serialised JSON is not what Meta signed: it must not verify.
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body
    refused = deliver(client, "wa", reserialised, {meta["header_name"]: meta["header_value"]})
    assert refused.status_code == 401


@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                                     {"X-Hub-Signature-256": "garbage"}])
def test_bad_or_missing_signature_is_refused_and_stores_nothing(client, channel, headers):
    body = json.dumps(text_message("My bill is wrong this month")).encode()
    response = deliver(client, "wa", body, headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bridge.signature"
    assert inbound_count() == 0


def test_signed_with_another_secret_is_refused(client, channel):
    body = json.dumps(text_message("My bill is wrong this month")).encode()
    assert deliver(client, "wa", body, sign(body, "not-our-secret")).status_code == 401
    assert inbound_count() == 0


def test_unknown_channel_is_404_and_malformed_body_is_400(client, channel):
    assert deliver(client, "nope", b"{}", sign(b"{}")).status_code == 404
    for body in (b"not json", b"[]", json.dumps({"object": "page"}).encode()):
        response = deliver(client, "wa", body, sign(body))
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "bridge.payload"
    assert inbound_count() == 0


def test_a_disabled_channel_is_404_and_stores_nothing(client, channel):
    db.session.execute(update(Channel).where(Channel.slug == "wa").values(is_enabled=False))
    db.session.commit()
    body = json.dumps(text_message("My bill is wrong this month")).encode()
    response = deliver(client, "wa", body, sign(body))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "channel.not_found"
    assert inbound_count() == 0


def test_a_channel_disabled_meanwhile_refuses_deliveries_once_its_kept_row_expires(
        app, client, channel, monkeypatch):
    monkeypatch.setitem(app.config, "BRIDGE_CHANNEL_CACHE_SECONDS", 0.2)
    assert post(client, text_message("First", message_id="wamid.a")).status_code == 200
    db.session.execute(update(Channel).where(Channel.slug == "wa").values(is_enabled=False))
    db.session.commit()
    time.sleep(0.25)
    response = post(client, text_message("Second", message_id="wamid.b"))
    assert response.status_code == 404
    assert inbound_count() == 1


def test_a_burst_reads_its_channel_once(app, client, channel, monkeypatch):
    # Long enough that a slow machine's burst still falls inside one cache period.
    monkeypatch.setitem(app.config, "BRIDGE_CHANNEL_CACHE_SECONDS", 600)
    reads = []

    def count(conn, cursor, statement, *args):
        if "FROM bridge_channels" in statement:
            reads.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for number in range(20):
            message = text_message(f"Complaint {number}", message_id=f"wamid.{number}",
                                   sender=f"4477009{number:05}")
            assert post(client, message).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert inbound_count() == 20
    assert len([read for read in reads if "WHERE bridge_channels.slug = " in read]) == 1


def test_subscription_handshake(client, channel):
    ok = client.get("/bridge/wa/webhook?hub.mode=subscribe&hub.verify_token=hub-token"
                    "&hub.challenge=1158201444")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "1158201444"
    wrong = client.get("/bridge/wa/webhook?hub.mode=subscribe&hub.verify_token=guess"
                       "&hub.challenge=1")
    assert wrong.status_code == 401


def test_a_repeated_delivery_stores_nothing_new(client, channel):
    payload = text_message("Roaming does not work in Spain")
    assert post(client, payload).get_json() == {"received": 1, "stored": 1}
    again = post(client, payload)
    assert again.status_code == 200 and again.get_json() == {"received": 1, "stored": 0}
    assert inbound_count() == 1
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


# ---- every real message sample, each against a fresh database --------------------------------

EXPECTED = {"reaction": "ignored", "unreaction_empty": "ignored",
            "unreaction_no_emoji": "ignored", "unsupported": "ignored",
            "unsupported_with_type": "ignored", "interactive_message_with_err": "ignored"}


def _samples(name: str) -> list[str]:
    from tests.bridge.conftest import PAYLOADS

    path = PAYLOADS / name
    return sorted(json.loads(path.read_text())) if path.exists() else ["corpus-missing"]


@pytest.mark.parametrize("sample", _samples("whatsapp_messages_pywa.json"))
def test_every_real_message_sample(client, channel, payloads, sample):
    payload = json.loads((payloads / "whatsapp_messages_pywa.json").read_text())[sample]
    response = post(client, payload)
    assert response.status_code == 200, response.get_json()
    row = db.session.scalar(select(InboundMessage))
    assert row.payload == json.dumps(payload)  # the raw delivery is kept
    expected = EXPECTED.get(sample, "thread")
    assert row.outcome == expected, (sample, row.error)
    if expected == "thread":
        question = row.thread.question
        assert question.author.username.endswith("-whatsapp")
        if row.media:
            assert row.media[0]["url"] in question.body_source
        ack = db.session.scalar(select(OutboundMessage))
        assert ack.kind == "ack" and ack.idempotency_key == f"ack:{row.id}"


# ---- statuses, echoes, edits and deletions ---------------------------------------------------

def _sent_ack(client, channel) -> OutboundMessage:
    post(client, text_message("My data stopped working after the update"))
    assert sending.run_once()["sent"] == 1
    return db.session.scalar(select(OutboundMessage))


def _with_id(payload: dict, key: str, **values) -> dict:
    payload = copy.deepcopy(payload)
    item = payload["entry"][0]["changes"][0]["value"][key][0]
    item.update(values)
    return payload


@pytest.mark.parametrize("status, state", [("sent", "sent"), ("delivered", "delivered"),
                                           ("read", "read"), ("failed", "failed")])
def test_status_callbacks_update_the_outbox(client, channel, payloads, status, state):
    ack = _sent_ack(client, channel)
    samples = json.loads((payloads / "whatsapp_statuses_pywa.json").read_text())
    response = post(client, _with_id(samples[status], "statuses", id=ack.external_id))
    assert response.status_code == 200
    db.session.refresh(ack)
    assert ack.state == state
    if state == "failed":
        assert "130472" in ack.last_error


def test_read_is_not_undone_by_a_late_delivered(client, channel, payloads):
    ack = _sent_ack(client, channel)
    samples = json.loads((payloads / "whatsapp_statuses_pywa.json").read_text())
    post(client, _with_id(samples["read"], "statuses", id=ack.external_id))
    post(client, _with_id(samples["delivered"], "statuses", id=ack.external_id))
    db.session.refresh(ack)
    assert ack.state == "read"


def test_an_echo_of_our_own_reply_never_becomes_a_post(client, channel, payloads):
    ack = _sent_ack(client, channel)
    echoes = json.loads((payloads / "whatsapp_echoes_pywa.json").read_text())
    echo = _with_id(echoes["text"], "message_echoes", id=ack.external_id, to="447700900123")
    assert post(client, echo).status_code == 200
    row = db.session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))
    assert row.kind == "echo" and row.outcome == "echo"
    assert db.session.scalar(select(func.count()).select_from(Post)) == 1  # just the question


def test_a_staff_reply_made_in_the_whatsapp_app_is_recorded_as_a_staff_answer(client, channel,
                                                                                payloads):
    _sent_ack(client, channel)
    echoes = json.loads((payloads / "whatsapp_echoes_pywa.json").read_text())
    native = _with_id(echoes["text"], "message_echoes", id="wamid.typed-in-the-app",
                      to="447700900123", text={"body": "Turn Wi-Fi calling off and on again."})
    post(client, native)
    thread = db.session.scalar(select(Thread))
    [answer] = thread.answers
    assert answer.body_source == "Turn Wi-Fi calling off and on again."
    assert answer.author.is_staff and answer.author == channel.staff_user


def test_customer_edit_revises_the_question_and_revoke_hides_it(client, channel, payloads):
    post(client, text_message("My SIM says no service", message_id="wamid.original"))
    edited = json.loads((payloads / "whatsapp_edited_pywa.json").read_text())["image"]
    edit = edited["entry"][0]["changes"][0]["value"]["messages"][0]
    edit["from"] = "447700900123"
    edit["edit"]["original_message_id"] = "wamid.original"
    assert post(client, edited).status_code == 200
    thread = db.session.scalar(select(Thread))
    question = thread.question
    assert "Updated image caption" in question.body_source
    assert "https://media.example.com/updated-image.jpg" in question.body_source
    assert len(question.revisions) == 2

    revoked = json.loads((payloads / "whatsapp_revoked_pywa.json").read_text())["revoke"]
    revoke = revoked["entry"][0]["changes"][0]["value"]["messages"][0]
    revoke.update({"from": "447700900123", "id": "wamid.revoke"})
    revoke["revoke"]["original_message_id"] = "wamid.original"
    assert post(client, revoked).status_code == 200
    db.session.refresh(thread)
    assert thread.is_hidden and question.is_hidden
    assert client.get(f"/api/v1/threads/{thread.id}").status_code == 404


# ---- conversation, window, failures ----------------------------------------------------------

def test_follow_ups_in_the_same_chat_join_the_open_thread(client, channel):
    post(client, text_message("Roaming not working in Spain", message_id="wamid.a"))
    sending.run_once()  # the ack goes out as wamid.reply1
    post(client, text_message("I restarted the phone already", message_id="wamid.b"))
    post(client, text_message("Still nothing", message_id="wamid.c", context="wamid.reply1"))
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 1
    thread = db.session.scalar(select(Thread))
    assert [c.body_source for c in thread.question.comments] == [
        "I restarted the phone already", "Still nothing"]
    assert db.session.scalar(select(InboundMessage.outcome).where(
        InboundMessage.external_id == "wamid.c")) == "joined"
    # Only the message that started the thread is acknowledged.
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_the_ack_replies_in_the_customers_chat_with_the_link(client, channel, graph):
    post(client, text_message("Why was I charged twice for my bundle?"))
    assert sending.run_once()["sent"] == 1
    [request] = graph.sent("POST", f"/{PHONE_ID}/messages")
    sent = request.json()
    thread = db.session.scalar(select(Thread))
    assert sent["to"] == "447700900123"
    assert sent["context"] == {"message_id": "wamid.customer1"}
    text = sent["text"]["body"]
    assert text.startswith("Thanks, Priya!")
    assert text.splitlines()[-1] == f"http://localhost/threads/{thread.id}/" \
                                     "why-was-i-charged-twice-for-my-bundle"
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "sent" and row.external_id == "wamid.reply1" and row.attempts == 1


def test_replies_outside_the_24_hour_window_wait_for_staff(client, channel, graph):
    old = int((utcnow() - timedelta(hours=25)).timestamp())
    post(client, text_message("Is there an outage in Leeds?", when=old))
    assert sending.run_once()["held"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "held" and "window" in row.last_error
    assert graph.sent("POST") == []


def test_rate_limits_back_off_and_permanent_errors_stop(client, channel, graph, app):
    post(client, text_message("My number port is stuck", message_id="wamid.1"))
    graph.fail_next(Answer(429, {"error": {"code": 130429}}, {"Retry-After": "120"}))
    assert sending.run_once()["pending"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.attempts == 1 and row.state == "pending" and "429" in row.last_error
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=110)
    assert sending.run_once().get("sent", 0) == 0  # not due yet

    row.next_attempt_at = utcnow()
    db.session.commit()
    graph.fail_next(Answer(503, {"error": {"message": "temporarily unavailable"}}))
    assert sending.run_once()["pending"] == 1
    row.next_attempt_at = utcnow()
    db.session.commit()
    assert sending.run_once()["sent"] == 1
    db.session.refresh(row)
    assert row.attempts == 3 and row.state == "sent"

    post(client, text_message("Another problem", message_id="wamid.2", sender="447700900999"))
    graph.fail_next(Answer(400, {"error": {"message": "(#131030) Recipient not in allowed list",
                                           "type": "OAuthException", "code": 131030}}))
    assert sending.run_once()["failed"] == 1
    failed = db.session.scalar(select(OutboundMessage).where(OutboundMessage.state == "failed"))
    assert failed.attempts == 1 and "131030" in failed.last_error


def test_attempts_run_out(client, channel, graph, app):
    app.config["BRIDGE_MAX_ATTEMPTS"], saved = 2, app.config["BRIDGE_MAX_ATTEMPTS"]
    try:
        post(client, text_message("No signal at home"))
        row = db.session.scalar(select(OutboundMessage))
        for _ in range(2):
            graph.fail_next(Answer(500, {}))
            row.next_attempt_at = utcnow()
            db.session.commit()
            sending.run_once()
            db.session.refresh(row)
        assert row.state == "failed" and row.attempts == 2
    finally:
        app.config["BRIDGE_MAX_ATTEMPTS"] = saved


def test_replies_fit_whatsapps_limit(client, channel, graph, users, token_for):
    post(client, text_message("How do I set up eSIM on a new phone?"))
    thread = db.session.scalar(select(Thread))
    long_answer = "Step by step: " + " ".join(["open Settings and choose Mobile data"] * 200)
    answer = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": long_answer},
                         headers=token_for(users.staff))
    assert answer.status_code == 201
    endorse = client.post(f"/api/v1/posts/{answer.get_json()['id']}/endorse",
                          headers=token_for(users.moderator))
    assert endorse.status_code == 200, endorse.get_json()
    assert sending.run_once()["sent"] == 2
    reply = graph.sent("POST")[-1].json()
    text = reply["text"]["body"]
    assert count_chars(text) <= 4096
    assert text.splitlines()[-1].startswith(f"http://localhost/threads/{thread.id}/")
    assert "…" in text and reply["context"] == {"message_id": "wamid.customer1"}


# ---- the message-age window ------------------------------------------------------------------

@pytest.mark.parametrize("age, outcome", [(timedelta(days=3 * 365), "too_old"),
                                          (timedelta(days=8), "too_old"),
                                          (timedelta(days=6), "thread")])
def test_a_message_older_than_the_window_is_kept_for_staff_and_never_posted(
        client, channel, users, token_for, age, outcome):
    response = post(client, text_message("My bill is wrong this month",
                                         when=int((utcnow() - age).timestamp())))
    assert response.status_code == 200  # acknowledged, so WhatsApp does not deliver it again
    assert response.get_json() == {"received": 1, "stored": 1}
    assert db.session.scalar(select(InboundMessage.outcome)) == outcome
    started = outcome == "thread"
    assert db.session.scalar(select(func.count()).select_from(Thread)) == started
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == started
    listed = client.get("/api/v1/bridge/inbound", headers=token_for(users.staff)).get_json()
    assert [item["outcome"] for item in listed["items"]] == [outcome]


def test_the_window_is_bridge_max_message_age_hours(app, client, channel, monkeypatch):
    two_hours_ago = int((utcnow() - timedelta(hours=2)).timestamp())
    monkeypatch.setitem(app.config, "BRIDGE_MAX_MESSAGE_AGE_HOURS", 1)
    post(client, text_message("No signal at home", message_id="wamid.a", sender="4477001",
                              when=two_hours_ago))
    monkeypatch.setitem(app.config, "BRIDGE_MAX_MESSAGE_AGE_HOURS", 0)  # 0: no window
    post(client, text_message("No signal at work", message_id="wamid.b", sender="4477002",
                              when=0))
    outcomes = dict(db.session.execute(select(InboundMessage.external_id,
                                              InboundMessage.outcome)).all())
    assert outcomes == {"wamid.a": "too_old", "wamid.b": "thread"}


def test_an_old_status_or_echo_changes_nothing(client, channel, payloads, app, monkeypatch):
    monkeypatch.setitem(app.config, "BRIDGE_MAX_MESSAGE_AGE_HOURS",
                        DEFAULTS["BRIDGE_MAX_MESSAGE_AGE_HOURS"])
    ack = _sent_ack(client, channel)
    statuses = json.loads((payloads / "whatsapp_statuses_pywa.json").read_text())
    echoes = json.loads((payloads / "whatsapp_echoes_pywa.json").read_text())
    post(client, _with_id(statuses["read"], "statuses", id=ack.external_id))  # dated 2023
    post(client, _with_id(echoes["text"], "message_echoes", id="wamid.typed-long-ago",
                          to="447700900123"))
    db.session.refresh(ack)
    assert ack.state == "sent"
    assert db.session.scalar(select(func.count()).select_from(Post)) == 1  # just the question
    assert db.session.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)).all() \
        == ["thread", "too_old", "too_old"]


def test_the_real_signed_delivery_from_years_ago_is_acknowledged_but_not_posted(
        client, ctx, payloads, app, monkeypatch):
    monkeypatch.setitem(app.config, "BRIDGE_MAX_MESSAGE_AGE_HOURS",
                        DEFAULTS["BRIDGE_MAX_MESSAGE_AGE_HOURS"])
    meta = json.loads((payloads / "whatsapp_signed_text.meta.json").read_text())
    add_channel("whatsapp", "wa", app_secret=meta["app_secret"], verify_token="v",
                access_token="t", phone_number_id="1")
    body = (payloads / meta["body_file"]).read_bytes()
    response = deliver(client, "wa", body, {meta["header_name"]: meta["header_value"]})
    assert response.status_code == 200 and response.get_json() == {"received": 1, "stored": 1}
    assert db.session.scalar(select(InboundMessage.outcome)) == "too_old"
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 0
