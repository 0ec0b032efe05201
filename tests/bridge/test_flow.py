"""The bridge end to end on the generic channel: complaint in, thread, ack out, answer settled on
the site, reply out; plus crash safety with a real worker process, linking and staff pages."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.bridge import Reply, SendError, adapter_for, generic
from community.extensions import db
from community.models import ExternalIdentity, InboundMessage, OutboundMessage, Thread
from community.models.base import utcnow
from community.services import outbox
from community.services.bridge import sending
from community.workers import bridge as bridge_workers
from tests.bridge.conftest import SECRET, activity, add_channel, deliver, send
from tests.conftest import csrf_token, require
from tests.factories import PASSWORD

# ---- signatures --------------------------------------------------------------------------------

def test_stale_or_future_timestamps_are_refused(client, channel):
    # A stale stamp only gets staler while the request runs; a future one gets nearer (and the
    # stamp is whole seconds), so it is sent well past the limit: +301 passed as 299 under load.
    stale = int(time.time()) - 301
    assert send(client, activity("My router keeps rebooting"), at=stale).status_code == 401
    future = int(time.time()) + 330
    assert send(client, activity("My router keeps rebooting"), at=future).status_code == 401
    recent = int(time.time()) - 200
    assert send(client, activity("My router keeps rebooting"), at=recent).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_a_signature_over_another_body_is_refused(client, channel):
    body = json.dumps(activity("My router keeps rebooting")).encode()
    headers = generic.sign(SECRET, b'{"type": "message"}')
    assert deliver(client, "partner", body, headers).status_code == 401
    assert deliver(client, "partner", body, {"X-Bridge-Timestamp": "abc"}).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.mark.parametrize("payload", [
    {"type": "message", "text": "no id", "author": {"id": "a"}},
    {"type": "message", "id": "x", "text": "no author"},
    {"type": "poke", "id": "x", "author": {"id": "a"}},
    {"activities": "not a list"},
    {"type": "message", "id": "x", "author": {"id": "a"}, "timestamp": "yesterday"},
])
def test_malformed_activities_are_400(client, channel, payload):
    response = send(client, payload)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bridge.payload"


# ---- end to end -------------------------------------------------------------------------------

def test_complaint_to_thread_to_ack_to_accepted_answer_back(client, channel, partner, users,
                                                            token_for):
    complaint = activity("I was charged for roaming in France. I never left the UK! "
                         "Please refund it.", id="tw-100")
    assert send(client, complaint).get_json() == {"received": 1, "stored": 1}
    thread = db.session.scalar(select(Thread))
    assert thread.title == "I was charged for roaming in France."
    assert thread.status == "unanswered"

    assert sending.run_once()["sent"] == 1
    ack = partner.sent("POST", "/replies")[0].json()
    assert ack["in_reply_to"] == "tw-100" and ack["to"] == "cust-1"
    assert ack["idempotency_key"].startswith("ack:")
    link = ack["text"].splitlines()[-1]
    assert link == f"http://localhost/threads/{thread.id}/i-was-charged-for-roaming-in-france"

    # The customer links their forum account? Not needed: staff answer, the asker's shadow
    # account cannot log in, so staff accept on their behalf.
    body = "Sorry about that. Roaming charges in France were a billing error; we refunded them."
    answer = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": body},
                         headers=token_for(users.helper))
    post_id = answer.get_json()["id"]
    assert sending.run_once().get("sent", 0) == 0  # an answer alone is not settled
    accepted = client.post(f"/api/v1/threads/{thread.id}/accept", json={"post_id": post_id},
                           headers=token_for(users.staff))
    assert accepted.status_code == 200, accepted.get_json()

    assert sending.run_once()["sent"] == 1
    reply = partner.sent("POST", "/replies")[-1].json()
    assert reply["in_reply_to"] == "tw-100"
    assert reply["idempotency_key"] == f"answer:{thread.id}:{post_id}"
    assert body in reply["text"] and reply["text"].splitlines()[-1] == link
    assert len(reply["text"]) <= 500
    # Settling again (endorse the same answer) owes nothing new.
    client.post(f"/api/v1/posts/{post_id}/endorse", headers=token_for(users.moderator))
    assert sending.run_once().get("sent", 0) == 0
    assert len(partner.sent("POST", "/replies")) == 2
    # Both over one connection, kept open between replies (as with the channels' real APIs).
    assert len({sent.connection for sent in partner.sent("POST", "/replies")}) == 1


def test_a_replaced_best_answer_is_cancelled_before_it_goes_out(client, channel, users, token_for):
    send(client, activity("Voicemail rings forever before picking up"))
    thread = db.session.scalar(select(Thread))
    first = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": "Reset voicemail."},
                        headers=token_for(users.helper)).get_json()["id"]
    second = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": "Dial *61*."},
                         headers=token_for(users.other)).get_json()["id"]
    staff = token_for(users.staff)
    client.post(f"/api/v1/threads/{thread.id}/accept", json={"post_id": first}, headers=staff)
    client.post(f"/api/v1/threads/{thread.id}/accept", json={"post_id": second}, headers=staff)
    states = dict(db.session.execute(select(OutboundMessage.post_id, OutboundMessage.state)
                                     .where(OutboundMessage.kind == "answer")).all())
    assert states == {first: "cancelled", second: "pending"}
    client.delete(f"/api/v1/threads/{thread.id}/accept", headers=staff)
    states = dict(db.session.execute(select(OutboundMessage.post_id, OutboundMessage.state)
                                     .where(OutboundMessage.kind == "answer")).all())
    assert states == {first: "cancelled", second: "cancelled"}


def test_the_answer_is_owed_in_the_same_transaction_as_the_acceptance(client, channel, users,
                                                                      token_for, app):
    """If the commit fails, no reply is owed; if it succeeds, the row is there (no gap)."""
    send(client, activity("Can't send picture messages"))
    thread = db.session.scalar(select(Thread))
    post_id = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": "Turn on MMS."},
                          headers=token_for(users.helper)).get_json()["id"]
    from community.services import answers
    from community.models import Post, User

    staff = db.session.get(User, users.staff.id)
    answers.accept(staff, db.session.get(Thread, thread.id), db.session.get(Post, post_id))
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)
                             .where(OutboundMessage.kind == "answer")) == 1


def test_duplicate_deliveries_racing_store_one_message(client, channel, app):
    payload = json.dumps({"activities": [activity(f"Problem {n} with my line", id=f"r{n}",
                                                  author=f"c{n}", conversation=f"conv-{n}")
                                         for n in range(5)]}).encode()

    def deliver_once(_):
        with app.test_client() as c:
            return deliver(c, "partner", payload, generic.sign(SECRET, payload)).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(deliver_once, range(8)))
    assert set(codes) == {200}
    assert db.session.scalars(select(InboundMessage.outcome)).all() == ["thread"] * 5
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 5
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 5


def test_look_alike_names_of_staff_get_a_neutral_name(client, channel, users):
    send(client, {**activity("Hello, I am support"), "author": {
        "id": "imp", "handle": users.staff.username.replace("o", "0"), "name": "Support"}})
    identity = db.session.scalar(select(ExternalIdentity))
    assert identity.shadow_user.username.startswith("customer")


# ---- linking an identity by a code sent through the channel ----------------------------------

def test_a_member_links_their_channel_identity_with_a_one_time_code(client, channel, users):
    login = client.post("/login", data={"csrf_token": csrf_token(client),
                                        "username": users.asker.username, "password": PASSWORD})
    assert login.status_code == 302
    page = client.get("/account/linked")
    assert page.status_code == 200
    token = _csrf(page.get_data(as_text=True))
    answer = client.post("/account/linked", data={"csrf_token": token})
    code = _code(answer.get_data(as_text=True))

    send(client, activity(f"link {code}", id="link-1"))
    identity = db.session.scalar(select(ExternalIdentity))
    assert identity.linked_user_id == users.asker.id
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 0
    send(client, activity("My voicemail PIN is locked", id="q-1"))
    thread = db.session.scalar(select(Thread))
    assert thread.author_id == users.asker.id  # now their own account asks
    # The code works once.
    send(client, activity(f"LINK {code}", id="link-2", author="someone-else"))
    other = db.session.scalar(select(ExternalIdentity).where(ExternalIdentity.external_id ==
                                                             "someone-else"))
    assert other.linked_user_id is None
    notices = db.session.scalars(select(OutboundMessage.text).where(
        OutboundMessage.kind == "notice")).all()
    assert any("linked" in n for n in notices) and any("not valid" in n for n in notices)


def _csrf(html: str) -> str:
    import re
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _code(html: str) -> str:
    import re
    return re.search(r"LINK ([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})", html).group(1)


# ---- crash safety: a real worker process killed between send and record ----------------------

def _worker_env(app, **extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "COMMUNITY_INSTANCE_PATH": app.instance_path,
        "COMMUNITY_SECRET_KEY": app.config["SECRET_KEY"],
        "COMMUNITY_SEARCH_BACKEND": "memory",
        "COMMUNITY_BASE_URL": app.config["BASE_URL"],
        "COMMUNITY_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",  # the partner is on 127.0.0.1
    })
    env.update({f"COMMUNITY_{k}": str(v) for k, v in extra.items()})
    return env


def _worker(app, **extra) -> subprocess.Popen:
    command = str(Path(sys.executable).with_name("community"))
    return subprocess.Popen([command, "bridge", "worker", "--once"],
                            env=_worker_env(app, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _kill_mid_send(app, partner) -> None:
    partner.hold_next()
    process = _worker(app)
    called = partner.held.wait(60)
    process.send_signal(signal.SIGKILL)  # the reply reached the channel; the worker never knew
    output, _ = process.communicate(timeout=30)
    partner.release.set()
    assert called, f"the worker never called the channel: {output}"


def test_while_a_burst_is_taken_in_the_acks_pause_between_batches(client, channel, partner,
                                                                   app, monkeypatch):
    """Sends make way for a burst's intake (workers/bridge.py send_replies): a pause before each
    batch of ten while the intake is in a burst, none otherwise; every ack goes out either way."""
    for n in range(25):
        send(client, activity(f"My line {n} has had no signal since this morning.",
                              id=f"burst-{n}", author=f"cust-{n}", conversation=f"conv-{n}"))
    pauses: list[float] = []
    monkeypatch.setattr(outbox, "sleep", pauses.append)
    monkeypatch.setattr(bridge_workers, "taking_in_burst", lambda: True)
    assert bridge_workers.send_replies()["sent"] == 25
    assert pauses == [app.config["BRIDGE_BURST_SEND_PAUSE"]] * 3  # batches of 10, 10 and 5

    send(client, activity("And my landline is dead too.", id="calm-1", author="cust-99",
                          conversation="conv-99"))
    monkeypatch.setattr(bridge_workers, "taking_in_burst", lambda: False)
    pauses.clear()
    assert bridge_workers.send_replies()["sent"] == 1
    assert pauses == []
    assert len(partner.sent("POST", "/replies")) == 26


def test_a_worker_killed_mid_send_never_sends_twice(client, channel, partner, app):
    send(client, activity("Bill shows calls I never made"))
    db.session.commit()
    _kill_mid_send(app, partner)
    db.session.expire_all()
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "sending" and row.external_id is None
    assert len(partner.sent("POST", "/replies")) == 1

    # Restarted within the lease: the row is left alone (it may be another live worker's).
    within_lease = _worker(app)
    output, _ = within_lease.communicate(timeout=60)
    assert within_lease.returncode == 0, output
    db.session.expire_all()
    assert db.session.scalar(select(OutboundMessage.state)) == "sending"

    # After the lease: the partner drops repeats by idempotency key, so it is sent again and the
    # customer still sees one reply.
    restarted = _worker(app, BRIDGE_SENDING_LEASE_SECONDS=0)
    output, _ = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, output
    db.session.expire_all()
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "sent" and row.external_id == "out-1"
    assert len(partner.seen) == 1


def test_with_lookup_a_crashed_send_is_found_instead_of_resent(client, ctx, partner, app):
    add_channel("generic", "partner", secret=SECRET, callback_url=partner.url + "/replies",
                lookup_url=partner.url + "/replies")
    send(client, activity("eSIM QR code says invalid"))
    db.session.commit()
    _kill_mid_send(app, partner)
    restarted = _worker(app, BRIDGE_SENDING_LEASE_SECONDS=0)
    output, _ = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, output
    db.session.expire_all()
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "sent" and row.external_id == "out-1"
    assert "found on the channel" in row.last_error
    assert len(partner.sent("POST", "/replies")) == 1  # looked up, not resent


def test_without_idempotency_or_lookup_a_crashed_send_waits_for_staff(ctx, app):
    from community.models import Channel

    add_channel("whatsapp", "wa", app_secret="s", verify_token="v", access_token="t",
                phone_number_id="1", api_base="http://127.0.0.1:9")
    channel = db.session.scalar(select(Channel))
    inbound = InboundMessage(channel_id=channel.id, external_id="wamid.x", kind="message",
                             sent_at=utcnow(), payload="{}", outcome="thread")
    db.session.add(inbound)
    db.session.flush()
    db.session.add(OutboundMessage(channel_id=channel.id, kind="ack", idempotency_key="ack:x",
                                   inbound_id=inbound.id, text="hi", state="sending",
                                   attempts=1, claimed_at=utcnow()))
    db.session.commit()
    app.config["BRIDGE_SENDING_LEASE_SECONDS"], saved = 0, app.config["BRIDGE_SENDING_LEASE_SECONDS"]
    try:
        assert sending.run_once()["reconciled_held"] == 1
    finally:
        app.config["BRIDGE_SENDING_LEASE_SECONDS"] = saved
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "held" and "cannot be asked" in row.last_error


def test_a_channel_api_with_an_untrusted_certificate_is_sent_nothing(tmp_path):
    """Replies go out over verified TLS only: a server whose certificate nobody vouches for (a
    self-signed one here) gets no request, and the failure is a plain one to reach it (nothing
    was sent, so retrying is safe), not an uncertain send."""
    require(shutil.which("openssl") is not None, "openssl makes the test's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler = adapter_for("generic", {
        "secret": SECRET, "callback_url": f"https://127.0.0.1:{server.server_port}/replies"}, {},
        private_targets=True)
    try:
        with pytest.raises(SendError, match="could not reach") as failed:
            handler.send(Reply(text="Thanks, we are on it.", recipient="cust-1",
                               conversation="conv-1", in_reply_to="m1", idempotency_key="ack:1"))
    finally:
        server.shutdown()
        server.server_close()
    assert "CERTIFICATE_VERIFY_FAILED" in str(failed.value) and not failed.value.permanent
    assert received == []
