"""X: mentions polled from a fake X API v2 (serving the recorded tweets), replies posted to it."""

from __future__ import annotations

import html
import itertools
import json
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.bridge.text import URL_RE, x_weighted_length
from community.extensions import db
from community.models import Channel, InboundMessage, OutboundMessage, Post, Thread
from community.models.base import utcnow
from community.services import bridge
from community.services.bridge import sending
from tests.bridge.conftest import Answer, add_channel, deliver

HERE = Path(__file__).parent
OUR_ID = "783214"           # @Twitter: the account whose mentions were recorded
READ_TOKEN = "x-app-bearer"
WRITE_TOKEN = "x-user-token"
REQUIRED_FIELDS = {"author_id", "conversation_id", "created_at", "referenced_tweets"}
_ids = itertools.count(1700000000000000001)


def new_id() -> str:
    return str(next(_ids))


class FakeX:
    """The parts of X API v2 the adapter uses, over an in-memory store of tweets.

    Timelines answer newest first, at most `page_size` per page with `meta.next_token`, honour
    `since_id`, and join `includes.users` for `expansions=author_id`. `POST /2/tweets` checks
    the user-context token, the weighted length and that the tweet replied to exists, then
    stores the reply as X would show it: `@handle ` in front, `&` escaped, links on t.co.
    """

    def __init__(self, api) -> None:
        self.api = api
        self.tweets: dict[str, dict] = {}
        self.users: dict[str, dict] = {OUR_ID: {"id": OUR_ID, "username": "Twitter",
                                                 "name": "Twitter"}}
        self.page_size = 100
        api.route("GET", f"/2/users/{OUR_ID}/mentions", self._mentions)
        api.route("GET", f"/2/users/{OUR_ID}/tweets", self._own)
        api.route("POST", "/2/tweets", self._create)

    @property
    def url(self) -> str:
        return self.api.url

    def add_user(self, user_id: str, username: str, name: str) -> None:
        self.users[user_id] = {"id": user_id, "username": username, "name": name}

    def add(self, text: str, author: str, *, tweet_id: str | None = None,
            replied_to: str | None = None, conversation: str | None = None,
            created_at: str | None = None, entities: dict | None = None) -> str:
        tweet_id = tweet_id or new_id()
        parent = self.tweets.get(replied_to or "")
        tweet = {"id": tweet_id, "text": text, "author_id": author,
                 "edit_history_tweet_ids": [tweet_id],
                 "created_at": created_at or utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                 "conversation_id": conversation or (parent or {}).get("conversation_id")
                 or tweet_id}
        if replied_to:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
            tweet["in_reply_to_user_id"] = (parent or {}).get("author_id", "1")
        if entities:
            tweet["entities"] = entities
        self.tweets[tweet_id] = tweet
        return tweet_id

    def mentions_us(self, tweet: dict) -> bool:
        return tweet["author_id"] != OUR_ID and "@twitter" in tweet["text"].lower()

    # ---- endpoints ------------------------------------------------------------------------

    def _mentions(self, request):
        return self._timeline(request, [t for t in self.tweets.values() if self.mentions_us(t)])

    def _own(self, request):
        return self._timeline(request, [t for t in self.tweets.values()
                                        if t["author_id"] == OUR_ID])

    def _timeline(self, request, tweets):
        if request.headers.get("authorization") not in (f"Bearer {READ_TOKEN}",
                                                        f"Bearer {WRITE_TOKEN}"):
            return Answer(401, {"title": "Unauthorized", "status": 401})
        query = {k: v[0] for k, v in request.query.items()}
        fields = set(query.get("tweet.fields", "").split(","))
        if not REQUIRED_FIELDS <= fields:
            return Answer(400, {"title": "the adapter must ask for the fields it reads"})
        since = int(query.get("since_id", 0))
        tweets = sorted((t for t in tweets if int(t["id"]) > since), key=lambda t: -int(t["id"]))
        start = int(query.get("pagination_token", "0") or 0)
        size = min(self.page_size, int(query.get("max_results", 10)))
        page = tweets[start:start + size]
        if not page:
            return Answer(200, {"meta": {"result_count": 0}})
        meta = {"result_count": len(page), "newest_id": page[0]["id"],
                "oldest_id": page[-1]["id"]}
        if start + size < len(tweets):
            meta["next_token"] = str(start + size)
        body = {"data": page, "meta": meta}
        if query.get("expansions") == "author_id":
            body["includes"] = {"users": [self.users[a] for a in
                                          sorted({t["author_id"] for t in page})
                                          if a in self.users]}
        return Answer(200, body)

    def _create(self, request):
        if request.headers.get("authorization") != f"Bearer {WRITE_TOKEN}":
            return Answer(403, {"title": "Unsupported Authentication", "status": 403})
        body = request.json()
        text = body.get("text") or ""
        if not text or x_weighted_length(text) > 280:
            return Answer(400, {"title": "Invalid Request",
                                "detail": "Your Tweet text is too long."})
        parent = self.tweets.get(body.get("reply", {}).get("in_reply_to_tweet_id", ""))
        if body.get("reply") and parent is None:
            return Answer(400, {"title": "Invalid Request", "detail":
                                "Tweet to reply to has been deleted or is not visible to you."})
        urls, shown = [], html.escape(text, quote=False)
        for number, link in enumerate(URL_RE.findall(text)):
            short = f"https://t.co/fake{number:04d}"
            shown = shown.replace(html.escape(link, quote=False), short, 1)
            urls.append({"url": short, "expanded_url": link, "display_url": link[8:30]})
        if parent:
            shown = f"@{self.users[parent['author_id']]['username']} {shown}"
        tweet_id = self.add(shown, OUR_ID, replied_to=parent and parent["id"],
                            entities={"urls": urls} if urls else None)
        return Answer(201, {"data": {"id": tweet_id, "text": shown,
                                     "edit_history_tweet_ids": [tweet_id]}})


@pytest.fixture
def x_api(fake_api):
    return FakeX(fake_api)


@pytest.fixture
def channel(ctx, x_api):
    return add_channel("x", "tw", access_token=WRITE_TOKEN, bearer_token=READ_TOKEN,
                       user_id=OUR_ID, api_base=x_api.url)


@pytest.fixture
def recorded(x_api, payloads):
    """The recorded mentions page, with the fields it lacks joined from our payload file."""
    [interaction] = json.loads(
        (payloads / "decoded" / "x_v2_users_mentions.decoded.json").read_text())
    page = json.loads(interaction["response_body"])
    fields = json.loads((HERE / "payloads" / "x_mentions_fields.json").read_text())
    for user in fields["users"]:
        x_api.add_user(user["id"], user["username"], user["name"])
    for tweet in page["data"]:
        extra = fields["tweets"][tweet["id"]]
        x_api.add(tweet["text"], extra["author_id"], tweet_id=tweet["id"],
                  created_at=extra["created_at"], conversation=extra.get("conversation_id"),
                  replied_to=extra.get("replied_to"))
    x_api.page_size = page["meta"]["result_count"]
    return page


def customer(x_api, text="@Twitter my bill &amp; my refund are both wrong. Can you help?",
             **kwargs) -> str:
    x_api.add_user("42", "priya_k", "Priya K")
    return x_api.add(text, "42", **kwargs)


def poll_now(channel: Channel):
    """Make the channel due, then run the worker once (poll, reconcile, send)."""
    channel.cursor = {**channel.cursor, "polled_at": 0}
    db.session.commit()
    return sending.run_once()


def outcome(external_id: str) -> str:
    return db.session.scalar(select(InboundMessage.outcome).where(
        InboundMessage.external_id == external_id))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---- polling ---------------------------------------------------------------------------------

def test_recorded_mentions_become_threads_and_the_cursor_is_honoured(channel, x_api, recorded):
    counts = sending.run_once()
    assert counts["polled"] == 10
    mentions = x_api.api.sent("GET", f"/2/users/{OUR_ID}/mentions")
    assert len(mentions) == 1 and "since_id" not in mentions[0].query
    assert mentions[0].headers["authorization"] == f"Bearer {READ_TOKEN}"
    assert "author_id" in mentions[0].query["expansions"][0]

    assert count(Thread) == 10 and counts["sent"] == 10  # one ack each, sent in the same round
    row = db.session.scalar(select(InboundMessage).where(
        InboundMessage.external_id == "1578516220231397376"))
    assert row.outcome == "thread" and row.conversation == "1578516220231397376"
    assert row.url == "https://x.com/emoji_fan/status/1578516220231397376"
    # The escaped surrogate pair is one emoji, and the @mention X put in front is not the body.
    assert row.thread.question.body_source == "make \U0001F928 an available reaction emoji in dms"
    assert row.identity.handle == "emoji_fan" and row.identity.display_name == "Jo Emoji"
    reply = db.session.scalar(select(InboundMessage).where(
        InboundMessage.external_id == "1578516242867945475"))
    assert reply.reply_to == "1578501111111111111" and reply.text == "what the fuck???"
    db.session.refresh(channel)
    assert channel.cursor["since_id"] == recorded["meta"]["newest_id"]
    assert channel.cursor["polled_at"] > 0

    # Not due again until poll_seconds have passed; when due, since_id is sent, nothing is new.
    assert sending.run_once()["polled"] == 0
    assert len(x_api.api.sent("GET", f"/2/users/{OUR_ID}/mentions")) == 1
    poll_now(channel)
    second = x_api.api.sent("GET", f"/2/users/{OUR_ID}/mentions")[-1]
    assert second.query["since_id"] == [recorded["meta"]["newest_id"]]
    assert count(Thread) == 10 and count(Post) == 10
    # What is new is our own ten acks, from our timeline: echoes, not posts.
    acks = set(db.session.scalars(select(OutboundMessage.external_id)))
    rows = db.session.scalars(select(InboundMessage).where(InboundMessage.id > 10)).all()
    assert {r.external_id for r in rows} == acks and {r.outcome for r in rows} == {"echo"}


def test_a_tweet_without_the_requested_fields_is_kept_but_not_posted(channel, x_api, payloads):
    """The recording itself (no author_id: tweepy did not ask) must not break intake."""
    [interaction] = json.loads(
        (payloads / "decoded" / "x_v2_users_mentions.decoded.json").read_text())
    page = json.loads(interaction["response_body"])
    x_api.api.route("GET", f"/2/users/{OUR_ID}/mentions", lambda r: Answer(200, page))
    x_api.api.route("GET", f"/2/users/{OUR_ID}/tweets", lambda r: Answer(200, {"meta": {}}))
    assert bridge.poll(channel).stored == 10
    assert count(Thread) == 0
    assert set(db.session.scalars(select(InboundMessage.outcome))) == {"ignored"}


def test_backlog_is_paged_through_with_next_token(channel, x_api):
    first = customer(x_api, "@Twitter first")
    bridge.poll(channel)
    x_api.page_size = 4
    later = [customer(x_api, f"@Twitter problem number {n} with my router") for n in range(10)]
    receipt = bridge.poll(channel)
    assert receipt.stored == 10
    pages = x_api.api.sent("GET", f"/2/users/{OUR_ID}/mentions")[1:]
    assert len(pages) == 3 and all(p.query["since_id"] == [first] for p in pages)
    assert [p.query.get("pagination_token") for p in pages] == [None, ["4"], ["8"]]
    assert channel.cursor["since_id"] == later[-1]
    # Taken in oldest first.
    stored = db.session.scalars(select(InboundMessage.external_id).order_by(InboundMessage.id))
    assert list(stored) == [first, *later]


def test_a_failed_poll_keeps_nothing_and_the_cursor(channel, x_api):
    customer(x_api)
    reset = str(int(time.time()) + 900)
    x_api.api.fail_next(Answer(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": reset}))
    counts = sending.run_once()
    assert counts["polled"] == 0 and count(InboundMessage) == 0
    db.session.refresh(channel)
    assert "since_id" not in channel.cursor
    # Not polled again before X's reset time...
    assert channel.cursor["polled_at"] + bridge.adapter(channel).poll_seconds >= int(reset) - 5
    assert sending.run_once()["polled"] == 0
    assert len(x_api.api.sent("GET", f"/2/users/{OUR_ID}/mentions")) == 1
    # ...and then from the same (empty) cursor.
    assert poll_now(channel)["polled"] == 1


def test_webhook_deliveries_are_refused(client, channel):
    response = deliver(client, "tw", b'{"data": []}')
    assert response.status_code == 401
    assert count(InboundMessage) == 0


def test_settings_are_checked(ctx):
    from community.services.errors import Invalid
    with pytest.raises(Invalid):
        add_channel("x", "x2", access_token=WRITE_TOKEN)  # no user_id


# ---- conversations, echoes, staff replies -------------------------------------------------------

def test_replies_join_threads_echoes_are_ignored_and_native_staff_replies_are_answers(
        channel, x_api):
    original = customer(x_api)
    sending.run_once()  # thread + ack sent
    ack = db.session.scalar(select(OutboundMessage))
    assert ack.state == "sent" and ack.external_id in x_api.tweets

    thread = db.session.scalar(select(Thread))
    to_ack = customer(x_api, "@Twitter thanks, it is account 5521", replied_to=ack.external_id)
    own_reply = customer(x_api, "@Twitter also the app shows an error", replied_to=original)
    x_api.add_user("77", "bystander", "Someone Else")
    # Replies to a tweet we never saw, but in the same X conversation.
    same_conversation = x_api.add("@priya_k @Twitter same here!", "77", replied_to="5",
                                  conversation=original)
    native = x_api.add("@priya_k We have refunded the double charge &amp; fixed the bill.",
                       OUR_ID, replied_to=original)
    unrelated = x_api.add("@someone Happy to help!", OUR_ID, replied_to="6")
    poll_now(channel)

    assert outcome(ack.external_id) == "echo"
    assert outcome(to_ack) == outcome(own_reply) == outcome(same_conversation) == "joined"
    assert outcome(native) == "staff_reply"
    assert outcome(unrelated) == "ignored"
    assert count(Thread) == 1
    db.session.refresh(thread)
    assert [c.body_source for c in thread.question.comments] == [
        "thanks, it is account 5521", "also the app shows an error", "same here!"]
    [answer] = thread.answers
    assert answer.author_id == channel.staff_user_id
    assert answer.body_source == "We have refunded the double charge & fixed the bill."
    # Nothing came back as a post of our own ack.
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.thread_id == thread.id)) == 2


# ---- replies out -----------------------------------------------------------------------------

def test_end_to_end_mention_ack_accepted_answer(client, channel, x_api, users, token_for):
    original = customer(x_api, "@Twitter Why was I charged twice for my bundle? " + "Really " * 30)
    assert sending.run_once()["sent"] == 1
    thread = db.session.scalar(select(Thread))
    link = f"http://localhost/threads/{thread.id}/"
    [ack] = x_api.api.sent("POST", "/2/tweets")
    assert ack.headers["authorization"] == f"Bearer {WRITE_TOKEN}"
    sent = ack.json()
    assert sent["reply"] == {"in_reply_to_tweet_id": original}
    assert sent["text"].startswith("Thanks, Priya K!")
    assert sent["text"].splitlines()[-1].startswith(link)
    assert x_weighted_length(sent["text"]) <= 280

    long_answer = "Refunds take three days. " + " ".join(["我们会退款给您。"] * 60)
    answer = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": long_answer},
                         headers=token_for(users.staff))
    assert answer.status_code == 201
    accepted = client.post(f"/api/v1/threads/{thread.id}/accept",
                           json={"post_id": answer.get_json()["id"]},
                           headers=token_for(users.staff))
    assert accepted.status_code == 200, accepted.get_json()
    assert sending.run_once()["sent"] == 1
    reply = x_api.api.sent("POST", "/2/tweets")[-1].json()
    assert reply["reply"] == {"in_reply_to_tweet_id": original}
    lines = reply["text"].splitlines()
    assert lines[-1].startswith(link) and URL_RE.fullmatch(lines[-1])
    assert lines[0] == "Answer from our team:"
    # CJK counts double: the fitted text is cut, and within X's weighted limit.
    assert "…" in reply["text"] and 260 < x_weighted_length(reply["text"]) <= 280
    rows = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert [(r.kind, r.state) for r in rows] == [("ack", "sent"), ("answer", "sent")]
    assert all(r.external_id in x_api.tweets for r in rows)


def test_rate_limited_reply_waits_for_the_reset(channel, x_api):
    customer(x_api)
    bridge.poll(channel)
    reset = int(time.time()) + 900
    x_api.api.fail_next(Answer(429, {"title": "Too Many Requests"},
                               {"x-rate-limit-reset": str(reset)}))
    assert sending.run_once()["pending"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "pending" and row.attempts == 1 and "429" in row.last_error
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=600)
    assert sending.run_once().get("sent", 0) == 0
    assert len(x_api.api.sent("POST", "/2/tweets")) == 1


def test_a_reply_to_a_deleted_tweet_fails_at_once(channel, x_api):
    original = customer(x_api)
    bridge.poll(channel)
    del x_api.tweets[original]
    assert sending.run_once()["failed"] == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.attempts == 1 and "HTTP 400 from" in row.last_error


# ---- crash safety: a `sending` row is looked up on X, never blindly resent ----------------------

@pytest.fixture
def no_lease(app):
    saved = app.config["BRIDGE_SENDING_LEASE_SECONDS"]
    app.config["BRIDGE_SENDING_LEASE_SECONDS"] = 0
    yield
    app.config["BRIDGE_SENDING_LEASE_SECONDS"] = saved


def test_crash_after_the_tweet_was_posted_is_found_and_not_sent_again(channel, x_api, no_lease):
    original = customer(x_api)
    bridge.poll(channel)
    [row_id] = sending.claim(10)
    row = db.session.get(OutboundMessage, row_id)
    # The worker's request reached X, then the worker died before recording the answer.
    posted = bridge.adapter(channel).send(sending.reply_for(row))
    db.session.expire_all()
    assert row.state == "sending" and row.external_id is None

    # The restarted worker polls first: our own tweet is recognised as ours, not a staff reply.
    counts = poll_now(channel)
    assert counts["reconciled_sent"] == 1
    db.session.refresh(row)
    assert row.state == "sent" and row.external_id == posted
    assert "found on the channel" in row.last_error
    assert outcome(posted) == "echo"
    assert len(x_api.api.sent("POST", "/2/tweets")) == 1
    lookup = x_api.api.sent("GET", f"/2/users/{OUR_ID}/tweets")[-1]
    assert lookup.headers["authorization"] == f"Bearer {READ_TOKEN}"
    assert x_api.tweets[posted]["referenced_tweets"] == [{"type": "replied_to", "id": original}]
    assert count(Post) == 1  # just the question


def test_crash_before_the_tweet_was_posted_is_sent_once(channel, x_api, no_lease):
    customer(x_api)
    bridge.poll(channel)
    sending.claim(10)  # claimed, then the worker died before calling X
    counts = sending.run_once()
    assert counts["reconciled_pending"] == 1 and counts["sent"] == 1
    assert len(x_api.api.sent("POST", "/2/tweets")) == 1
    row = db.session.scalar(select(OutboundMessage))
    assert row.state == "sent" and row.attempts == 2


def test_lookup_tells_the_ack_and_the_answer_to_the_same_tweet_apart(channel, x_api):
    customer(x_api)
    bridge.poll(channel)
    sending.run_once()
    row = db.session.scalar(select(OutboundMessage))
    adapter = bridge.adapter(channel)
    reply = sending.reply_for(row)
    assert adapter.lookup(reply) == row.external_id
    assert adapter.lookup(replace(reply, text="Answer from our team:\n\nsomething")) is None
    assert adapter.lookup(replace(reply, in_reply_to="123")) is None
