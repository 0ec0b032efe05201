"""Flags (issue 15, part A): members flag posts and comments through the API and the thread
page; several spam flags hide content at once; moderators resolve them, with reputation and
notifications following."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AuditEntry, Flag, ReputationEvent
from community.services import threads
from tests.api.contract import assert_error
from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread, make_user


@pytest.fixture
def settle(app):
    """Wait until the notifications for every commit are written."""
    from community.workers import notifications

    def wait() -> None:
        assert notifications.flush(), "the notification workers did not catch up"
        assert not notifications.failures(), notifications.failures()
    return wait


@pytest.fixture
def world(users):
    thread = make_thread(users.asker, "Roaming stopped in Spain", "No data since Monday.")
    answer = make_answer(users.helper, thread, "Buy cheap followers at spam.example")
    comment = threads.comment(users.other, answer, "This reads like an advert.")
    return thread, answer, comment


def flags_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Flag))


def flag(client, headers, post_id, **body):
    return client.post(f"/api/v1/posts/{post_id}/flags", headers=headers,
                       json={"reason": "spam", **body})


def test_a_member_flags_an_answer_and_gets_the_flag(client, users, world, token_for,
                                                   events_seen):
    _, answer, _ = world

    response = flag(client, token_for(users.other), answer.id, detail="Selling followers.")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["target"] == {"kind": "post", "id": answer.id, "thread_id": answer.thread_id}
    assert (body["reason"], body["detail"], body["status"]) == ("spam", "Selling followers.",
                                                                 "open")
    assert body["flagger"]["id"] == users.other.id and body["outcome"] is None
    assert ("post.flagged", {"thread_id": answer.thread_id, "flag_id": body["id"],
                             "target_kind": "post", "target_id": answer.id,
                             "reason": "spam"}) in events_seen


def test_a_member_flags_a_comment(client, users, world, token_for):
    _, _, comment = world

    response = client.post(f"/api/v1/comments/{comment.id}/flags",
                           headers=token_for(users.helper), json={"reason": "abusive"})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["target"]["kind"] == "comment"


def test_a_second_open_flag_by_the_same_member_is_a_conflict(client, users, world, token_for):
    _, answer, _ = world
    headers = token_for(users.other)
    assert flag(client, headers, answer.id).status_code == 201

    assert_error(flag(client, headers, answer.id, reason="other"), 409, "flag.duplicate")
    assert flags_count() == 1


def test_own_content_cannot_be_flagged(client, users, world, token_for):
    _, answer, _ = world

    assert_error(flag(client, token_for(users.helper), answer.id), 403, "flag.own_content")
    assert flags_count() == 0


def test_visitors_must_log_in(client, users, world):
    _, answer, comment = world

    assert_error(flag(client, {}, answer.id), 401, "auth.required")
    assert_error(client.post(f"/api/v1/comments/{comment.id}/flags", json={"reason": "spam"}),
                 401, "auth.required")
    assert flags_count() == 0


@pytest.mark.parametrize("body, field, code", [
    ({"reason": "boring"}, "reason", "flag.reason"),
    ({"reason": None}, "reason", "flag.reason"),
    ({"reason": "spam", "detail": 5}, "detail", "detail.type"),
    ({"reason": "duplicate"}, "duplicate_of", "duplicate_of.required"),
    ({"reason": "duplicate", "duplicate_of": "7"}, "duplicate_of", "duplicate_of.type"),
    ({"reason": "duplicate", "duplicate_of": 999999}, "duplicate_of", "duplicate_of.not_found"),
    ({"reason": "duplicate", "duplicate_of": -1}, "duplicate_of", "duplicate_of.not_found"),
])
def test_bad_input_is_a_422_and_changes_nothing(client, users, world, token_for, body, field,
                                                code):
    _, answer, _ = world

    response = client.post(f"/api/v1/posts/{answer.id}/flags", headers=token_for(users.other),
                           json=body)

    assert_error(response, 422, code, field)
    assert flags_count() == 0


def test_duplicate_of_must_be_a_visible_other_thread(client, users, world, token_for):
    thread, answer, _ = world
    original = make_thread(users.other, "Roaming in Spain does not work", "Same here.")
    hidden = make_thread(users.other, "Roaming in Spain is broken", "Hidden one.")
    client.post(f"/api/v1/threads/{hidden.id}/hide", headers=token_for(users.moderator),
                json={"reason": "Spam"})
    headers = token_for(users.other)

    for target, code in ((hidden.id, "duplicate_of.not_found"), (thread.id, "duplicate_of.same")):
        response = flag(client, headers, answer.id, reason="duplicate", duplicate_of=target)
        assert_error(response, 422, code, "duplicate_of")
    assert flags_count() == 0
    response = flag(client, headers, answer.id, reason="duplicate", duplicate_of=original.id)
    assert response.status_code == 201 and response.get_json()["duplicate_of"] == original.id


def test_three_members_spam_flags_hide_the_post_at_once(client, users, world, token_for):
    thread, answer, _ = world
    flaggers = [users.other, users.asker, make_user("third")]
    for flagger in flaggers[:2]:
        assert flag(client, token_for(flagger), answer.id).status_code == 201
    # An off-topic flag does not count towards hiding.
    assert flag(client, token_for(users.staff), answer.id, reason="off_topic").status_code == 201
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["answer_count"] == 1

    assert flag(client, token_for(flaggers[2]), answer.id, reason="abusive").status_code == 201

    visitor_view = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert visitor_view["answers"] == [] and visitor_view["answer_count"] == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "post.hide"))
    assert entry.actor_id is None and entry.target_id == answer.id
    assert entry.before == {"is_hidden": False, "hidden_reason": ""}
    assert entry.after["is_hidden"] is True


def test_trusted_flaggers_can_count_double(app, client, users, world, token_for):
    thread, answer, _ = world
    trusted = make_user("trusted", reputation=500)
    app.config["MODERATION_FLAG_WEIGHT_REPUTATION"] = 500
    try:
        flag(client, token_for(trusted), answer.id)
        assert client.get(f"/api/v1/threads/{thread.id}").get_json()["answer_count"] == 1
        flag(client, token_for(users.other), answer.id)
    finally:
        app.config["MODERATION_FLAG_WEIGHT_REPUTATION"] = None

    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["answers"] == []


def _penalties(user) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(ReputationEvent.delta), 0)).where(
        ReputationEvent.user_id == user.id, ReputationEvent.kind == "post.flagged_spam"))


def test_agreed_spam_costs_100_and_telling_it_again_reverses_exactly(client, users, world,
                                                                     token_for, settle):
    _, answer, _ = world
    flag_id = flag(client, token_for(users.other), answer.id).get_json()["id"]
    flag(client, token_for(users.asker), answer.id)
    moderator = token_for(users.moderator)

    agreed = client.post(f"/api/v1/moderation/flags/{flag_id}/resolve", headers=moderator,
                         json={"outcome": "agreed", "note": "Clear spam.", "hide": True})

    assert agreed.status_code == 200, agreed.get_json()
    assert (agreed.get_json()["status"], agreed.get_json()["outcome"]) == ("resolved", "agreed")
    assert _penalties(users.helper) == -100
    assert db.session.scalar(select(func.count()).select_from(Flag).where(
        Flag.status == "open")) == 0
    assert client.get(f"/api/v1/posts/{answer.id}").status_code == 404  # hidden for visitors
    settle()
    for flagger in (users.other, users.asker):
        items = client.get("/api/v1/notifications", headers=token_for(flagger)).get_json()["items"]
        assert [item["kind"] for item in items if item["kind"].startswith("flag_")] == [
            "flag_agreed"]
    again = client.post(f"/api/v1/moderation/flags/{flag_id}/resolve", headers=moderator,
                        json={"outcome": "agreed"})
    assert_error(again, 409, "flag.resolved")

    dismissed = client.post(f"/api/v1/moderation/flags/{flag_id}/resolve", headers=moderator,
                            json={"outcome": "dismissed"})

    assert dismissed.status_code == 200
    assert _penalties(users.helper) == 0
    assert client.get(f"/api/v1/posts/{answer.id}").status_code == 200  # shown again


def test_dismissing_restores_what_flags_hid_and_costs_nothing(client, users, world, token_for):
    thread, answer, _ = world
    ids = [flag(client, token_for(u), answer.id).get_json()["id"]
           for u in (users.other, users.asker, make_user("third"))]
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["answers"] == []

    response = client.post(f"/api/v1/moderation/flags/{ids[1]}/resolve",
                           headers=token_for(users.moderator), json={"outcome": "dismissed"})

    assert response.status_code == 200
    assert [a["id"] for a in client.get(f"/api/v1/threads/{thread.id}").get_json()["answers"]] \
        == [answer.id]
    assert _penalties(users.helper) == 0


@pytest.mark.parametrize("body, code, field", [
    ({"outcome": "maybe"}, "flag.outcome", "outcome"),
    ({"outcome": "agreed", "hide": "yes"}, "hide.type", "hide"),
    ({"outcome": "agreed", "note": ["x"]}, "note.type", "note"),
])
def test_bad_resolutions_are_422_and_leave_the_flag_open(client, users, world, token_for, body,
                                                        code, field):
    _, answer, _ = world
    flag_id = flag(client, token_for(users.other), answer.id).get_json()["id"]

    response = client.post(f"/api/v1/moderation/flags/{flag_id}/resolve",
                           headers=token_for(users.moderator), json=body)

    assert_error(response, 422, code, field)
    assert db.session.get(Flag, flag_id).status == "open"


def test_the_flag_form_on_the_thread_page_works_without_javascript(client, users, world):
    thread, answer, _ = world
    login(client, "other")
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert f'action="/posts/{answer.id}/flag"' in page
    assert f'action="/posts/{thread.question.id}/hide"' not in page  # members cannot hide

    response = client.post(f"/posts/{answer.id}/flag", data={
        "csrf_token": csrf_token(client, f"/threads/{thread.id}"), "reason": "spam",
        "detail": "Followers for sale."})

    assert response.status_code == 302
    assert db.session.scalar(select(Flag.detail)) == "Followers for sale."
    refused = client.post(f"/posts/{answer.id}/flag", data={
        "csrf_token": csrf_token(client, f"/threads/{thread.id}"), "reason": "nonsense"})
    assert refused.status_code == 422 and flags_count() == 1


def test_the_flagger_is_told_without_the_title_of_a_thread_hidden_since(app, client, users, world,
                                                                         token_for, settle):
    thread, _, _ = world
    flag_id = flag(client, token_for(users.other), thread.question.id).get_json()["id"]
    client.post(f"/api/v1/moderation/flags/{flag_id}/resolve",
                headers=token_for(users.moderator), json={"outcome": "agreed", "hide": True})
    settle()

    items = client.get("/api/v1/notifications", headers=token_for(users.other)).get_json()["items"]

    told = [item for item in items if item["kind"] == "flag_agreed"]
    assert len(told) == 1 and thread.title not in told[0]["text"]
    assert told[0]["text"].startswith("Moderators agreed with your flag")
    assert told[0]["url"].endswith("/notifications")
    login(client, "other")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Moderators agreed with your flag" in page and thread.title not in page
