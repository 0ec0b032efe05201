"""The spam checker and held posts (issue 15, part C): a new account's post that scores above
the threshold is held, seen only by its author and staff, until a moderator approves (publishes)
or rejects it."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from community.bridge import generic
from community.extensions import db
from community.models import AuditEntry, InboundMessage, Notification, OutboundMessage, Post, Thread
from community.services.moderation.spam import LocalChecker, SpamContext
from community.workers import notifications as notifications_worker
from tests.api.contract import assert_error
from tests.bridge.conftest import add_channel, deliver
from tests.conftest import csrf_token, login
from tests.factories import make_thread, make_user

SPAM_TITLE = "Best casino bonus for you today"
SPAM_BODY = "Win big at https://spam.example/win now!"


# ---- the local checker ---------------------------------------------------------------------

def score(text, recent=(), title=""):
    checker = LocalChecker(["spam.example"], ["casino"])
    return checker.score(text, None, SpamContext("question", title, tuple(recent)))


def test_an_ordinary_complaint_scores_nothing():
    verdict = score("My calls keep dropping since the update; I restarted twice.")
    assert verdict.score == 0 and verdict.reasons == ()


@pytest.mark.parametrize("text, reason", [
    ("Go to https://www.spam.example/x", "banned_domain:www.spam.example"),
    ("Play CASINO games", "banned_word:casino"),
    ("Short link https://bit.ly/abc", "shortener:bit.ly"),
    ("CALL NOW FOR THE BEST DEAL EVER ON PHONES", "capitals"),
    ("Call me on +44 7700 900123 please", "phone"),
    ("Write to deals@shop.example.com today", "email"),
    ("See https://one.example.com/a and https://two.example.com/b", "links:2"),
])
def test_what_the_checker_notices(text, reason):
    assert reason in score(text).reasons


def test_the_same_text_again_and_again_adds_up():
    text = "Visit my shop for phone cases"
    assert score(text).score == 0
    once, twice = score(text, [text]), score(text, [text, text.upper(), "other"])
    assert once.reasons == ("repeated:1",) and twice.score > once.score > 0


def test_a_banned_word_or_domain_alone_is_above_the_default_threshold():
    assert score("casino").score > 5 and score("https://spam.example").score > 5


# ---- held posts through the API --------------------------------------------------------------

def ask(client, headers, title=SPAM_TITLE, body=SPAM_BODY):
    return client.post("/api/v1/threads", headers=headers,
                       json={"title": title, "body": body, "tags": ["offers"]})


def test_a_held_question_reaches_only_its_author_and_staff(client, users, token_for, indexed,
                                                          new_accounts, events_seen):
    spammer = make_user("spammer")
    mine = token_for(spammer)

    created = ask(client, mine)

    assert created.status_code == 201, created.get_json()
    thread_id = created.get_json()["id"]
    assert ("post.held", {"thread_id": thread_id,
                          "post_id": created.get_json()["question"]["id"]}) in events_seen
    assert not any(name == "thread.created" for name, _ in events_seen)
    indexed()
    for headers in ({}, token_for(users.other)):
        assert client.get(f"/api/v1/threads/{thread_id}", headers=headers).status_code == 404
        listed = client.get("/api/v1/threads", headers=headers).get_json()["items"]
        assert thread_id not in [item["id"] for item in listed]
        found = client.get("/api/v1/search", headers=headers, query_string={"q": "casino"})
        assert found.get_json()["items"] == []
    assert client.get(f"/threads/{thread_id}").status_code == 404
    assert client.get(f"/api/v1/threads/{thread_id}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/threads/{thread_id}",
                      headers=token_for(users.staff)).status_code == 200

    queue = client.get("/api/v1/moderation/held", headers=token_for(users.staff))
    assert queue.status_code == 200
    [item] = queue.get_json()["items"]
    assert item["thread"]["id"] == thread_id and item["held"] is True
    assert "banned_word:casino" in item["reasons"]

    approved = client.post(f"/api/v1/moderation/held/{item['post']['id']}/approve",
                           headers=token_for(users.moderator))

    assert approved.status_code == 200 and approved.get_json()["held"] is False
    assert ("thread.created", {"thread_id": thread_id,
                               "post_id": item["post"]["id"]}) in events_seen
    indexed()
    assert client.get(f"/api/v1/threads/{thread_id}").status_code == 200
    assert thread_id in [t["id"] for t in client.get("/api/v1/threads").get_json()["items"]]
    found = client.get("/api/v1/search", query_string={"q": "casino"}).get_json()["items"]
    assert [hit["id"] for hit in found] == [thread_id]
    assert client.get("/api/v1/moderation/held",
                      headers=token_for(users.staff)).get_json()["items"] == []
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["post.approve"]


def test_a_held_answer_is_not_counted_or_told_until_approved(client, users, token_for,
                                                            new_accounts):
    thread = make_thread(users.asker)

    made = client.post(f"/api/v1/threads/{thread.id}/answers", headers=token_for(make_user("spammer")),
                       json={"body": "Cheap casino deals at https://spam.example/x"})
    assert made.status_code == 201
    post_id = made.get_json()["id"]
    assert notifications_worker.flush()

    public = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert public["answer_count"] == 0 and public["answers"] == []
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == users.asker.id, Notification.post_id == post_id)) == 0

    response = client.post(f"/api/v1/moderation/held/{post_id}/approve",
                           headers=token_for(users.admin))

    assert response.status_code == 200
    assert notifications_worker.flush()
    public = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert public["answer_count"] == 1 and [a["id"] for a in public["answers"]] == [post_id]
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == users.asker.id, Notification.post_id == post_id)) == 1


def test_restoring_a_held_answer_is_refused_so_only_approval_publishes_it(
        client, users, token_for, new_accounts):
    thread = make_thread(users.asker)
    made = client.post(f"/api/v1/threads/{thread.id}/answers", headers=token_for(make_user("spammer")),
                       json={"body": "Cheap casino deals at https://spam.example/x"})
    post_id = made.get_json()["id"]

    response = client.post(f"/api/v1/posts/{post_id}/restore", headers=token_for(users.moderator),
                           json={"reason": "looks fine"})

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "post.held"
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["answer_count"] == 0


def test_reject_keeps_it_hidden_with_the_reason(client, users, token_for, new_accounts):
    spammer = make_user("spammer")
    created = ask(client, token_for(spammer)).get_json()
    post_id = created["question"]["id"]
    too_long = client.post(f"/api/v1/moderation/held/{post_id}/reject",
                           headers=token_for(users.moderator), json={"reason": "x" * 501})
    assert_error(too_long, 422, "reason.too_long", "reason")  # as for every moderator reason

    rejected = client.post(f"/api/v1/moderation/held/{post_id}/reject",
                           headers=token_for(users.moderator), json={"reason": "Casino spam"})

    assert rejected.status_code == 200
    assert rejected.get_json()["hidden"] is True and rejected.get_json()["held"] is False
    assert client.get(f"/api/v1/threads/{created['id']}").status_code == 404
    db.session.expire_all()
    post = db.session.get(Post, post_id)
    assert post.is_hidden and not post.is_pending and post.hidden_reason == "Casino spam"
    again = client.post(f"/api/v1/moderation/held/{post_id}/approve",
                        headers=token_for(users.moderator))
    assert_error(again, 409, "post.not_held")
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.reason) == ("post.reject", "Casino spam")


def test_who_may_review_and_bad_input(client, users, token_for, new_accounts):
    post_id = ask(client, token_for(make_user("spammer"))).get_json()["question"]["id"]
    path = f"/api/v1/moderation/held/{post_id}"

    assert_error(client.get("/api/v1/moderation/held"), 401, "auth.required")
    assert_error(client.get("/api/v1/moderation/held", headers=token_for(users.other)), 403,
                 "staff.required")
    assert_error(client.post(f"{path}/approve", headers=token_for(users.staff)), 403,
                 "moderator.required")
    assert_error(client.post(f"{path}/reject", headers=token_for(users.asker)), 403,
                 "moderator.required")
    moderator = token_for(users.moderator)
    assert_error(client.post("/api/v1/moderation/held/999999/approve", headers=moderator), 404,
                 "post.not_found")
    ordinary = make_thread(users.asker)
    assert_error(client.post(f"/api/v1/moderation/held/{ordinary.question.id}/approve",
                             headers=moderator), 409, "post.not_held")
    assert_error(client.post(f"{path}/reject", headers=moderator, json={"reason": 5}), 422,
                 "reason.type", field="reason")
    assert_error(client.get("/api/v1/moderation/held", headers=moderator,
                            query_string={"cursor": "nonsense"}), 400, "cursor.invalid")
    db.session.expire_all()
    assert db.session.get(Post, post_id).is_pending


def test_established_accounts_and_the_off_switch_are_not_held(client, app, users, token_for,
                                                              new_accounts, monkeypatch):
    veteran = make_user("veteran", reputation=10)
    assert ask(client, token_for(veteran)).status_code == 201
    monkeypatch.setitem(app.config, "MODERATION_SPAM_CHECKER", "off")
    assert ask(client, token_for(make_user("newcomer")), title="Another casino offer here"
               ).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.is_pending)) == 0
    assert len(client.get("/api/v1/threads").get_json()["items"]) == 2


def test_the_held_page_approves_with_a_plain_form(client, users, token_for, new_accounts):
    created = ask(client, token_for(make_user("spammer"))).get_json()
    login(client, "kestrel_mod")

    page = client.get("/staff/moderation/held")
    assert page.status_code == 200 and SPAM_TITLE in page.get_data(as_text=True)
    token = csrf_token(client, "/staff/moderation/held")
    response = client.post(f"/staff/moderation/held/{created['question']['id']}/approve",
                           data={"csrf_token": token})

    assert response.status_code == 302
    assert client.get(f"/api/v1/threads/{created['id']}", headers={}).status_code == 200
    assert SPAM_TITLE not in client.get("/staff/moderation/held").get_data(as_text=True)


def test_members_cannot_open_the_held_page(client, users):
    login(client, "helper")
    assert client.get("/staff/moderation/held").status_code == 403


# ---- bridge messages from new shadow accounts -------------------------------------------------

SECRET = "spam-secret"


@pytest.mark.parametrize("count", [1, 3], ids=["one", "burst"])
def test_bridge_spam_from_new_customers_is_held_without_an_ack_until_approved(
        client, ctx, token_for, new_accounts, count):
    add_channel("generic", "partner", secret=SECRET, callback_url="http://127.0.0.1:9/x")
    activities = [{"type": "message", "id": f"m{n}", "conversation": f"c{n}",
                   "author": {"id": f"u{n}"}, "timestamp": int(time.time()),
                   "text": ("Best CASINO bonus https://spam.example/win" if n == 0
                            else f"My calls keep dropping, case {n}")} for n in range(count)]
    body = json.dumps({"activities": activities}).encode()

    assert deliver(client, "partner", body, generic.sign(SECRET, body)).status_code == 200

    db.session.expire_all()
    outcomes = {key: value for key, value in db.session.execute(
        select(InboundMessage.external_id, InboundMessage.outcome))}
    assert outcomes == {f"m{n}": "held" if n == 0 else "thread" for n in range(count)}
    held_thread = db.session.scalar(select(Thread).join(
        InboundMessage, InboundMessage.thread_id == Thread.id).where(
        InboundMessage.external_id == "m0"))
    assert held_thread.is_hidden and held_thread.question.is_pending
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == count - 1
    assert client.get(f"/api/v1/threads/{held_thread.id}").status_code == 404

    # Approved, the customer gets the acknowledgement their message did not get.
    moderator = make_user("mod", role="moderator")
    approved = client.post(f"/api/v1/moderation/held/{held_thread.question.id}/approve",
                           headers=token_for(moderator))
    assert approved.status_code == 200
    db.session.expire_all()
    acks = db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.thread_id == held_thread.id)).all()
    assert [ack.kind for ack in acks] == ["ack"]
    assert client.get(f"/api/v1/threads/{held_thread.id}").status_code == 200
