"""Linking a channel identity to a member cannot be brute-forced (issue 14, item 1): codes are
long, random and single-use; wrong codes are limited per identity and per channel, after which
even the right code waits; the member is told of every link and can undo it in one click."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from community.extensions import db
from community.models import ExternalIdentity, InboundMessage, Thread
from community.models.base import utcnow
from community.services import bridge
from community.services.bridge.linking import CODE_ALPHABET
from community.workers import notifications as notification_workers
from tests.bridge.conftest import activity, send

CODE = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")


def _outcome(external_id: str) -> str:
    db.session.expire_all()
    return db.session.scalar(select(InboundMessage.outcome).where(
        InboundMessage.external_id == external_id))


def _identity(author: str) -> ExternalIdentity:
    db.session.expire_all()
    return db.session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.external_id == author))


def test_codes_are_long_random_and_grouped_for_typing(ctx, users):
    codes = {bridge.new_link_code(users.asker) for _ in range(50)}
    assert len(codes) == 50
    assert all(CODE.fullmatch(code) for code in codes), codes


def test_guessing_is_cut_off_per_identity_and_even_the_right_code_then_waits(
        client, channel, users, app, token_for):
    code = bridge.new_link_code(users.asker)
    for n in range(app.config["BRIDGE_LINK_FAILURES_PER_IDENTITY"]):
        send(client, activity(f"LINK 2222-3333-{n + 4}{n + 4}{n + 4}{n + 4}", id=f"guess-{n}",
                              author="mallory"))
        assert _outcome(f"guess-{n}") == "link_failed"
    send(client, activity(f"LINK {code}", id="right", author="mallory"))
    assert _outcome("right") == "link_blocked"
    assert _identity("mallory").linked_user_id is None
    # Staff see the refused attempts in the bridge log.
    log = client.get("/api/v1/bridge/inbound?limit=50", headers=token_for(users.staff))
    outcomes = [item["outcome"] for item in log.get_json()["items"]]
    assert outcomes.count("link_failed") == 5 and outcomes.count("link_blocked") == 1
    # After the hour the same account may try again (with a fresh code).
    db.session.execute(update(InboundMessage).values(received_at=utcnow() - timedelta(minutes=61)))
    db.session.commit()
    send(client, activity(f"link {bridge.new_link_code(users.asker).lower()}", id="later",
                          author="mallory"))
    assert _outcome("later") == "linked"
    assert _identity("mallory").linked_user_id == users.asker.id


def test_guessing_from_many_identities_is_cut_off_per_channel(client, channel, users, app,
                                                             monkeypatch):
    monkeypatch.setitem(app.config, "BRIDGE_LINK_FAILURES_PER_CHANNEL", 3)
    for n in range(3):
        send(client, activity("LINK 2345-6789-ABCD", id=f"g{n}", author=f"sock-{n}"))
    code = bridge.new_link_code(users.asker)
    send(client, activity(f"LINK {code}", id="fresh", author="fresh-identity"))
    assert _outcome("fresh") == "link_blocked"
    assert _identity("fresh-identity").linked_user_id is None


def test_the_member_is_told_by_email_and_unlinks_in_one_click(client, channel, users,
                                                                smtp_server):
    code = bridge.new_link_code(users.asker)
    send(client, activity(f"LINK {code}", id="link", author="cust-7"))
    assert notification_workers.flush()
    assert not notification_workers.failures(), notification_workers.failures()
    [message] = smtp_server.to(users.asker.email)
    assert "was linked" in message["Subject"]
    body = message.get_content()
    unlink = re.search(r"http://localhost(/account/unlink/\S+)", body).group(1)
    assert client.get(unlink).status_code == 200  # a GET only asks (mail scanners open links)
    assert _identity("cust-7").linked_user_id == users.asker.id
    assert client.post(unlink).status_code == 200
    assert _identity("cust-7").linked_user_id is None
    # Its next message is the customer's own again, not the member's.
    send(client, activity("My roaming stopped in Spain yesterday", id="q", author="cust-7",
                          conversation="conv-q"))
    db.session.expire_all()
    assert db.session.scalar(select(Thread.author_id)) != users.asker.id
    # The link is spent: the same click does nothing more.
    assert client.post(unlink).status_code == 404


def test_members_unlink_their_own_identities_only(client, channel, users, token_for):
    code = bridge.new_link_code(users.asker)
    send(client, activity(f"LINK {code}", id="link", author="cust-8"))
    identity = _identity("cust-8")
    listed = client.get("/api/v1/me/linked-identities", headers=token_for(users.asker))
    assert [item["id"] for item in listed.get_json()["items"]] == [identity.id]
    other = client.delete(f"/api/v1/me/linked-identities/{identity.id}",
                          headers=token_for(users.helper))
    assert other.status_code == 404
    assert client.delete(f"/api/v1/me/linked-identities/{identity.id}").status_code == 401
    mine = client.delete(f"/api/v1/me/linked-identities/{identity.id}",
                         headers=token_for(users.asker))
    assert mine.status_code == 204
    assert _identity("cust-8").linked_user_id is None
