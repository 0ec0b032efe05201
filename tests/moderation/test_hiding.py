"""Hiding and restoring (issue 15, part A): hidden content never reaches a visitor or member
(page, API thread and lists, search, similar and related, live events, notifications) and
stays visible, marked with the reason, to staff and its author."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from community.extensions import db
from community.bridge import generic
from community.models import AuditEntry, InboundMessage, OutboundMessage, Thread
from community.services import threads
from tests.api.contract import assert_error
from tests.bridge.conftest import SECRET as PARTNER_SECRET
from tests.bridge.conftest import add_channel, deliver
from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread

SECRET = "Zanzibarfrequency"  # a word found only in the content that gets hidden


@pytest.fixture
def world(users):
    thread = make_thread(users.asker, "Voicemail greeting keeps resetting", "It resets daily.")
    keep = make_answer(users.other, thread, "Record it again from the settings menu.")
    bad = make_answer(users.helper, thread, f"Call the {SECRET} hotline for free credit.")
    return thread, keep, bad


def hide(client, headers, kind, target_id, reason="Spam: a scam hotline."):
    return client.post(f"/api/v1/{kind}/{target_id}/hide", headers=headers,
                       json={"reason": reason} if reason is not None else {})


def test_a_hidden_answer_leaves_every_public_path_at_once(client, users, world, token_for,
                                                          indexed, events_seen):
    thread, keep, bad = world
    indexed()
    assert client.get("/api/v1/search", query_string={"q": SECRET}).get_json()["total"] == 1

    response = hide(client, token_for(users.moderator), "posts", bad.id)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"target": {"kind": "post", "id": bad.id,
                                              "thread_id": thread.id},
                                   "hidden": {"reason": "Spam: a scam hotline."}}
    assert ("post.hidden", {"thread_id": thread.id, "post_id": bad.id}) in events_seen
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "post.hide"))
    assert entry.actor_id == users.moderator.id and entry.reason == "Spam: a scam hotline."
    assert (entry.before["is_hidden"], entry.after["is_hidden"]) == (False, True)
    for headers in ({}, token_for(users.other)):  # a visitor, a member
        data = client.get(f"/api/v1/threads/{thread.id}", headers=headers).get_json()
        assert [a["id"] for a in data["answers"]] == [keep.id]
        assert data["answer_count"] == 1
        assert client.get(f"/api/v1/posts/{bad.id}", headers=headers).status_code == 404
    assert client.get(f"/threads/{thread.id}").get_data(as_text=True).count(SECRET) == 0
    login(client, "other")
    assert SECRET not in client.get(f"/threads/{thread.id}").get_data(as_text=True)
    indexed()
    assert client.get("/api/v1/search", query_string={"q": SECRET}).get_json()["total"] == 0


def test_staff_and_the_author_still_see_it_with_the_reason(app, client, users, world,
                                                           token_for):
    thread, _, bad = world
    hide(client, token_for(users.moderator), "posts", bad.id)

    for who, headers in (("helper", token_for(users.helper)), ("staff", token_for(users.staff))):
        data = client.get(f"/api/v1/threads/{thread.id}", headers=headers).get_json()
        shown = {a["id"]: a for a in data["answers"]}
        assert shown[bad.id]["hidden"] == {"reason": "Spam: a scam hotline."}, who
    for username in ("helper", "kestrel_staff"):
        browser = app.test_client()
        login(browser, username)
        page = browser.get(f"/threads/{thread.id}").get_data(as_text=True)
        assert SECRET in page and "Spam: a scam hotline." in page, username


def test_hiding_needs_a_reason_and_changes_nothing_without_one(client, users, world, token_for):
    thread, _, bad = world
    headers = token_for(users.moderator)

    for reason in (None, "   ", 42):
        assert_error(hide(client, headers, "posts", bad.id, reason), 422, "reason.required",
                     "reason")
    assert_error(hide(client, headers, "posts", bad.id, "x" * 501), 422, "reason.too_long",
                 "reason")
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["answer_count"] == 2
    assert db.session.scalar(select(AuditEntry.id)) is None
    assert_error(hide(client, headers, "posts", 10**12), 404, "post.not_found")


def test_restoring_brings_it_back_and_counts_it_again(client, users, world, token_for,
                                                      events_seen):
    thread, _, bad = world
    headers = token_for(users.moderator)
    hide(client, headers, "posts", bad.id)

    response = client.post(f"/api/v1/posts/{bad.id}/restore", headers=headers)

    assert response.status_code == 200 and response.get_json()["hidden"] is None
    data = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert bad.id in [a["id"] for a in data["answers"]] and data["answer_count"] == 2
    assert ("post.restored", {"thread_id": thread.id, "post_id": bad.id}) in events_seen
    assert db.session.scalar(select(AuditEntry.after).where(
        AuditEntry.action == "post.restore")) == {"is_hidden": False, "hidden_reason": ""}


def test_hiding_the_question_hides_the_thread_everywhere(client, users, world, token_for,
                                                         indexed):
    thread, _, _ = world
    other = make_thread(users.other, "Voicemail greeting resets every day", "Same problem.")
    indexed()

    response = hide(client, token_for(users.moderator), "posts", thread.question.id)

    assert response.get_json()["target"] == {"kind": "thread", "id": thread.id,
                                             "thread_id": thread.id}
    assert_error(client.get(f"/api/v1/threads/{thread.id}"), 404, "thread.not_found")
    assert client.get(f"/threads/{thread.id}").status_code == 404
    listed = client.get("/api/v1/threads", headers=token_for(users.other)).get_json()["items"]
    assert [item["id"] for item in listed] == [other.id]
    indexed()
    similar = client.get("/api/v1/threads/similar",
                         query_string={"title": "Voicemail greeting resets"}).get_json()
    assert thread.id not in [item["id"] for item in similar["items"]]
    related_page = client.get(f"/threads/{other.id}").get_data(as_text=True)
    assert f"/threads/{thread.id}/" not in related_page
    # Its asker can still open it, and reads why.
    mine = client.get(f"/api/v1/threads/{thread.id}", headers=token_for(users.asker))
    assert mine.status_code == 200 and mine.get_json()["hidden"]["reason"]
    login(client, "asker")
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "Hidden by moderators" in page and "Spam: a scam hotline." in page


def test_a_hidden_comment_leaves_pages_and_the_api(client, users, world, token_for):
    thread, keep, _ = world
    item = threads.comment(users.helper, keep, "Or try the Quixotelephone number.")

    response = hide(client, token_for(users.admin), "comments", item.id)

    assert response.status_code == 200
    data = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert all(c["id"] != item.id for a in data["answers"] for c in a["comments"])
    assert "Quixotelephone" not in client.get(f"/threads/{thread.id}").get_data(as_text=True)
    restored = client.post(f"/api/v1/comments/{item.id}/restore", headers=token_for(users.admin))
    assert restored.status_code == 200
    assert "Quixotelephone" in client.get(f"/threads/{thread.id}").get_data(as_text=True)


def test_notifications_about_hidden_content_are_withdrawn(client, users, world, token_for, app):
    from community.workers import notifications

    thread, _, bad = world
    assert notifications.flush()
    asker = token_for(users.asker)
    before = client.get("/api/v1/notifications", headers=asker).get_json()["items"]
    assert bad.id in [item["post_id"] for item in before]

    hide(client, token_for(users.moderator), "posts", bad.id)

    after = client.get("/api/v1/notifications", headers=asker).get_json()["items"]
    assert bad.id not in [item["post_id"] for item in after]
    from community.services.notifications import claim_digests
    digests = {user.id: items for user, items in claim_digests()}
    assert digests[users.asker.id] and bad.id not in [n.post_id for n in digests[users.asker.id]]


def test_a_visitors_open_page_hears_the_answer_go_without_its_text(users, world, connect,
                                                                   client, token_for):
    thread, _, bad = world
    visitor = connect()
    visitor.join(thread=thread.id)

    hide(client, token_for(users.moderator), "posts", bad.id)

    data = visitor.wait_for("post.hidden", post_id=bad.id)
    assert data == {"thread_id": thread.id, "post_id": bad.id, "answer_count": 1,
                    "status": "answered"}
    assert SECRET not in repr(visitor.events())


def test_the_page_buttons_hide_and_restore_for_moderators(client, users, world):
    thread, _, bad = world
    login(client, "kestrel_mod")
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert f'action="/posts/{bad.id}/hide"' in page

    response = client.post(f"/posts/{bad.id}/hide", data={
        "csrf_token": csrf_token(client, f"/threads/{thread.id}"), "reason": "Scam."})

    assert response.status_code == 302
    assert db.session.get(type(bad), bad.id).is_hidden
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert f'action="/posts/{bad.id}/restore"' in page and "Scam." in page
    client.post(f"/posts/{bad.id}/restore",
                data={"csrf_token": csrf_token(client, f"/threads/{thread.id}")})
    db.session.expire_all()
    assert not db.session.get(type(bad), bad.id).is_hidden


def test_a_hidden_best_answer_is_not_sent_to_the_bridged_customer(client, ctx, users, token_for):
    add_channel("generic", "partner", secret=PARTNER_SECRET, callback_url="http://127.0.0.1:9/x")
    body = json.dumps({"activities": [{
        "type": "message", "id": "m1", "conversation": "c1", "author": {"id": "u1"},
        "timestamp": int(time.time()), "text": "My calls keep dropping since Monday"}]}).encode()
    assert deliver(client, "partner", body, generic.sign(PARTNER_SECRET, body)).status_code == 200
    thread_id = db.session.scalar(select(InboundMessage.thread_id))
    answer = make_answer(users.helper, db.session.get(Thread, thread_id), "Call us on 0800 ...")
    assert client.post(f"/api/v1/posts/{answer.id}/endorse",
                       headers=token_for(users.staff)).status_code == 200

    def answer_states() -> list[str]:
        db.session.expire_all()
        return list(db.session.scalars(select(OutboundMessage.state).where(
            OutboundMessage.kind == "answer")))

    assert answer_states() == ["pending"]

    assert hide(client, token_for(users.moderator), "posts", answer.id).status_code == 200

    assert answer_states() == ["cancelled"]
