"""Mastodon: notifications polled from a fake instance that serves statuses recorded against a
real Mastodon server (Mastodon.py's cassettes); replies posted to it."""

from __future__ import annotations

import copy
import html
import itertools
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from community.bridge.text import URL_RE, links_as_23
from community.extensions import db
from community.models import Channel, InboundMessage, OutboundMessage, Post, Thread
from community.models.base import utcnow
from community.services import bridge
from community.services.bridge import sending
from tests.bridge.conftest import Answer, add_channel, deliver
from tests.conftest import require

TOKEN = "mastodon-token"
# Our account is team-written; everyone in the recordings is a customer.
OUR_ACCOUNT = {"id": "110000000000000001", "username": "support", "acct": "support",
               "display_name": "Support Team", "url": "http://localhost:3000/@support"}
_status_ids = itertools.count(118000000000000001)


def cassette(payloads, name: str) -> list[dict]:
    """A vcrpy cassette's interactions as (method, uri, request body, status, JSON answer)."""
    recorded = _yaml().safe_load((payloads / f"{name}.mastodonpy.yaml").read_text())
    return [{"method": i["request"]["method"], "uri": i["request"]["uri"],
             "body": i["request"]["body"], "status": i["response"]["status"]["code"],
             "json": json.loads(i["response"]["body"]["string"])}
            for i in recorded["interactions"]]


def _yaml():
    try:
        import yaml
    except ImportError:  # pyyaml is in the [test] extra
        require(False, "pyyaml is needed to read the Mastodon cassettes")
    return yaml


def render(text: str) -> str:
    """Status text as Mastodon stores it: HTML, the leading @acct as an h-card link, URLs as
    links showing a shortened address, paragraphs and line breaks."""
    def link(match):
        url = match.group(0)
        scheme, rest = url.split("://", 1)
        return (f'<a href="{url}" target="_blank" rel="nofollow noopener" translate="no">'
                f'<span class="invisible">{scheme}://</span><span class="ellipsis">{rest[:30]}'
                f'</span><span class="invisible">{rest[30:]}</span></a>')
    escaped = URL_RE.sub(link, html.escape(text, quote=False))
    escaped = re.sub(r"^@([\w.-]+)", lambda m: (
        f'<span class="h-card" translate="no"><a href="http://localhost:3000/@{m.group(1)}" '
        f'class="u-url mention">@<span>{m.group(1)}</span></a></span>'), escaped)
    paragraphs = escaped.split("\n\n")
    return "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs)


class FakeMastodon:
    """A Mastodon instance's notifications and statuses endpoints over an in-memory store.

    New statuses are built on a status the real server answered (so they carry every field a
    real one does). `POST /api/v1/statuses` checks the token, the length, that the status
    replied to exists (else the recorded 404) and drops repeats by `Idempotency-Key`.
    """

    def __init__(self, api, template: dict, missing: dict, char_limit: int = 500) -> None:
        self.api = api
        self.template = template
        self.missing = missing
        self.char_limit = char_limit
        self.statuses: dict[str, dict] = {}
        self.notifications: list[dict] = []
        self.keys: dict[str, str] = {}
        self._notification_ids = itertools.count(22)  # the recording's is 21
        api.route("GET", "/api/v1/notifications", self._list)
        api.route("POST", "/api/v1/statuses", self._create)

    @property
    def url(self) -> str:
        return self.api.url

    def notify(self, status: dict, kind: str = "mention", notification_id: str | None = None):
        self.keep(status)
        self.notifications.append({
            "id": notification_id or str(next(self._notification_ids)), "type": kind,
            "created_at": status["created_at"], "group_key": f"ungrouped-{len(self.notifications)}",
            "account": status["account"], "status": status})
        return status["id"]

    def status(self, content: str, account: dict, *, in_reply_to: str | None = None,
               visibility: str = "public", **fields) -> dict:
        status = copy.deepcopy(self.template)
        status_id = str(next(_status_ids))
        parent = self.statuses.get(in_reply_to or "")
        status.update({
            "id": status_id, "content": content, "visibility": visibility,
            "in_reply_to_id": in_reply_to,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None,
            "created_at": utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "url": f"http://localhost:3000/@{account['acct']}/{status_id}",
            "uri": f"http://localhost:3000/users/{account['acct']}/statuses/{status_id}",
            "account": {**status["account"], **account}, "mentions": [], "text": None, **fields})
        status.pop("text")
        return self.keep(status)

    def keep(self, status: dict) -> dict:
        """Know a status (replies to it are accepted; its replies are listed in its context)."""
        self.statuses[status["id"]] = status
        self.api.route("GET", f"/api/v1/statuses/{status['id']}/context",
                       lambda request: self._context(request, status["id"]))
        return status

    def _context(self, request, status_id: str):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Answer(401, {"error": "The access token is invalid"})
        if status_id not in self.statuses:
            return Answer(404, self.missing)
        descendants, level = [], {status_id}
        while level:
            level = {s["id"] for s in self.statuses.values() if s["in_reply_to_id"] in level}
            descendants += [self.statuses[i] for i in sorted(level)]
        return Answer(200, {"ancestors": [], "descendants": descendants})

    def _list(self, request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Answer(401, {"error": "The access token is invalid"})
        types = request.query.get("types[]", [])
        limit = min(int(request.query.get("limit", ["40"])[0]), 40)
        since = int(request.query.get("since_id", ["0"])[0])
        below = int(request.query.get("max_id", [str(10**30)])[0])
        found = sorted((n for n in self.notifications
                        if (not types or n["type"] in types) and since < int(n["id"]) < below),
                       key=lambda n: -int(n["id"]))
        return Answer(200, found[:limit])

    def _create(self, request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Answer(401, {"error": "The access token is invalid"})
        key = request.headers.get("idempotency-key")
        if key in self.keys:
            return Answer(200, self.statuses[self.keys[key]])
        body = request.json()
        text = body.get("status") or ""
        if not text:
            return Answer(422, {"error": "Validation failed: Text can't be blank"})
        if links_as_23(text) > self.char_limit:
            return Answer(422, {"error": "Validation failed: Text character limit of "
                                         f"{self.char_limit} exceeded"})
        if body.get("in_reply_to_id") and body["in_reply_to_id"] not in self.statuses:
            return Answer(404, self.missing)
        if body.get("visibility") not in (None, "public", "unlisted", "private", "direct"):
            return Answer(422, {"error": "Validation failed: Visibility is not included"})
        status = self.status(render(text), OUR_ACCOUNT, in_reply_to=body.get("in_reply_to_id"),
                             visibility=body.get("visibility") or "public")
        if key:
            self.keys[key] = status["id"]
        return Answer(200, status)


@pytest.fixture
def recordings(payloads):
    return {name: cassette(payloads, name) for name in (
        "mastodon_notifications_mentions", "mastodon_status_reply", "mastodon_status_edit",
        "mastodon_status_post_direct", "mastodon_status_missing_404")}


@pytest.fixture
def instance(fake_api, recordings):
    reply = recordings["mastodon_status_reply"][2]
    assert reply["method"] == "POST" and reply["json"]["in_reply_to_id"]
    [missing] = recordings["mastodon_status_missing_404"]
    assert missing["status"] == 404
    return FakeMastodon(fake_api, reply["json"], missing["json"])


@pytest.fixture
def channel(ctx, instance):
    return add_channel("mastodon", "masto", access_token=TOKEN, account_id=OUR_ACCOUNT["id"],
                       api_base=instance.url)


@pytest.fixture
def recorded_mention(instance, recordings):
    """The notification a real server listed for `GET /api/v1/notifications?types[]=mention`."""
    listing = recordings["mastodon_notifications_mentions"][1]
    assert "types%5B%5D=mention" in listing["uri"]
    [notification] = listing["json"]
    instance.notifications.append(notification)
    instance.keep(notification["status"])
    return notification


def customer_account(instance) -> dict:
    """The account of the recorded reply's author (a customer here)."""
    return dict(instance.template["account"])


def poll_now(channel: Channel):
    channel.cursor = {**channel.cursor, "polled_at": 0}
    db.session.commit()
    return sending.run_once()


def outcome(external_id: str) -> str:
    return db.session.scalar(select(InboundMessage.outcome).where(
        InboundMessage.external_id == external_id))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def sent_statuses(instance) -> list:
    return instance.api.sent("POST", "/api/v1/statuses")


# ---- polling ---------------------------------------------------------------------------------

def test_recorded_mention_becomes_a_thread_acked_in_reply(channel, instance, recorded_mention):
    counts = sending.run_once()
    assert counts["polled"] == 1 and counts["sent"] == 1
    [listing] = instance.api.sent("GET", "/api/v1/notifications")
    assert listing.query["types[]"] == ["mention", "update"] and "since_id" not in listing.query
    assert listing.headers["authorization"] == f"Bearer {TOKEN}"

    status = recorded_mention["status"]
    row = db.session.scalar(select(InboundMessage))
    assert row.external_id == status["id"] and row.outcome == "thread"
    # HTML turned into text; the leading @mention (a link in the HTML) is not the body.
    assert row.text == "hello!" and row.url == status["url"]
    assert row.extra == {"visibility": "public"}
    assert row.identity.handle == "admin" and row.identity.external_id == status["account"]["id"]
    thread = row.thread
    assert thread.question.body_source == "hello!" and thread.tag_names == ["mastodon"]

    [ack] = sent_statuses(instance)
    body = ack.json()
    assert ack.headers["authorization"] == f"Bearer {TOKEN}"
    assert ack.headers["idempotency-key"] == f"ack:{row.id}"
    assert body["in_reply_to_id"] == status["id"]
    assert body["visibility"] == "unlisted"  # never wider than the public original
    assert body["status"].startswith("@admin Thanks")
    assert body["status"].splitlines()[-1].startswith(f"http://localhost/threads/{thread.id}/")
    assert links_as_23(body["status"]) <= 500

    db.session.refresh(channel)
    assert channel.cursor["since_id"] == recorded_mention["id"]
    poll_now(channel)
    again = instance.api.sent("GET", "/api/v1/notifications")[-1]
    assert again.query["since_id"] == [recorded_mention["id"]]
    assert count(InboundMessage) == 1 and count(Thread) == 1


def test_backlog_is_paged_with_max_id_within_since_id(channel, instance, recorded_mention):
    bridge.poll(channel)
    people = customer_account(instance)
    ids = [instance.notify(instance.status(f"<p>Problem {n}: my order has not arrived</p>",
                                           people)) for n in range(45)]
    assert bridge.poll(channel).stored == 45
    pages = instance.api.sent("GET", "/api/v1/notifications")[1:]
    assert [p.query.get("max_id") for p in pages] == [None, [instance.notifications[6]["id"]]]
    assert all(p.query["since_id"] == [recorded_mention["id"]] for p in pages)
    stored = list(db.session.scalars(select(InboundMessage.external_id)
                                     .order_by(InboundMessage.id)))
    assert stored == [recorded_mention["status"]["id"], *ids]  # oldest first
    assert channel.cursor["since_id"] == instance.notifications[-1]["id"]


def test_a_failed_poll_keeps_nothing(channel, instance, recorded_mention):
    instance.api.fail_next(Answer(503, {"error": "Service Unavailable"}))
    assert sending.run_once()["polled"] == 0
    assert count(InboundMessage) == 0
    db.session.refresh(channel)
    assert "since_id" not in channel.cursor


def test_webhook_deliveries_are_refused(client, channel):
    assert deliver(client, "masto", b"[]").status_code == 401
    assert count(InboundMessage) == 0


# ---- visibility ------------------------------------------------------------------------------

@pytest.mark.parametrize("theirs,ours", [("public", "unlisted"), ("unlisted", "unlisted"),
                                         ("private", "private"), ("direct", "direct")])
def test_replies_are_never_more_visible_than_the_status(channel, instance, recorded_mention,
                                                        theirs, ours):
    recorded_mention["status"]["visibility"] = theirs
    sending.run_once()
    [ack] = sent_statuses(instance)
    assert ack.json()["visibility"] == ours


def test_the_recorded_direct_status_is_answered_directly(channel, instance, recordings):
    direct = recordings["mastodon_status_post_direct"][0]["json"]
    assert direct["visibility"] == "direct"
    # Team-written: the recorded direct toot, addressed to us.
    direct["content"] = ('<p><span class="h-card"><a href="http://localhost:3000/@support" '
                         'class="u-url mention">@<span>support</span></a></span> '
                         + direct["content"][3:])
    instance.notify(direct)
    sending.run_once()
    assert outcome(direct["id"]) == "thread"
    [ack] = sent_statuses(instance)
    assert ack.json()["visibility"] == "direct"
    assert ack.json()["status"].startswith(f"@{direct['account']['acct']} ")


# ---- conversations, edits, echoes, staff replies ------------------------------------------------

def test_replies_join_the_thread_and_our_own_statuses_are_not_customer_posts(
        channel, instance, recorded_mention):
    sending.run_once()
    ack = db.session.scalar(select(OutboundMessage))
    thread = db.session.scalar(select(Thread))
    original = recorded_mention["status"]
    admin = original["account"]

    to_ack = instance.notify(instance.status(
        '<p><span class="h-card"><a href="http://localhost:3000/@support" class="u-url mention">'
        '@<span>support</span></a></span> it is order <strong>7781</strong> &amp; it was paid</p>',
        admin, in_reply_to=ack.external_id))
    echo = instance.notify(instance.statuses[ack.external_id])
    native = instance.notify(instance.status(
        "<p>@admin We found order 7781 &amp; it ships today.</p>", OUR_ACCOUNT,
        in_reply_to=original["id"]))
    poll_now(channel)

    assert outcome(to_ack) == "joined" and outcome(echo) == "echo"
    assert outcome(native) == "staff_reply"
    db.session.refresh(thread)
    assert [c.body_source for c in thread.question.comments] == ["it is order 7781 & it was paid"]
    [answer] = thread.answers
    assert answer.author_id == channel.staff_user_id
    assert answer.body_source == "We found order 7781 & it ships today."
    assert count(Thread) == 1 and count(OutboundMessage) == 1


def test_the_recorded_edit_revises_the_question(channel, instance, recordings):
    original, edited = recordings["mastodon_status_edit"][0]["json"], \
        recordings["mastodon_status_edit"][2]["json"]
    assert original["id"] == edited["id"] and edited["edited_at"]
    instance.notify(original)
    sending.run_once()
    thread = db.session.scalar(select(Thread))
    assert thread.question.body_source == "the best editor? why, of course it is VS Code"

    instance.notify(edited, kind="update")
    poll_now(channel)
    edit = db.session.scalar(select(InboundMessage).where(InboundMessage.kind == "edit"))
    assert edit.outcome == "edited" and edit.reply_to == original["id"]
    assert edit.external_id == f"edit:{edited['id']}:{edited['edited_at']}"
    db.session.refresh(thread)
    assert thread.question.body_source == \
        "the best editor? why, of course it is the KDE Advanced Text Editor, Kate"
    assert count(Thread) == 1 and count(OutboundMessage) == 1


def test_media_and_content_warnings_are_kept(channel, instance):
    attachment = {"id": "9", "type": "image", "url": "http://localhost:3000/media/receipt.png",
                  "preview_url": "http://localhost:3000/media/small.png", "description": "receipt"}
    status = instance.status("<p>@support the charge is on this receipt</p>",
                             customer_account(instance), spoiler_text="billing",
                             media_attachments=[attachment])
    instance.notify(status)
    sending.run_once()
    row = db.session.scalar(select(InboundMessage))
    assert row.text == "billing\n\nthe charge is on this receipt"
    assert row.media == [{"url": attachment["url"], "type": "image"}]
    assert attachment["url"] in row.thread.question.body_source


# ---- replies out -----------------------------------------------------------------------------

def test_end_to_end_answer_fits_with_the_mention(client, ctx, instance, recorded_mention,
                                                 users, token_for):
    instance.char_limit = 200
    channel = add_channel("mastodon", "masto", access_token=TOKEN, account_id=OUR_ACCOUNT["id"],
                          api_base=instance.url, char_limit="200")
    sending.run_once()
    thread = db.session.scalar(select(Thread))
    answer = client.post(f"/api/v1/threads/{thread.id}/answers",
                         json={"body": "Restart the router, then " + "check the lights " * 30},
                         headers=token_for(users.staff))
    assert answer.status_code == 201
    accepted = client.post(f"/api/v1/threads/{thread.id}/accept",
                           json={"post_id": answer.get_json()["id"]},
                           headers=token_for(users.staff))
    assert accepted.status_code == 200, accepted.get_json()
    assert sending.run_once()["sent"] == 1
    request = sent_statuses(instance)[-1]
    body = request.json()
    assert request.headers["idempotency-key"] == \
        f"answer:{thread.id}:{answer.get_json()['id']}"
    assert body["in_reply_to_id"] == recorded_mention["status"]["id"]
    assert body["visibility"] == "unlisted"
    text = body["status"]
    assert text.startswith("@admin Answer from our team:")
    last = text.splitlines()[-1]
    assert URL_RE.fullmatch(last) and last.startswith(f"http://localhost/threads/{thread.id}/")
    assert "…" in text and 180 < links_as_23(text) <= 200
    assert db.session.scalar(select(OutboundMessage.state).where(
        OutboundMessage.kind == "answer")) == "sent"
    assert channel.settings["char_limit"] == "200"


def test_rate_limited_reply_waits_for_the_reset(channel, instance, recorded_mention):
    bridge.poll(channel)
    reset = datetime.now(UTC) + timedelta(minutes=15)
    instance.api.fail_next(Answer(429, {"error": "Too many requests"}, {
        "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))
    assert sending.run_once()["pending"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.attempts == 1 and "429" in row.last_error
    assert row.next_attempt_at >= utcnow() + timedelta(minutes=10)


def test_reply_to_a_deleted_status_fails_at_once_with_the_404(channel, instance,
                                                              recorded_mention):
    bridge.poll(channel)
    del instance.statuses[recorded_mention["status"]["id"]]
    assert sending.run_once()["failed"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.attempts == 1 and "HTTP 404 from" in row.last_error


@pytest.fixture
def no_lease(app):
    saved = app.config["BRIDGE_SENDING_LEASE_SECONDS"]
    app.config["BRIDGE_SENDING_LEASE_SECONDS"] = 0
    yield
    app.config["BRIDGE_SENDING_LEASE_SECONDS"] = saved


def test_crash_after_the_status_was_posted_is_found_and_not_sent_again(
        channel, instance, recorded_mention, no_lease):
    bridge.poll(channel)
    [row_id] = sending.claim(10)
    row = db.session.get(OutboundMessage, row_id)
    first = bridge.adapter(channel).send(sending.reply_for(row))  # reached the server; then died
    instance.keys.clear()  # more than an hour later: Mastodon has forgotten the key
    counts = sending.run_once()
    assert counts["reconciled_sent"] == 1 and counts.get("sent", 0) == 0
    [context] = instance.api.sent("GET", f"/api/v1/statuses/{row.inbound.external_id}/context")
    assert context.headers["authorization"] == f"Bearer {TOKEN}"
    assert len(sent_statuses(instance)) == 1
    db.session.refresh(row)
    assert row.state == "sent" and row.external_id == first
    assert count(Post) == 1


def test_crash_before_the_status_was_posted_is_sent_once(channel, instance, recorded_mention,
                                                        no_lease):
    bridge.poll(channel)
    sending.claim(10)  # claimed, then the worker died before calling the instance
    counts = sending.run_once()
    assert counts["reconciled_pending"] == 1 and counts["sent"] == 1
    [request] = sent_statuses(instance)
    row = db.session.scalar(select(OutboundMessage))
    assert request.headers["idempotency-key"] == row.idempotency_key
    assert row.state == "sent" and row.attempts == 2


def test_an_unanswered_send_is_resent_with_the_same_key_and_posts_once(
        channel, instance, recorded_mention):
    """No answer came back (SendUncertain): the resend carries the same key, so the instance
    gives back the status it already made instead of a second one."""
    bridge.poll(channel)
    [row_id] = sending.claim(10)
    row = db.session.get(OutboundMessage, row_id)
    first = bridge.adapter(channel).send(sending.reply_for(row))
    row.state, row.next_attempt_at = "pending", utcnow()  # as sending._uncertain leaves it
    db.session.commit()
    assert sending.run_once()["sent"] == 1
    requests = sent_statuses(instance)
    assert len(requests) == 2
    assert {r.headers["idempotency-key"] for r in requests} == {row.idempotency_key}
    ours = [s for s in instance.statuses.values() if s["account"]["id"] == OUR_ACCOUNT["id"]]
    assert len(ours) == 1
    db.session.refresh(row)
    assert row.state == "sent" and row.external_id == first


def test_lookup_tells_the_ack_and_the_answer_apart(channel, instance, recorded_mention):
    sending.run_once()
    row = db.session.scalar(select(OutboundMessage))
    adapter = bridge.adapter(channel)
    reply = sending.reply_for(row)
    assert adapter.lookup(reply) == row.external_id
    assert adapter.lookup(replace(reply, text="Answer from our team:\n\nsomething")) is None
    assert adapter.lookup(replace(reply, in_reply_to=row.external_id)) is None
