"""The permission matrix: every write action × every kind of actor, through the JSON API.

Each case sets up one thread (asked by `asker`, answered by `helper`), sends one request as the
actor, and checks either the success status and its effect, or the exact refusal (401
`auth.required` for anonymous callers, 403 with the rule's code otherwise) and that nothing
changed. The expected table is written out in full so a change to services/permissions.py has to
change a row here too (STYLE.md, "Where does it go?").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from sqlalchemy import select

from community.extensions import db
from community.models import Flag
from community.services.moderation import flags, hiding
from community.models.base import utcnow
from community.services import accounts, answers, audit
from tests.factories import make_answer, make_thread, make_user

ACTIONS = ("ask", "answer", "comment", "edit_own", "edit_other", "accept", "unaccept", "endorse",
           "unendorse", "upvote", "downvote", "vote_own", "follow", "end_sessions")
# asker: wrote the thread; member: another plain member; trusted: a member with the reputation
# to edit others' posts; suspended: the asker, suspended (so suspension is the only reason left).
ROLES = ("anonymous", "asker", "member", "trusted", "suspended", "staff", "moderator", "admin")

OK = None
LOGIN = (401, "auth.required")
SUSPENDED = (403, "user.suspended")
NOT_AUTHOR = (403, "post.not_author")
NOT_ASKER = (403, "accept.not_asker")
NOT_STAFF = (403, "staff.required")
LOCKED = (403, "thread.locked")
OWN_POST = (403, "vote.own_post")
LOW_REP = (403, "vote.downvote_reputation")


def _row(anonymous, asker, member, trusted, suspended, staff, moderator, admin) -> dict[str, Any]:
    return dict(zip(ROLES, (anonymous, asker, member, trusted, suspended, staff, moderator, admin)))


# Columns, in _row's order: anonymous, asker, member, trusted, suspended, staff, moderator, admin.
MATRIX = {
    "ask":        _row(LOGIN,    OK,         OK,         OK,         SUSPENDED, OK,   OK,       OK),
    "answer":     _row(LOGIN,    OK,         OK,         OK,         SUSPENDED, OK,   OK,       OK),
    "comment":    _row(LOGIN,    OK,         OK,         OK,         SUSPENDED, OK,   OK,       OK),
    "edit_own":   _row(LOGIN,    OK,         OK,         OK,         SUSPENDED, OK,   OK,       OK),
    "edit_other": _row(LOGIN,    NOT_AUTHOR, NOT_AUTHOR, OK,         SUSPENDED, OK,   OK,       OK),
    "accept":     _row(LOGIN,    OK,         NOT_ASKER,  NOT_ASKER,  SUSPENDED, OK,   OK,       OK),
    "unaccept":   _row(LOGIN,    OK,         NOT_ASKER,  NOT_ASKER,  SUSPENDED, OK,   OK,       OK),
    "endorse":    _row(LOGIN,    NOT_STAFF,  NOT_STAFF,  NOT_STAFF,  SUSPENDED, OK,   OK,       OK),
    "unendorse":  _row(LOGIN,    NOT_STAFF,  NOT_STAFF,  NOT_STAFF,  SUSPENDED, OK,   OK,       OK),
    # Votes go on the helper's answer; downvoting needs reputation 50 (staff may always).
    "upvote":     _row(LOGIN,    OK,         OK,         OK,         SUSPENDED, OK,   OK,       OK),
    "downvote":   _row(LOGIN,    LOW_REP,    LOW_REP,    OK,         SUSPENDED, OK,   OK,       OK),
    "vote_own":   _row(LOGIN,    OWN_POST,   OWN_POST,   OWN_POST,   SUSPENDED, OWN_POST, OWN_POST, OWN_POST),
    # Following only changes what the follower is told: suspension does not stop it.
    "follow":     _row(LOGIN,    OK,         OK,         OK,         OK,        OK,   OK,       OK),
    # Logging oneself out everywhere: suspension does not stop it either.
    "end_sessions": _row(LOGIN,  OK,         OK,         OK,         OK,        OK,   OK,       OK),
}
# Moderators act on threads and read the audit log (services/moderation/threads.py, audit.py).
NOT_MOD = (403, "moderator.required")
MODERATION_ACTIONS = ("lock", "unlock", "duplicate", "reopen", "merge", "audit_read")
ACTIONS += MODERATION_ACTIONS
MATRIX.update({action: _row(LOGIN, NOT_MOD, NOT_MOD, NOT_MOD, SUSPENDED, NOT_MOD, OK, OK)
               for action in MODERATION_ACTIONS})
# Moderators suspend members (only an admin suspends an admin) and review held posts
# (services/moderation/suspensions.py, held.py); the target is the helper or their answer.
SUSPEND_ADMIN = (403, "suspend.admin")
REVIEW_ACTIONS = ("suspend", "unsuspend", "approve", "reject")
ACTIONS += REVIEW_ACTIONS + ("suspend_admin",)
MATRIX.update({action: _row(LOGIN, NOT_MOD, NOT_MOD, NOT_MOD, SUSPENDED, NOT_MOD, OK, OK)
               for action in REVIEW_ACTIONS})
MATRIX["suspend_admin"] = _row(LOGIN, NOT_MOD, NOT_MOD, NOT_MOD, SUSPENDED, NOT_MOD,
                               SUSPEND_ADMIN, OK)
# Members flag others' posts; moderators hide, restore and resolve flags
# (services/moderation/flags.py, hiding.py); the target is the helper's answer.
OWN_CONTENT = (403, "flag.own_content")
FLAG_ACTIONS = ("flag", "flag_own", "hide", "restore", "resolve")
ACTIONS += FLAG_ACTIONS
MATRIX["flag"] = _row(LOGIN, OK, OK, OK, SUSPENDED, OK, OK, OK)
MATRIX["flag_own"] = _row(LOGIN, OWN_CONTENT, OWN_CONTENT, OWN_CONTENT, SUSPENDED, OWN_CONTENT,
                          OWN_CONTENT, OWN_CONTENT)
MATRIX["hide"] = _row(LOGIN, NOT_MOD, NOT_MOD, NOT_MOD, SUSPENDED, NOT_MOD, OK, OK)
# A hidden answer does not exist for members (404, as on every other path); staff see it.
HIDDEN_POST = (404, "post.not_found")
MATRIX["restore"] = _row(LOGIN, HIDDEN_POST, HIDDEN_POST, HIDDEN_POST, HIDDEN_POST, NOT_MOD, OK,
                         OK)
# Flags are read by staff (the queue) and decided by moderators.
MATRIX["resolve"] = _row(LOGIN, NOT_STAFF, NOT_STAFF, NOT_STAFF, SUSPENDED, NOT_MOD, OK, OK)
# Admins manage outbound webhooks and read the event feed (services/webhooks.py).
NOT_ADMIN = (403, "user.not_admin")
WEBHOOK_ACTIONS = ("webhooks_manage", "events_read")
ACTIONS += WEBHOOK_ACTIONS
MATRIX.update({action: _row(LOGIN, NOT_ADMIN, NOT_ADMIN, NOT_ADMIN, SUSPENDED, NOT_ADMIN,
                            NOT_ADMIN, OK) for action in WEBHOOK_ACTIONS})
# The staff triage queue (services/triage/): staff, moderators and admins read it and claim.
TRIAGE_ACTIONS = ("triage_read", "triage_claim")
ACTIONS += TRIAGE_ACTIONS
MATRIX.update({action: _row(LOGIN, NOT_STAFF, NOT_STAFF, NOT_STAFF, SUSPENDED, OK, OK, OK)
               for action in TRIAGE_ACTIONS})
# Everyone edits their own account (PATCH /api/v1/me, services/profiles.py): notification email
# even while suspended (account.edit), the public profile only as an active member (profile.edit).
ACTIONS += ("edit_account", "edit_profile")
MATRIX["edit_account"] = _row(LOGIN, OK, OK, OK, OK, OK, OK, OK)
MATRIX["edit_profile"] = _row(LOGIN, OK, OK, OK, SUSPENDED, OK, OK, OK)
# On a locked thread only moderators and admins may still reply (DESIGN.md: moderators lock).
LOCKED_MATRIX = {
    action: _row(LOGIN, LOCKED, LOCKED, LOCKED, SUSPENDED, LOCKED, OK, OK)
    for action in ("answer", "comment")
}
# Votes on a locked thread are closed for everyone.
LOCKED_MATRIX["upvote"] = _row(LOGIN, LOCKED, LOCKED, LOCKED, SUSPENDED, LOCKED, LOCKED, LOCKED)

CASES = [pytest.param(action, role, False, expected, id=f"{action}-{role}")
         for action, row in MATRIX.items() for role, expected in row.items()]
CASES += [pytest.param(action, role, True, expected, id=f"locked-{action}-{role}")
          for action, row in LOCKED_MATRIX.items() for role, expected in row.items()]


@dataclass
class World:
    thread: Any
    answer: Any  # the helper's answer
    actor: Any  # None for anonymous
    own_post: Any  # a post the actor wrote (the question for the asker), or None
    token: str | None = None  # a token issued before a suspension (none can be minted after)
    other: Any = None  # a second thread (to close the first as a duplicate of, or merge into)
    target_user: Any = None  # the user a suspension is about


def build(role: str, action: str, locked: bool) -> World:
    """The thread, its answer and the actor, in the state the action needs before it is tried."""
    asker = make_user("asker")
    helper = make_user("helper")
    thread = make_thread(asker, title="Roaming stopped in Spain", body="No data since Monday.")
    answer = make_answer(helper, thread, "Turn on data roaming.")
    actor = {
        "anonymous": lambda: None,
        "asker": lambda: asker,
        "suspended": lambda: asker,
        "member": lambda: make_user("other"),
        "trusted": lambda: make_user("trusted", reputation=1000),
        "staff": lambda: make_user("kestrel_staff", role="staff"),
        "moderator": lambda: make_user("kestrel_mod", role="moderator"),
        "admin": lambda: make_user("kestrel_admin", role="admin"),
    }[role]()
    own_post = None
    if actor is asker:
        own_post = thread.question
    elif actor is not None and action in ("edit_own", "vote_own", "flag_own"):
        own_post = make_answer(actor, thread, "My own answer, to be edited.")
    if action == "unaccept":
        answers.accept(asker, thread, answer)
    if action == "unendorse":
        answers.endorse(make_user("endorser", role="staff"), answer)
    other = None
    if action in ("duplicate", "reopen", "merge"):
        other = make_thread(helper, title="Roaming broken in Spain too", body="Same here.")
    if action == "reopen":
        thread.duplicate_of_id = other.id
    if action == "unlock":
        thread.is_locked, thread.locked_reason = True, "Heated"
    if action == "audit_read":
        audit.record(None, "thread.lock", "thread", thread.id, reason="Heated")
    target_user = helper
    if action == "suspend_admin":
        target_user = make_user("target_admin", role="admin")
    if action == "unsuspend":
        helper.suspended_until, helper.suspension_reason = utcnow() + timedelta(days=3), "Spam"
    if action in ("approve", "reject"):  # held as the spam checker holds (services/threads.py)
        answer.is_pending, answer.is_hidden = True, True
    if action == "restore":
        hiding.apply_hide(None, answer, "Spam")
    if action == "resolve":
        flags.flag(make_user("flagger"), answer, "spam")
    token = None
    if role == "suspended":
        token = accounts.issue_token(asker)
        asker.suspended_until = utcnow() + timedelta(days=7)
    if locked:
        thread.is_locked = True
    db.session.commit()
    return World(thread, answer, actor, own_post, token, other, target_user)


def _first_flag_id() -> int | None:
    return db.session.scalar(select(Flag.id).order_by(Flag.id))


def request_for(action: str, world: World) -> tuple[str, str, dict | None]:
    thread, answer = world.thread, world.answer
    target = world.own_post or thread.question  # anonymous callers own nothing
    return {
        "ask": ("POST", "/api/v1/threads", {"title": "My own question about billing",
                                            "body": "Charged twice.", "tags": ["billing"]}),
        "answer": ("POST", f"/api/v1/threads/{thread.id}/answers", {"body": "Try a restart."}),
        "comment": ("POST", f"/api/v1/posts/{thread.question.id}/comments",
                    {"body": "Which phone?"}),
        "edit_own": ("PATCH", f"/api/v1/posts/{target.id}", {"body": "Edited by its author."}),
        "edit_other": ("PATCH", f"/api/v1/posts/{answer.id}", {"body": "Edited by someone else."}),
        "accept": ("POST", f"/api/v1/threads/{thread.id}/accept", {"post_id": answer.id}),
        "unaccept": ("DELETE", f"/api/v1/threads/{thread.id}/accept", None),
        "endorse": ("POST", f"/api/v1/posts/{answer.id}/endorse", None),
        "unendorse": ("DELETE", f"/api/v1/posts/{answer.id}/endorse", None),
        "upvote": ("PUT", f"/api/v1/posts/{answer.id}/vote", {"value": 1}),
        "downvote": ("PUT", f"/api/v1/posts/{answer.id}/vote", {"value": -1}),
        "vote_own": ("PUT", f"/api/v1/posts/{target.id}/vote", {"value": 1}),
        "follow": ("PUT", f"/api/v1/threads/{thread.id}/follow", None),
        "end_sessions": ("DELETE", "/api/v1/me/sessions", None),
        "lock": ("POST", f"/api/v1/threads/{thread.id}/lock", {"reason": "Heated"}),
        "unlock": ("POST", f"/api/v1/threads/{thread.id}/unlock", None),
        "duplicate": ("POST", f"/api/v1/threads/{thread.id}/duplicate",
                      {"of": world.other.id if world.other else None}),
        "reopen": ("POST", f"/api/v1/threads/{thread.id}/reopen", None),
        "merge": ("POST", f"/api/v1/threads/{thread.id}/merge",
                  {"into": world.other.id if world.other else None}),
        "audit_read": ("GET", "/api/v1/moderation/audit", None),
        "suspend": ("POST", f"/api/v1/users/{world.target_user.id}/suspend",
                    {"until": None, "reason": "Spam"}),
        "suspend_admin": ("POST", f"/api/v1/users/{world.target_user.id}/suspend",
                          {"until": None, "reason": "Spam"}),
        "unsuspend": ("POST", f"/api/v1/users/{world.target_user.id}/unsuspend", None),
        "approve": ("POST", f"/api/v1/moderation/held/{answer.id}/approve", None),
        "reject": ("POST", f"/api/v1/moderation/held/{answer.id}/reject", None),
        "flag": ("POST", f"/api/v1/posts/{answer.id}/flags", {"reason": "spam"}),
        "flag_own": ("POST", f"/api/v1/posts/{target.id}/flags", {"reason": "spam"}),
        "hide": ("POST", f"/api/v1/posts/{answer.id}/hide", {"reason": "Spam"}),
        "restore": ("POST", f"/api/v1/posts/{answer.id}/restore", None),
        "resolve": ("POST", f"/api/v1/moderation/flags/{_first_flag_id()}/resolve",
                    {"outcome": "dismissed"}),
        "webhooks_manage": ("POST", "/api/v1/webhooks",
                            {"url": "http://127.0.0.1:9/hooks", "events": ["*"]}),
        "events_read": ("GET", "/api/v1/events", None),
        "triage_read": ("GET", "/api/v1/staff/triage", None),
        "triage_claim": ("POST", f"/api/v1/staff/triage/{thread.id}/claim", None),
        "edit_account": ("PATCH", "/api/v1/me", {"email_notifications": "never"}),
        "edit_profile": ("PATCH", "/api/v1/me", {"location": "Lisbon"}),
    }[action]


def snapshot(client, world: World) -> dict:
    """Everything a refused request could have changed, as the public API shows it."""
    return {"thread": client.get(f"/api/v1/threads/{world.thread.id}").get_json(),
            "list": client.get("/api/v1/threads?limit=100").get_json()}


def check_effect(action: str, world: World, data: dict) -> None:
    actor, answer = world.actor, world.answer
    if action == "ask":
        assert data["author"]["id"] == actor.id
    elif action == "answer":
        assert data["kind"] == "answer" and data["author"]["id"] == actor.id
    elif action == "comment":
        assert data["post_id"] == world.thread.question.id and data["author"]["id"] == actor.id
    elif action in ("edit_own", "edit_other"):
        assert data["body"].startswith("Edited by")
    elif action == "accept":
        assert data["accepted_answer_id"] == answer.id
    elif action == "unaccept":
        assert data["accepted_answer_id"] is None
    elif action == "endorse":
        assert data["endorsed"]["by"]["id"] == actor.id
    elif action == "unendorse":
        assert data["endorsed"] is None
    elif action == "follow":
        assert data == {"thread_id": world.thread.id, "following": True}
    elif action == "end_sessions":
        assert data == {"ended": 0}  # the actor's API token is no browser session
    elif action in ("lock", "unlock"):
        assert data["is_locked"] is (action == "lock")
        assert data["locked_reason"] == ("Heated" if action == "lock" else None)
    elif action in ("duplicate", "reopen"):
        assert data["duplicate_of_id"] == (world.other.id if action == "duplicate" else None)
    elif action == "merge":
        assert data["id"] == world.other.id
        assert [post["id"] for post in data["answers"]] == [answer.id]
    elif action in ("suspend", "suspend_admin", "unsuspend"):
        assert data["user"]["id"] == world.target_user.id
        assert data["suspended"] is (action != "unsuspend")
    elif action in ("approve", "reject"):
        assert data["post"]["id"] == answer.id and data["held"] is False
        assert data["hidden"] is (action == "reject")
    elif action == "audit_read":
        assert [(item["action"], item["target"]["id"]) for item in data["items"]] == [
            ("thread.lock", world.thread.id)]
    elif action in ("flag", "hide", "restore", "resolve"):
        assert {"flag": data.get("flagger", {}).get("id") == (actor.id if actor else None),
                "hide": data.get("hidden") == {"reason": "Spam"},
                "restore": data.get("hidden", "absent") is None,
                "resolve": data.get("outcome") == "dismissed"}[action], data
    elif action == "triage_claim":
        assert data["claimed_by"]["id"] == actor.id, data
    elif action == "triage_read":
        assert data["next_cursor"] is None and isinstance(data["items"], list), data
    elif action == "webhooks_manage":
        assert data["url"] == "http://127.0.0.1:9/hooks" and data["secret"]
    elif action == "events_read":
        assert [item["type"] for item in data["items"]] == ["thread.created", "answer.created"]
    elif action in ("edit_account", "edit_profile"):
        assert data["id"] == actor.id
        assert (data["email_notifications"] == "never" if action == "edit_account"
                else data["location"] == "Lisbon"), data
    elif action in ("upvote", "downvote"):
        value = 1 if action == "upvote" else -1
        assert (data["post_id"], data["value"], data["score"]) == (answer.id, value, value)


SUCCESS_STATUS = {"ask": 201, "answer": 201, "comment": 201, "flag": 201, "triage_claim": 201,
                  "webhooks_manage": 201}


@pytest.mark.parametrize("action, role, locked, expected", CASES)
def test_permission_matrix(client, ctx, token_for, action, role, locked, expected):
    world = build(role, action, locked)
    method, path, payload = request_for(action, world)
    headers = ({"Authorization": f"Bearer {world.token}"} if world.token
               else token_for(world.actor) if world.actor is not None else {})
    before = snapshot(client, world)

    response = client.open(path, method=method, headers=headers, json=payload)

    body = response.get_json()
    if expected is OK:
        assert response.status_code == SUCCESS_STATUS.get(action, 200), body
        check_effect(action, world, body)
    else:
        status, code = expected
        assert response.status_code == status, body
        assert body == {"error": {"code": code, "message": body["error"]["message"]}}
        assert body["error"]["message"]
        assert snapshot(client, world) == before, "a refused request changed something"


def test_the_matrix_covers_every_action_and_role():
    assert set(MATRIX) == set(ACTIONS)
    assert all(set(row) == set(ROLES) for row in MATRIX.values())


def test_a_suspension_that_has_ended_no_longer_refuses(client, ctx, token_for):
    member = make_user("asker")
    member.suspended_until = utcnow() - timedelta(minutes=1)
    db.session.commit()

    response = client.post("/api/v1/threads", headers=token_for(member), json={
        "title": "Back after a suspension", "body": "Hello again.", "tags": ["general"]})

    assert response.status_code == 201, response.get_json()


def test_reputation_just_below_the_threshold_does_not_let_a_member_edit_others(client, ctx,
                                                                               token_for):
    asker = make_user("asker")
    thread = make_thread(asker)
    almost = make_user("almost", reputation=999)

    response = client.patch(f"/api/v1/posts/{thread.question.id}", headers=token_for(almost),
                            json={"body": "Edited by someone else."})

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "post.not_author"
