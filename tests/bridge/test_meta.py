"""Messenger and Instagram: the real payloads through the real webhook, replies to a fake Send API."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.bridge.text import count_chars, count_utf8_bytes
from community.config import DEFAULTS
from community.extensions import db
from community.models import InboundMessage, OutboundMessage, Post, Thread
from community.models.base import utcnow
from community.services.bridge import sending
from tests.bridge.conftest import PAYLOADS, Answer, add_channel, deliver

SECRET = "meta-app-secret"
PAGE_ID = "111899832631525"               # the Page in the Messenger samples
IG_ID = "chatwoot-app-user-id-1"          # our account in the Instagram samples
TOKENS = {"fb-page-token": ("messenger", 2000, count_chars),
          "ig-page-token": ("instagram", 1000, count_utf8_bytes)}
TEAM = Path(__file__).parent / "payloads"
MESSENGER_FILE = "messenger_webhooks_botman.json"
INSTAGRAM_FILE = "instagram_dm_events.chatwoot.json"


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body,
                                                         hashlib.sha256).hexdigest()}


def post(client, slug: str, payload: dict | bytes):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return deliver(client, slug, body, sign(body))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def latest() -> InboundMessage:
    return db.session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))


def _samples(name: str) -> list[str]:
    path = PAYLOADS / name
    return sorted(json.loads(path.read_text())) if path.exists() else ["corpus-missing"]


def messenger_sample(payloads, key: str) -> bytes:
    return json.loads((payloads / MESSENGER_FILE).read_text())[key]["raw_body"].encode()


def instagram_sample(payloads, key: str) -> dict:
    return json.loads((payloads / INSTAGRAM_FILE).read_text())[key]


def event_of(payload: dict) -> dict:
    return payload["entry"][0]["messaging"][0]


def fresh(payload: dict | bytes, **message) -> dict:
    """A copy of a sample stamped now (so the 24-hour window is open), its message updated."""
    payload = copy.deepcopy(json.loads(payload) if isinstance(payload, bytes) else payload)
    event = event_of(payload)
    event["timestamp"] = int(time.time() * 1000)
    event["message"].update(message)
    return payload


@pytest.fixture
def graph(fake_api):
    """The Send API: checks the page token and appsecret_proof, the fields, the page's limit."""
    def send(request):
        token = (request.query.get("access_token") or [""])[0]
        if token not in TOKENS:
            return Answer(400, {"error": {"message": "Invalid OAuth access token.",
                                          "type": "OAuthException", "code": 190}})
        proof = hmac.new(SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if (request.query.get("appsecret_proof") or [""])[0] != proof:
            return Answer(400, {"error": {"message": "Invalid appsecret_proof", "code": 100}})
        kind, limit, measure = TOKENS[token]
        body = request.json()
        text = (body.get("message") or {}).get("text") or ""
        if body.get("messaging_type") != "RESPONSE" or not (body.get("recipient") or {}).get("id") \
                or not text:
            return Answer(400, {"error": {"message": "(#100) Invalid parameter", "code": 100}})
        if "reply_to" in body and (kind != "instagram" or set(body["reply_to"]) != {"mid"}):
            return Answer(400, {"error": {"message": "(#100) Unknown field reply_to", "code": 100}})
        if measure(text) > limit:
            return Answer(400, {"error": {"message": f"(#100) text must be at most {limit}",
                                          "code": 100}})
        number = len(fake_api.sent("POST", "/me/messages"))
        return Answer(200, {"recipient_id": body["recipient"]["id"],
                            "message_id": f"m_reply{number}"})
    fake_api.route("POST", "/me/messages", send)
    return fake_api


def messenger_channel(api_base: str = "http://127.0.0.1:9"):
    return add_channel("messenger", "fb", app_secret=SECRET, verify_token="fb-hub",
                       page_access_token="fb-page-token", page_id=PAGE_ID, api_base=api_base)


def instagram_channel(api_base: str = "http://127.0.0.1:9"):
    return add_channel("instagram", "ig", app_secret=SECRET, verify_token="ig-hub",
                       page_access_token="ig-page-token", page_id=IG_ID, api_base=api_base)


@pytest.fixture
def messenger(ctx, graph):
    return messenger_channel(graph.url)


@pytest.fixture
def instagram(ctx, graph):
    return instagram_channel(graph.url)


# ---- every real sample, each against a fresh database -------------------------------------------

MESSENGER_EXPECTED = {  # sample → (kind stored, outcome)
    "text_message": ("message", "thread"),
    "quick_reply": ("message", "thread"),
    "legacy_x_hub_signature_sha1_vector": ("message", "thread"),
    "echo_of_page_message": ("echo", "ignored"),   # not one of our sends, no thread to answer in
    "postback": ("other", "ignored"),
    "delivery": ("status", "ignored"),             # about a message we never sent
    "read": ("status", "ignored"),
}


@pytest.mark.parametrize("sample", _samples(MESSENGER_FILE))
def test_every_real_messenger_sample(client, messenger, payloads, sample):
    body = messenger_sample(payloads, sample)
    response = post(client, "fb", body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"received": 1, "stored": 1}
    row = latest()
    assert row.payload == body.decode()  # the raw delivery is kept as it came
    kind, outcome = MESSENGER_EXPECTED[sample]
    assert (row.kind, row.outcome) == (kind, outcome), row.error
    message = event_of(json.loads(body)).get("message", {})
    if outcome == "thread":
        question = row.thread.question
        assert question.body_source == message["text"]
        assert question.author.username.endswith("-messenger")
        assert row.thread.tag_names == ["messenger"]
        ack = db.session.scalar(select(OutboundMessage))
        assert ack.kind == "ack" and ack.idempotency_key == f"ack:{row.id}"
    else:
        assert count(Thread) == 0 and count(OutboundMessage) == 0
    if kind == "echo":
        assert row.identity.shadow_user == messenger.staff_user  # our page, not a customer
        assert row.conversation == event_of(json.loads(body))["sender"]["id"]


INSTAGRAM_EXPECTED = {
    "instagram_message_create_event": ("message", "thread"),
    "instagram_test_text_event": ("message", "thread"),
    "instagram_story_reply_event": ("message", "thread"),
    "instagram_message_attachment_event": ("message", "thread"),
    "instagram_message_standby_event": ("other", "ignored"),   # another app owns the chat
    "instagram_story_mention_event": ("other", "ignored"),
    "instagram_story_mention_event_with_echo": ("echo", "ignored"),
    "instagram_message_unsend_event": ("delete", "ignored"),   # nothing to hide here
    "messaging_seen_event": ("status", "ignored"),
}


@pytest.mark.parametrize("sample", _samples(INSTAGRAM_FILE))
def test_every_real_instagram_sample(client, instagram, payloads, sample):
    payload = instagram_sample(payloads, sample)
    response = post(client, "ig", payload)
    assert response.status_code == 200, response.get_json()
    row = latest()
    assert row.payload == json.dumps(payload)
    kind, outcome = INSTAGRAM_EXPECTED[sample]
    assert (row.kind, row.outcome) == (kind, outcome), row.error
    message = (event_of(payload) if "messaging" in payload["entry"][0]
               else payload["entry"][0]["standby"][0]).get("message", {})
    if outcome == "thread":
        body = row.thread.question.body_source
        assert message.get("text", "") in body
        for attachment in message.get("attachments", []):
            assert attachment["payload"]["url"] in body  # media kept as links
        story = message.get("reply_to", {}).get("story")
        if story:
            assert story["url"] in body
        assert row.thread.tag_names == ["instagram"]
    else:
        assert count(Thread) == 0 and count(OutboundMessage) == 0


# ---- verification, duplicates, handshake --------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                                     {"X-Hub-Signature-256": "not a signature"}])
def test_bad_or_missing_signature_is_401_and_stores_nothing(client, messenger, payloads, headers):
    body = messenger_sample(payloads, "text_message")
    response = deliver(client, "fb", body, headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bridge.signature"
    assert deliver(client, "fb", body, sign(body, "another-secret")).status_code == 401
    assert count(InboundMessage) == 0


def test_the_legacy_sha1_header_alone_is_refused_and_sha256_of_the_same_bytes_verifies(
        client, ctx, payloads):
    vector = json.loads((payloads / MESSENGER_FILE).read_text())[
        "legacy_x_hub_signature_sha1_vector"]
    add_channel("messenger", "fb", app_secret=vector["app_secret"], verify_token="v",
                page_access_token="t", page_id=PAGE_ID)
    body = vector["raw_body"].encode()
    sha1_only = deliver(client, "fb", body, {vector["header_name"]: vector["header_value"]})
    assert sha1_only.status_code == 401 and count(InboundMessage) == 0
    expected = re.search(r"sha256=[0-9a-f]{64}", vector["note"]).group(0)  # worked out by the corpus
    response = deliver(client, "fb", body, {"X-Hub-Signature-256": expected})
    assert response.status_code == 200 and response.get_json()["stored"] == 1
    # Re-serialised JSON is not the bytes that were signed.
    assert deliver(client, "fb", json.dumps(json.loads(body)).encode(),
                   {"X-Hub-Signature-256": expected}).status_code == 401


def test_a_repeated_delivery_stores_nothing_new(client, messenger, payloads):
    body = messenger_sample(payloads, "text_message")
    assert post(client, "fb", body).get_json() == {"received": 1, "stored": 1}
    again = post(client, "fb", body)
    assert again.status_code == 200 and again.get_json() == {"received": 1, "stored": 0}
    assert (count(InboundMessage), count(Thread), count(OutboundMessage)) == (1, 1, 1)


def test_subscription_handshake(client, messenger, instagram):
    for slug, token in (("fb", "fb-hub"), ("ig", "ig-hub")):
        ok = client.get(f"/bridge/{slug}/webhook?hub.mode=subscribe&hub.verify_token={token}"
                        "&hub.challenge=8812345")
        assert ok.status_code == 200 and ok.get_data(as_text=True) == "8812345"
    wrong = client.get("/bridge/fb/webhook?hub.mode=subscribe&hub.verify_token=ig-hub"
                       "&hub.challenge=1")
    assert wrong.status_code == 401
    assert client.get("/bridge/ig/webhook?hub.challenge=1").status_code == 401


def test_wrong_object_and_malformed_bodies_are_400(client, messenger, instagram, payloads):
    messenger_body = messenger_sample(payloads, "text_message")
    instagram_body = json.dumps({"object": "instagram",
                                 **instagram_sample(payloads, "instagram_message_create_event")})
    no_mid = {"object": "page", "entry": [{"messaging": [{"message": {"text": "hi"}}]}]}
    bad_watermark = {"object": "page", "entry": [{"messaging": [
        {"sender": {"id": "1"}, "read": {"watermark": "soon"}}]}]}
    for slug, body in (("ig", messenger_body), ("fb", instagram_body.encode()),
                       ("fb", b"not json"), ("fb", b"[]"), ("fb", b'{"object": "page"}'),
                       ("fb", json.dumps(no_mid).encode()),
                       ("fb", json.dumps(bad_watermark).encode())):
        response = post(client, slug, body)
        assert response.status_code == 400, (slug, body)
        assert response.get_json()["error"]["code"] == "bridge.payload"
    assert count(InboundMessage) == 0


# ---- statuses, echoes, edits and deletions ---------------------------------------------------

def _sent_ack(client, slug: str, payload: dict) -> OutboundMessage:
    assert post(client, slug, payload).status_code == 200
    assert sending.run_once()["sent"] == 1
    return db.session.scalar(select(OutboundMessage))


def test_delivery_and_read_receipts_move_our_reply_forward(client, messenger, payloads):
    ack = _sent_ack(client, "fb", fresh(messenger_sample(payloads, "text_message")))
    delivery = json.loads(messenger_sample(payloads, "delivery"))
    event_of(delivery)["delivery"]["mids"] = [ack.external_id]
    assert post(client, "fb", delivery).status_code == 200
    db.session.refresh(ack)
    assert ack.state == "delivered" and latest().outcome == "status"

    # Messenger read receipts name no message: a watermark before our send leaves it alone...
    read = json.loads(messenger_sample(payloads, "read"))
    event_of(read)["sender"]["id"] = "1433960459967306"   # the customer who wrote to us
    before = int((ack.claimed_at - timedelta(minutes=1)).timestamp() * 1000)
    event_of(read)["read"]["watermark"] = before
    post(client, "fb", read)
    db.session.refresh(ack)
    assert ack.state == "delivered" and latest().outcome == "ignored"
    # ...one after it marks it read; another customer's receipt would not.
    event_of(read)["read"]["watermark"] = int(time.time() * 1000) + 1000
    post(client, "fb", read)
    db.session.refresh(ack)
    assert ack.state == "read" and latest().outcome == "status"


def test_a_watermark_only_touches_that_customers_replies(client, messenger, payloads):
    ack = _sent_ack(client, "fb", fresh(messenger_sample(payloads, "text_message")))
    read = json.loads(messenger_sample(payloads, "read"))
    event_of(read)["read"]["watermark"] = int(time.time() * 1000) + 1000  # sender is USER_ID
    post(client, "fb", read)
    db.session.refresh(ack)
    assert ack.state == "sent" and latest().outcome == "ignored"


def test_instagram_seen_marks_our_reply_read(client, instagram, payloads):
    ack = _sent_ack(client, "ig", fresh(instagram_sample(payloads,
                                                         "instagram_message_create_event")))
    seen = instagram_sample(payloads, "messaging_seen_event")
    event_of(seen)["read"]["mid"] = ack.external_id
    post(client, "ig", seen)
    db.session.refresh(ack)
    assert ack.state == "read"


def test_an_echo_of_our_reply_never_becomes_a_post(client, messenger, payloads):
    ack = _sent_ack(client, "fb", fresh(messenger_sample(payloads, "text_message")))
    echo = fresh(messenger_sample(payloads, "echo_of_page_message"), mid=ack.external_id,
                 text=ack.text)
    assert post(client, "fb", echo).status_code == 200
    row = latest()
    assert row.kind == "echo" and row.outcome == "echo"
    assert count(Post) == 1  # just the question


def test_a_staff_reply_typed_in_the_page_inbox_becomes_a_staff_answer(client, messenger,
                                                                       payloads):
    _sent_ack(client, "fb", fresh(messenger_sample(payloads, "text_message")))
    # Meta's echo: the page is the sender, the customer the recipient.
    echo = fresh(messenger_sample(payloads, "echo_of_page_message"), mid="m_typed-in-inbox",
                 text="Please send us your order number and we will check.")
    event = event_of(echo)
    event["sender"], event["recipient"] = event["recipient"], event["sender"]
    post(client, "fb", echo)
    thread = db.session.scalar(select(Thread))
    [answer] = thread.answers
    assert answer.body_source == "Please send us your order number and we will check."
    assert answer.author == messenger.staff_user and answer.author.is_staff


def test_a_customer_edit_revises_the_question(client, ctx, graph):
    add_channel("messenger", "fb", app_secret=SECRET, verify_token="v",
                page_access_token="fb-page-token", page_id="204815120000001", api_base=graph.url)
    edit = json.loads((TEAM / "meta_messenger_edit.json").read_text())
    event_of(edit)["timestamp"] = int(time.time() * 1000)  # edited just now
    original = copy.deepcopy(edit)
    event = event_of(original)
    event["message"] = {"mid": event.pop("message_edit")["mid"],
                        "text": "My parcel never arrived."}
    post(client, "fb", original)
    assert post(client, "fb", edit).status_code == 200
    assert latest().outcome == "edited"
    question = db.session.scalar(select(Thread)).question
    assert question.body_source == event_of(edit)["message_edit"]["text"]
    assert len(question.revisions) == 2


def test_an_instagram_unsend_hides_the_question(client, instagram, payloads):
    unsend = instagram_sample(payloads, "instagram_message_unsend_event")
    mid = event_of(unsend)["message"]["mid"]
    post(client, "ig", fresh(instagram_sample(payloads, "instagram_message_create_event"),
                             mid=mid))
    thread = db.session.scalar(select(Thread))
    assert post(client, "ig", unsend).status_code == 200
    assert latest().outcome == "hidden"
    db.session.refresh(thread)
    assert thread.is_hidden and thread.question.is_hidden
    assert client.get(f"/api/v1/threads/{thread.id}").status_code == 404


# ---- end to end through the fake Send API ----------------------------------------------------

def _answer_and_accept(client, thread, body, users, token_for):
    answer = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": body},
                         headers=token_for(users.staff))
    assert answer.status_code == 201, answer.get_json()
    accepted = client.post(f"/api/v1/threads/{thread.id}/accept",
                           json={"post_id": answer.get_json()["id"]},
                           headers=token_for(users.staff))
    assert accepted.status_code == 200, accepted.get_json()


def test_messenger_end_to_end(client, messenger, graph, payloads, users, token_for):
    complaint = fresh(messenger_sample(payloads, "text_message"), mid="m_complaint",
                      text="My order arrived broken. What can I do?")
    customer = event_of(complaint)["sender"]["id"]
    post(client, "fb", complaint)
    thread = db.session.scalar(select(Thread))
    assert thread.title == "My order arrived broken."

    assert sending.run_once()["sent"] == 1
    [request] = graph.sent("POST", "/me/messages")
    assert request.query["access_token"] == ["fb-page-token"]
    sent = request.json()
    assert sent["recipient"] == {"id": customer} and sent["messaging_type"] == "RESPONSE"
    assert "reply_to" not in sent  # Messenger text replies do not quote
    link_line = sent["message"]["text"].splitlines()[-1]
    assert link_line.startswith(f"http://localhost/threads/{thread.id}/")
    ack = db.session.scalar(select(OutboundMessage))
    assert ack.state == "sent" and ack.external_id == "m_reply1"  # the fake's answer

    long_answer = "Sorry about that! " + " ".join(["Keep the box and photograph the damage."] * 90)
    _answer_and_accept(client, thread, long_answer, users, token_for)
    assert sending.run_once()["sent"] == 1
    reply = graph.sent("POST", "/me/messages")[-1].json()
    text = reply["message"]["text"]
    assert reply["recipient"] == {"id": customer}
    assert count_chars(text) <= 2000 < count_chars(long_answer)
    assert text.splitlines()[-1] == link_line and "…" in text

    # The customer answers our reply: it joins the thread.
    follow_up = json.loads((TEAM / "meta_messenger_reply_with_image.json").read_text())
    event = event_of(follow_up)
    event.update(sender={"id": customer}, recipient={"id": PAGE_ID},
                 timestamp=int(time.time() * 1000))
    answer_row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "answer"))
    assert answer_row.state == "sent" and answer_row.external_id == "m_reply2"
    event["message"]["reply_to"]["mid"] = answer_row.external_id
    post(client, "fb", follow_up)
    assert latest().outcome == "joined" and count(Thread) == 1
    [comment] = thread.question.comments
    assert "https://cdn.example.net/label-4411.jpg" in comment.body_source


def test_instagram_end_to_end_fits_1000_bytes(client, instagram, graph, payloads, users,
                                              token_for):
    complaint = fresh(instagram_sample(payloads, "instagram_message_create_event"),
                      mid="ig_complaint", text="الطلب وصل متأخر جدا. ماذا أفعل؟")
    post(client, "ig", complaint)
    thread = db.session.scalar(select(Thread))
    assert sending.run_once()["sent"] == 1
    ack = graph.sent("POST", "/me/messages")[0].json()
    assert ack["recipient"] == {"id": "Sender-id-1"} and ack["reply_to"] == {"mid": "ig_complaint"}

    answer = "نعتذر عن التأخير 🙏 " + " ".join(["سنرسل لك رمز التتبع الجديد اليوم"] * 60)
    _answer_and_accept(client, thread, answer, users, token_for)
    assert sending.run_once()["sent"] == 1
    reply = graph.sent("POST", "/me/messages")[-1].json()
    text = reply["message"]["text"]
    assert reply["reply_to"] == {"mid": "ig_complaint"}
    # Arabic letters take two bytes each: the limit is in bytes, not characters.
    assert count_utf8_bytes(text) <= 1000 < count_utf8_bytes(answer)
    assert text.splitlines()[-1].startswith(f"http://localhost/threads/{thread.id}/")


def test_replies_outside_the_24_hour_window_wait_for_staff(client, messenger, graph, payloads):
    old = json.loads(messenger_sample(payloads, "text_message"))  # stamped 2016
    post(client, "fb", old)
    assert sending.run_once()["held"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "held" and "window" in row.last_error
    assert graph.sent("POST") == []


def test_rate_limits_back_off_and_permanent_errors_stop(client, messenger, graph, payloads):
    post(client, "fb", fresh(messenger_sample(payloads, "text_message"), mid="m_1"))
    row = db.session.scalar(select(OutboundMessage))
    graph.fail_next(Answer(429, {"error": {"message": "slow down", "code": 4}},
                           {"Retry-After": "30"}))
    assert sending.run_once()["pending"] == 1
    db.session.refresh(row)
    assert row.state == "pending" and row.next_attempt_at >= utcnow() + timedelta(seconds=25)

    # Meta's usual rate limit: HTTP 400 with code 32 and a wait in X-Business-Use-Case-Usage.
    row.next_attempt_at = utcnow()
    db.session.commit()
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "total_time": 40,
                        "total_cputime": 30, "estimated_time_to_regain_access": 2}]}
    graph.fail_next(Answer(400, {"error": {"message": "(#32) Page request limit reached",
                                           "type": "OAuthException", "code": 32}},
                           {"X-Business-Use-Case-Usage": json.dumps(usage)}))
    assert sending.run_once()["pending"] == 1
    db.session.refresh(row)
    assert row.attempts == 2 and row.next_attempt_at >= utcnow() + timedelta(seconds=110)
    assert "fb-page-token" not in row.last_error

    row.next_attempt_at = utcnow()
    db.session.commit()
    graph.fail_next(Answer(400, {"error": {
        "message": "(#10) This message is sent outside of allowed window.",
        "type": "OAuthException", "code": 10, "error_subcode": 2018278}}))
    assert sending.run_once()["failed"] == 1
    db.session.refresh(row)
    assert row.state == "failed" and row.attempts == 3 and "2018278" in row.last_error


def test_a_wrong_page_token_is_a_permanent_failure(client, ctx, graph, payloads):
    add_channel("messenger", "fb", app_secret=SECRET, verify_token="v",
                page_access_token="revoked-token", page_id=PAGE_ID, api_base=graph.url)
    post(client, "fb", fresh(messenger_sample(payloads, "text_message")))
    assert sending.run_once()["failed"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert "190" in row.last_error and "revoked-token" not in row.last_error


# ---- the message-age window ------------------------------------------------------------------

@pytest.mark.parametrize("slug", ["fb", "ig"])
def test_a_delivery_from_years_ago_is_kept_for_staff_and_never_posted(
        app, client, messenger, instagram, payloads, monkeypatch, slug):
    """Meta redelivers for a few days at most: the samples as recorded (2016, 2021) are
    replays. They are acknowledged (200) and kept as too_old; the same message sent now is a
    new thread."""
    monkeypatch.setitem(app.config, "BRIDGE_MAX_MESSAGE_AGE_HOURS",
                        DEFAULTS["BRIDGE_MAX_MESSAGE_AGE_HOURS"])
    sample = json.loads(messenger_sample(payloads, "text_message")) if slug == "fb" \
        else instagram_sample(payloads, "instagram_message_create_event")
    response = post(client, slug, sample)
    assert response.status_code == 200 and response.get_json() == {"received": 1, "stored": 1}
    assert latest().outcome == "too_old"
    assert count(Thread) == 0 and count(OutboundMessage) == 0
    assert post(client, slug, fresh(sample, mid="m_sent_just_now")).status_code == 200
    assert latest().outcome == "thread" and count(Thread) == 1
