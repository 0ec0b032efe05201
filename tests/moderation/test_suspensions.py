"""Suspensions (issue 15, part C): suspend and unsuspend through the API, the profile page and
the command line; what a suspended user may still do; blocked bridged identities."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.bridge import generic
from community.extensions import db
from community.models import AuditEntry, ExternalIdentity, InboundMessage, OutboundMessage, Thread
from community.models.base import utcnow
from tests.bridge.conftest import add_channel, deliver
from tests.conftest import csrf_token, login
from tests.factories import make_thread, make_user

FUTURE = (utcnow() + timedelta(days=7)).date().isoformat()


def suspend(client, headers, user_id, until=FUTURE, reason="Spamming links"):
    return client.post(f"/api/v1/users/{user_id}/suspend", headers=headers,
                       json={"until": until, "reason": reason})


def test_a_moderator_suspends_and_the_user_reads_but_cannot_write(client, users, token_for,
                                                                events_seen):
    thread = make_thread(users.asker)
    asker_token = token_for(users.asker)  # minted before the suspension: still refused for writes

    response = suspend(client, token_for(users.moderator), users.asker.id)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["suspended"] is True and body["until"].startswith(FUTURE)
    assert body["reason"] == "Spamming links" and body["indefinite"] is False
    assert client.get(f"/api/v1/threads/{thread.id}", headers=asker_token).status_code == 200
    for method, path, payload in (
            ("POST", "/api/v1/threads", {"title": "Another question here", "body": "x",
                                         "tags": ["x"]}),
            ("POST", f"/api/v1/threads/{thread.id}/answers", {"body": "An answer"}),
            ("PUT", f"/api/v1/posts/{thread.question.id}/vote", {"value": 1})):
        refused = client.open(path, method=method, headers=asker_token, json=payload)
        assert refused.status_code == 403
        error = refused.get_json()["error"]
        assert error["code"] == "user.suspended"
        assert FUTURE in error["message"] and "Spamming links" in error["message"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.suspend"))
    assert (entry.actor_id, entry.target_id, entry.reason) == (users.moderator.id,
                                                               users.asker.id, "Spamming links")
    assert ("user.suspended", {"user_id": users.asker.id}) in events_seen


def test_unsuspend_lets_the_user_write_again(client, users, token_for):
    moderator = token_for(users.moderator)
    asker = token_for(users.asker)
    assert suspend(client, moderator, users.asker.id).status_code == 200

    response = client.post(f"/api/v1/users/{users.asker.id}/unsuspend", headers=moderator)

    assert response.status_code == 200 and response.get_json()["suspended"] is False
    created = client.post("/api/v1/threads", headers=asker, json={
        "title": "Back again after it", "body": "Hello.", "tags": ["general"]})
    assert created.status_code == 201
    again = client.post(f"/api/v1/users/{users.asker.id}/unsuspend", headers=moderator)
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "user.not_suspended"
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["user.suspend", "user.unsuspend"]


def test_indefinite_suspension_says_no_end_date(client, users, token_for):
    response = suspend(client, token_for(users.admin), users.asker.id, until=None)

    assert response.status_code == 200
    assert response.get_json()["indefinite"] is True and response.get_json()["until"] is None
    refused = client.post("/api/v1/threads", headers=token_for(users.other), json={})
    assert refused.status_code == 422  # others unaffected
    db.session.refresh(users.asker)
    assert users.asker.is_suspended


@pytest.mark.parametrize("until, reason, code", [
    ("2001-01-01", "Spam", "until.past"),
    ("2001-01-01T10:00:00+02:00", "Spam", "until.past"),
    ("next tuesday", "Spam", "until.invalid"),
    (12, "Spam", "until.invalid"),
    (FUTURE, "   ", "reason.required"),
    (FUTURE, None, "reason.required"),
], ids=["past-date", "past-datetime", "words", "number", "blank-reason", "no-reason"])
def test_bad_input_is_refused_and_changes_nothing(client, users, token_for, until, reason, code):
    response = suspend(client, token_for(users.moderator), users.asker.id, until, reason)

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    db.session.expire_all()
    assert not users.asker.is_suspended
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_missing_until_and_unknown_user(client, users, token_for):
    moderator = token_for(users.moderator)
    missing = client.post(f"/api/v1/users/{users.asker.id}/suspend", headers=moderator,
                          json={"reason": "x"})
    assert missing.status_code == 422
    assert missing.get_json()["error"]["code"] == "until.required"
    unknown = suspend(client, moderator, 999999)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "user.not_found"
    not_json = client.post(f"/api/v1/users/{users.asker.id}/suspend", headers=moderator,
                           data="[1]", content_type="application/json")
    assert not_json.status_code == 400


def test_staff_cannot_suspend_an_admin_but_an_admin_can(client, users, token_for):
    other_admin = make_user("second_admin", role="admin")

    by_moderator = suspend(client, token_for(users.moderator), other_admin.id)
    by_admin = suspend(client, token_for(users.admin), other_admin.id)
    by_self = suspend(client, token_for(users.admin), users.admin.id)

    assert by_moderator.status_code == 403
    assert by_moderator.get_json()["error"]["code"] == "suspend.admin"
    assert by_admin.status_code == 200
    assert by_self.status_code == 403 and by_self.get_json()["error"]["code"] == "suspend.self"


def test_a_suspended_session_is_refused_with_the_reason_on_pages(client, users, token_for):
    thread = make_thread(users.asker)
    login(client, "asker")
    token = csrf_token(client, f"/threads/{thread.id}")
    assert suspend(client, token_for(users.moderator), users.asker.id).status_code == 200

    page = client.post(f"/threads/{thread.id}/answers",
                       data={"csrf_token": token, "body": "My own answer"})

    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "user.suspended" in text or "suspended" in text
    assert "Spamming links" in text


def test_the_profile_form_suspends_and_unsuspends(client, users):
    login(client, "kestrel_mod")
    profile = f"/users/{users.asker.id}"
    page = client.get(profile).get_data(as_text=True)
    assert "Suspend asker" in page
    token = csrf_token(client, profile)

    past = client.post(f"{profile}/suspend", data={"csrf_token": token, "until": "2001-01-01",
                                                   "reason": "Spam"})
    assert past.status_code == 422 and "future" in past.get_data(as_text=True)
    done = client.post(f"{profile}/suspend", data={"csrf_token": token, "until": FUTURE,
                                                   "reason": "Rude replies"})
    assert done.status_code == 302
    page = client.get(profile).get_data(as_text=True)
    assert "Rude replies" in page and "Unsuspend asker" in page
    db.session.expire_all()
    assert users.asker.is_suspended

    assert client.post(f"{profile}/unsuspend", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert not users.asker.is_suspended


def test_members_see_no_suspend_form_and_cannot_post_it(client, users):
    login(client, "helper")
    profile = f"/users/{users.asker.id}"
    assert "Suspend asker" not in client.get(profile).get_data(as_text=True)
    response = client.post(f"{profile}/suspend", data={"csrf_token": csrf_token(client, "/ask"),
                                                       "until": FUTURE, "reason": "x"})
    assert response.status_code == 403
    db.session.expire_all()
    assert not users.asker.is_suspended


def test_cli_suspends_and_unsuspends(runner, users):
    result = runner.invoke(args=["users", "suspend", "asker", "--until", FUTURE,
                                 "--reason", "Spam"])
    assert result.exit_code == 0, result.output
    assert FUTURE in result.output
    db.session.expire_all()
    assert users.asker.is_suspended and users.asker.suspension_reason == "Spam"
    entry = db.session.scalar(select(AuditEntry))
    assert entry.actor_id is None and entry.action == "user.suspend"

    result = runner.invoke(args=["users", "unsuspend", "asker"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not users.asker.is_suspended


def test_cli_indefinitely_and_bad_input(runner, users):
    result = runner.invoke(args=["users", "suspend", "asker", "--indefinitely", "--reason", "Spam"])
    assert result.exit_code == 0 and "no end date" in result.output
    for args, expected in (
            (["users", "suspend", "helper", "--until", "2001-01-01", "--reason", "x"], "until.past"),
            (["users", "suspend", "nobody", "--indefinitely", "--reason", "x"], "user.not_found"),
            (["users", "suspend", "helper", "--reason", "x"], "exactly one"),
            (["users", "suspend", "helper", "--until", FUTURE, "--indefinitely", "--reason", "x"],
             "exactly one"),
            (["users", "unsuspend", "helper"], "user.not_suspended")):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and expected in result.output, (args, result.output)
    db.session.expire_all()
    assert not users.helper.is_suspended


# ---- blocked bridged identities ------------------------------------------------------------

SECRET = "moderation-secret"


def _message(client, n: int, author: str = "cust-1") -> None:
    body = json.dumps({"activities": [{
        "type": "message", "id": f"m{n}", "conversation": f"c{n}", "author": {"id": author},
        "text": f"My calls keep dropping, message {n}", "timestamp": int(time.time())}]}).encode()
    response = deliver(client, "partner", body, generic.sign(SECRET, body))
    assert response.status_code == 200, response.get_json()


def test_a_blocked_identity_makes_no_threads_and_gets_no_acks(client, users, token_for):
    add_channel("generic", "partner", secret=SECRET, callback_url="http://127.0.0.1:9/x")
    _message(client, 1)
    identity = db.session.scalar(select(ExternalIdentity))
    threads_before = db.session.scalar(select(func.count()).select_from(Thread))
    acks_before = db.session.scalar(select(func.count()).select_from(OutboundMessage))
    moderator = token_for(users.moderator)

    member = client.post(f"/api/v1/bridge/identities/{identity.id}/block",
                         headers=token_for(users.helper), json={"reason": "Abuse"})
    no_reason = client.post(f"/api/v1/bridge/identities/{identity.id}/block", headers=moderator,
                            json={})
    blocked = client.post(f"/api/v1/bridge/identities/{identity.id}/block", headers=moderator,
                          json={"reason": "Abuse"})
    _message(client, 2)

    assert member.status_code == 403 and member.get_json()["error"]["code"] == "moderator.required"
    assert no_reason.status_code == 422
    assert blocked.status_code == 200 and blocked.get_json()["blocked"] is True
    db.session.expire_all()
    row = db.session.scalar(select(InboundMessage).where(InboundMessage.external_id == "m2"))
    assert row.outcome == "blocked" and row.thread_id is None
    assert db.session.scalar(select(func.count()).select_from(Thread)) == threads_before
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == acks_before
    listed = client.get("/api/v1/bridge/inbound", headers=token_for(users.staff)).get_json()
    shown = {item["external_id"]: item for item in listed["items"]}
    assert shown["m2"]["outcome"] == "blocked" and shown["m2"]["author"]["blocked"] is True

    unblocked = client.post(f"/api/v1/bridge/identities/{identity.id}/unblock", headers=moderator)
    assert unblocked.status_code == 200 and unblocked.get_json()["blocked"] is False
    _message(client, 3)
    db.session.expire_all()
    assert db.session.scalar(select(InboundMessage.outcome).where(
        InboundMessage.external_id == "m3")) == "thread"
    missing = client.post("/api/v1/bridge/identities/999999/block", headers=moderator,
                          json={"reason": "x"})
    assert missing.status_code == 404
