"""The OpenAPI description of suspensions, blocked channel identities and held posts
(views/api/suspensions.py, held.py), added to the document in openapi.py."""

from __future__ import annotations

from typing import Any

from community.views.api.openapi import (INT, LIST_PARAMS, PATHS, SCHEMAS, STR, _list_of, _obj,
                                         _op, _path, _ref)

NULLABLE_STR = {"type": ["string", "null"]}
REASON_BODY = _obj([], reason=STR)

TRUST_SCHEMAS: dict[str, Any] = {
    "Suspension": _obj(
        ["user", "suspended", "until", "indefinite", "reason"], user=_ref("Author"),
        suspended={"type": "boolean"},
        until={"type": ["string", "null"], "format": "date-time",
               "description": "When it ends; null when not suspended or with no end date."},
        indefinite={"type": "boolean"}, reason=STR),
    "Identity": _obj(["id", "channel", "external_id", "blocked", "user"], id=INT, channel=STR,
                     external_id=STR, handle=NULLABLE_STR, display_name=NULLABLE_STR,
                     blocked={"type": "boolean"}, user=_ref("Author")),
    "HeldPost": _obj(
        ["post", "thread", "held", "hidden", "hidden_reason", "reasons"], post=_ref("Post"),
        thread=_obj(["id", "title"], id=INT, title=STR), held={"type": "boolean"},
        hidden={"type": "boolean"}, hidden_reason=STR,
        reasons={"type": "array", "items": STR,
                 "description": "What the spam checker notices, e.g. banned_word:casino."}),
}


def _user_action(summary: str, body: dict[str, Any] | None) -> dict[str, Any]:
    return {"parameters": [_path("user_id")], "post": _op(
        summary, 200, _ref("Suspension"), errors=(400, 401, 403, 404, 413, 422), auth=True,
        body=body)}


def _identity_action(summary: str, body: dict[str, Any] | None) -> dict[str, Any]:
    return {"parameters": [_path("identity_id")], "post": _op(
        summary, 200, _ref("Identity"), errors=(400, 401, 403, 404, 413, 422), auth=True, body=body)}


def _held_action(summary: str, body: dict[str, Any] | None) -> dict[str, Any]:
    return {"parameters": [_path("post_id")], "post": _op(
        summary, 200, _ref("HeldPost"), errors=(400, 401, 403, 404, 409, 413, 422), auth=True,
        body=body)}


TRUST_PATHS: dict[str, Any] = {
    "/users/{user_id}/suspend": _user_action(
        "Suspend a user until a date (null: no end date), with a reason (moderators; only an "
        "admin suspends an admin)",
        _obj(["until", "reason"], until={"type": ["string", "null"],
                                          "description": "ISO date or date-time in the future"},
             reason=STR)),
    "/users/{user_id}/unsuspend": _user_action("End a suspension now (moderators)", None),
    "/bridge/identities/{identity_id}/block": _identity_action(
        "Block a channel identity: its messages are kept, make no threads, get no acks "
        "(moderators)", _obj(["reason"], reason=STR)),
    "/bridge/identities/{identity_id}/unblock": _identity_action(
        "Unblock a channel identity (moderators)", None),
    "/moderation/held": {"get": _op(
        "Posts the spam checker held, oldest first (staff)", 200, _list_of("HeldPost"),
        errors=(400, 401, 403), auth=True, params=[*LIST_PARAMS])},
    "/moderation/held/{post_id}/approve": _held_action(
        "Publish a held post (moderators)", None),
    "/moderation/held/{post_id}/reject": _held_action(
        "Keep a held post hidden, with a reason (moderators)", REASON_BODY),
}

SCHEMAS.update(TRUST_SCHEMAS)
PATHS.update(TRUST_PATHS)
