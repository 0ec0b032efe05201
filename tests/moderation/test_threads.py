"""Moderators lock, close as a duplicate, reopen and merge threads, through the JSON API and the
thread page; bad input changes nothing; a bridged duplicate gets the original's best answer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AuditEntry, Comment, OutboundMessage, Post, Thread, User, Vote
from tests.bridge.conftest import activity, channel, fake_api, partner, send  # noqa: F401
from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def _post(client, path, headers, body=None):
    return client.post(path, headers=headers, json=body if body is not None else {})


# ---- lock and unlock ----------------------------------------------------------------------------

def test_a_locked_thread_takes_no_answers_comments_or_votes_and_says_why(client, users, token_for,
                                                                         events_seen):
    thread = make_thread(users.asker)
    answer = make_answer(users.helper, thread)
    mod = token_for(users.moderator)

    response = _post(client, f"/api/v1/threads/{thread.id}/lock", mod, {"reason": "Heated"})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["is_locked"] is True
    assert response.get_json()["locked_reason"] == "Heated"
    member = token_for(users.other)
    refused = [
        client.post(f"/api/v1/threads/{thread.id}/answers", headers=member, json={"body": "Hi"}),
        client.post(f"/api/v1/posts/{answer.id}/comments", headers=member, json={"body": "Hi"}),
        client.put(f"/api/v1/posts/{answer.id}/vote", headers=member, json={"value": 1}),
    ]
    for item in refused:
        assert item.status_code == 403
        assert item.get_json()["error"]["code"] == "thread.locked"
        assert "Heated" in item.get_json()["error"]["message"]
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "This thread is locked" in page and "Heated" in page
    entry, = _audit("thread.lock")
    assert (entry.actor_id, entry.target_kind, entry.target_id) == (users.moderator.id, "thread",
                                                                     thread.id)
    assert entry.before["is_locked"] is False and entry.after["is_locked"] is True
    assert entry.reason == "Heated"
    assert ("thread.locked", {"thread_id": thread.id, "actor_id": users.moderator.id}) in events_seen


def test_unlock_opens_the_thread_again(client, users, token_for, events_seen):
    thread = make_thread(users.asker)
    mod = token_for(users.moderator)
    _post(client, f"/api/v1/threads/{thread.id}/lock", mod, {"reason": "Cooling off"})

    response = _post(client, f"/api/v1/threads/{thread.id}/unlock", mod)

    assert response.status_code == 200 and response.get_json()["is_locked"] is False
    answered = client.post(f"/api/v1/threads/{thread.id}/answers", headers=token_for(users.other),
                           json={"body": "Now I can answer."})
    assert answered.status_code == 201
    entry, = _audit("thread.unlock")
    assert entry.before["locked_reason"] == "Cooling off" and entry.after["is_locked"] is False
    assert any(name == "thread.unlocked" for name, _ in events_seen)
    again = _post(client, f"/api/v1/threads/{thread.id}/unlock", mod)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "thread.not_locked"


@pytest.mark.parametrize("body, status, code", [
    ({}, 422, "reason.required"),
    ({"reason": "   "}, 422, "reason.required"),
    ({"reason": 5}, 422, "reason.type"),
    ({"reason": "x" * 501}, 422, "reason.too_long"),
])
def test_lock_needs_a_reason(client, users, token_for, body, status, code):
    thread = make_thread(users.asker)

    response = _post(client, f"/api/v1/threads/{thread.id}/lock", token_for(users.moderator), body)

    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).is_locked is False
    assert not _audit("thread.lock")


def test_unknown_threads_are_404(client, users, token_for):
    mod = token_for(users.moderator)
    for action, body in (("lock", {"reason": "x"}), ("unlock", None), ("duplicate", {"of": 1}),
                         ("reopen", None), ("merge", {"into": 1})):
        response = _post(client, f"/api/v1/threads/999999/{action}", mod, body)
        assert response.status_code == 404, action
        assert response.get_json()["error"]["code"] == "thread.not_found"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


# ---- close as a duplicate, reopen ---------------------------------------------------------------

def test_a_duplicate_links_to_the_original_and_search_shows_the_original(client, users, token_for,
                                                                         indexed, events_seen):
    original = make_thread(users.asker, title="Voicemail greeting will not save",
                           body="The greeting resets every day.", tags=["voicemail"])
    duplicate = make_thread(users.other, title="Voicemail greeting keeps resetting",
                            body="My voicemail greeting resets.", tags=["voicemail"])
    indexed()
    found = client.get("/api/v1/search?q=voicemail greeting").get_json()["items"]
    assert {item["id"] for item in found} == {original.id, duplicate.id}

    response = _post(client, f"/api/v1/threads/{duplicate.id}/duplicate",
                     token_for(users.moderator), {"of": original.id})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["duplicate_of_id"] == original.id
    indexed()
    found = client.get("/api/v1/search?q=voicemail greeting").get_json()["items"]
    assert [item["id"] for item in found] == [original.id]
    page = client.get(f"/threads/{duplicate.id}").get_data(as_text=True)
    assert "closed as a duplicate" in page
    assert f'href="/threads/{original.id}"' in page and "Voicemail greeting will not save" in page
    answer = client.post(f"/api/v1/threads/{duplicate.id}/answers",
                         headers=token_for(users.helper), json={"body": "Answer here?"})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "thread.closed"
    entry, = _audit("thread.close")
    assert entry.before["duplicate_of_id"] is None and entry.after["duplicate_of_id"] == original.id
    assert any(name == "thread.closed" and data["thread_id"] == duplicate.id
               for name, data in events_seen)


def test_reopen_undoes_a_duplicate_closing(client, users, token_for, indexed):
    original = make_thread(users.asker, title="Roaming does not work in Spain")
    duplicate = make_thread(users.other, title="Roaming broken in Spain today")
    mod = token_for(users.moderator)
    _post(client, f"/api/v1/threads/{duplicate.id}/duplicate", mod, {"of": original.id})

    response = _post(client, f"/api/v1/threads/{duplicate.id}/reopen", mod)

    assert response.status_code == 200 and response.get_json()["duplicate_of_id"] is None
    indexed()
    found = client.get("/api/v1/search?q=roaming spain").get_json()["items"]
    assert {item["id"] for item in found} == {original.id, duplicate.id}
    assert "closed as a duplicate" not in client.get(f"/threads/{duplicate.id}").get_data(as_text=True)
    entry, = _audit("thread.reopen")
    assert entry.before["duplicate_of_id"] == original.id and entry.after["duplicate_of_id"] is None
    again = _post(client, f"/api/v1/threads/{duplicate.id}/reopen", mod)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "thread.not_closed"


def test_bad_duplicate_targets_are_refused_and_change_nothing(client, users, token_for):
    thread = make_thread(users.asker, title="Cannot send picture messages")
    hidden = make_thread(users.other, title="Picture messages fail to send")
    hidden.is_hidden = True
    closed_into_this = make_thread(users.other, title="MMS does not work at all")
    closed_into_this.duplicate_of_id = thread.id
    db.session.commit()
    mod = token_for(users.moderator)
    before = client.get(f"/api/v1/threads/{thread.id}", headers=mod).get_json()

    for body, status, code in (({"of": thread.id}, 422, "of.self"),
                               ({"of": 999999}, 422, "of.not_found"),
                               ({"of": hidden.id}, 422, "of.hidden"),
                               ({"of": closed_into_this.id}, 422, "of.cycle"),
                               ({"of": "two"}, 422, "of.type"),
                               ({}, 422, "of.required")):
        response = _post(client, f"/api/v1/threads/{thread.id}/duplicate", mod, body)
        assert response.status_code == status, body
        error = response.get_json()["error"]
        assert error["code"] == code and error["message"]

    assert client.get(f"/api/v1/threads/{thread.id}", headers=mod).get_json() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_bridged_duplicate_is_owed_the_originals_best_answer(client, channel, users,  # noqa: F811
                                                               token_for):
    original = make_thread(users.asker, title="Data stops working abroad")
    best = make_answer(users.helper, original, "Turn on data roaming in Settings.")
    staff = token_for(users.staff)
    client.post(f"/api/v1/threads/{original.id}/accept", headers=staff, json={"post_id": best.id})
    send(client, activity("My data stopped working abroad, please help", id="tw-7"))
    bridged = db.session.scalar(select(Thread).where(Thread.source_kind == "generic"))
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)
                             .where(OutboundMessage.kind == "answer")) == 0

    response = _post(client, f"/api/v1/threads/{bridged.id}/duplicate",
                     token_for(users.moderator), {"of": original.id})

    assert response.status_code == 200, response.get_json()
    owed = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "answer")).all()
    assert [(row.thread_id, row.post_id, row.state) for row in owed] == [
        (bridged.id, best.id, "pending")]
    assert "Turn on data roaming" in owed[0].text
    assert owed[0].text.splitlines()[-1].startswith(f"http://localhost/threads/{original.id}/")

    # Reopening undoes it: the original's answer is no longer owed.
    _post(client, f"/api/v1/threads/{bridged.id}/reopen", token_for(users.moderator))
    db.session.expire_all()
    assert db.session.get(OutboundMessage, owed[0].id).state == "cancelled"


# ---- merge --------------------------------------------------------------------------------------

def _merge_world(users):
    target = make_thread(users.asker, title="Bill shows a double charge", tags=["billing"])
    make_answer(users.helper, target, "Call billing.")
    source = make_thread(users.other, title="Charged twice this month", body="Twice!",
                         tags=["billing"])
    moved = make_answer(users.helper, source, "Refunds take five days.")
    from community.services import threads, votes

    threads.comment(users.asker, moved, "Thanks, that helped.")
    threads.comment(users.helper, source.question, "Which card?")
    votes.cast_vote(users.asker, moved, 1)
    return target, source, moved


def test_merge_moves_answers_and_comments_and_redirects(client, users, token_for, indexed):
    target, source, moved = _merge_world(users)
    helper_reputation = db.session.get(User, users.helper.id).reputation

    response = _post(client, f"/api/v1/threads/{source.id}/merge", token_for(users.moderator),
                     {"into": target.id})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == target.id and body["answer_count"] == 2 and body["status"] == "answered"
    assert moved.id in [answer["id"] for answer in body["answers"]]
    db.session.expire_all()
    assert db.session.get(Post, moved.id).thread_id == target.id
    assert db.session.get(Post, moved.id).score == 1
    assert db.session.scalar(select(func.count()).select_from(Vote)
                             .where(Vote.post_id == moved.id)) == 1
    assert db.session.get(User, users.helper.id).reputation == helper_reputation
    question_comments = db.session.scalars(select(Comment.body_source).where(
        Comment.post_id == db.session.get(Thread, target.id).question.id)).all()
    assert question_comments == ["Which card?"]
    old = db.session.get(Thread, source.id)
    assert (old.merged_into_id, old.answer_count, old.status) == (target.id, 0, "unanswered")
    page = client.get(f"/threads/{source.id}/charged-twice-this-month")
    assert page.status_code == 301 and page.headers["Location"].endswith(f"/threads/{target.id}")
    api = client.get(f"/api/v1/threads/{source.id}")
    assert api.status_code == 301 and api.headers["Location"].endswith(
        f"/api/v1/threads/{target.id}")
    listed = [item["id"] for item in client.get("/api/v1/threads").get_json()["items"]]
    assert listed == [target.id]
    indexed()
    found = client.get("/api/v1/search?q=refunds").get_json()["items"]
    assert [item["id"] for item in found] == [target.id]
    entry, = _audit("thread.merge")
    assert entry.target_id == source.id and entry.after["merged_into_id"] == target.id
    assert entry.before["answer_count"] == 1 and entry.after["target"]["answer_count"] == 2
    refused = client.post(f"/api/v1/threads/{source.id}/answers", headers=token_for(users.other),
                          json={"body": "Late answer"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "thread.merged"


def test_bad_merges_are_refused_and_change_nothing(client, users, token_for):
    target, source, moved = _merge_world(users)
    hidden = make_thread(users.asker, title="A hidden thread about billing")
    hidden.is_hidden = True
    db.session.commit()
    mod = token_for(users.moderator)
    before = [client.get(f"/api/v1/threads/{item.id}", headers=mod).get_json()
              for item in (target, source)]

    for body, code in (({"into": source.id}, "into.self"), ({"into": 999999}, "into.not_found"),
                       ({"into": hidden.id}, "into.hidden"), ({"into": None}, "into.required"),
                       ({"into": True}, "into.type")):
        response = _post(client, f"/api/v1/threads/{source.id}/merge", mod, body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"] == code

    assert [client.get(f"/api/v1/threads/{item.id}", headers=mod).get_json()
            for item in (target, source)] == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


# ---- the thread page's moderator controls -------------------------------------------------------

def test_moderators_lock_and_close_from_the_thread_page(client, users):
    original = make_thread(users.asker, title="Wifi calling will not turn on")
    thread = make_thread(users.other, title="Cannot enable wifi calling")
    login(client, users.moderator.username)
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "Moderate this thread" in page
    token = csrf_token(client, f"/threads/{thread.id}")

    locked = client.post(f"/threads/{thread.id}/lock", data={"csrf_token": token,
                                                            "reason": "Spam magnet"})
    closed = client.post(f"/threads/{thread.id}/duplicate", data={"csrf_token": token,
                                                                 "of": str(original.id)})
    no_token = client.post(f"/threads/{thread.id}/unlock", data={})

    assert locked.status_code == 302 and closed.status_code == 302
    assert no_token.status_code == 400
    db.session.expire_all()
    row = db.session.get(Thread, thread.id)
    assert (row.is_locked, row.locked_reason, row.duplicate_of_id) == (True, "Spam magnet",
                                                                       original.id)


def test_members_see_no_moderator_controls_and_cannot_post_them(client, users):
    thread = make_thread(users.asker)
    login(client, users.other.username)
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "Moderate this thread" not in page
    token = csrf_token(client, f"/threads/{thread.id}")

    response = client.post(f"/threads/{thread.id}/lock", data={"csrf_token": token,
                                                              "reason": "Mine now"})

    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).is_locked is False
