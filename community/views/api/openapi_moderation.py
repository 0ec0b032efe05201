"""The OpenAPI description of flags, the moderation queue, hiding and restoring
(views/api/moderation.py), added to the document in openapi.py (which stays under 500 lines)."""

from __future__ import annotations

from typing import Any

from community.views.api.openapi import (INT, LIST_PARAMS, PATHS, SCHEMAS, STR, TIME, _list_of,
                                         _obj, _op, _path, _query, _ref)

NULL_INT = {"type": ["integer", "null"]}
HIDDEN = {"oneOf": [{"type": "null"}, _obj(["reason"], reason=STR)],
          "description": "Why moderators hid it (only staff and its author get hidden content)."}
TARGET = _obj(["kind", "id", "thread_id"], kind={"enum": ["post", "comment", "thread"]}, id=INT,
              thread_id=INT)
REASONS = {"enum": ["spam", "abusive", "off_topic", "duplicate", "needs_staff", "other"]}
MODERATE_ERRORS = (400, 401, 403, 404, 413, 422)

MODERATION_SCHEMAS: dict[str, Any] = {
    "Flag": _obj(["id", "target", "reason", "status"], id=INT, target=TARGET, reason=REASONS,
                 detail=STR, duplicate_of=NULL_INT, flagger=_ref("Author"),
                 status={"enum": ["open", "resolved"]},
                 outcome={"enum": ["agreed", "dismissed", None]}, note=STR, created_at=TIME,
                 resolved_at={"type": ["string", "null"]}),
    "QueueItem": _obj(
        ["id", "status", "target", "reasons", "flag_count", "flags", "author_history"], id=INT,
        status={"enum": ["open", "resolved"]}, outcome={"enum": ["agreed", "dismissed", None]},
        target={"allOf": [TARGET, _obj([], thread_title=STR, url=STR, body=STR, body_html=STR,
                                       author=_ref("Author"), hidden=HIDDEN)]},
        reasons={"type": "object", "additionalProperties": INT}, flag_count=INT,
        flags={"type": "array", "items": {"type": "object"}},
        author_history=_obj(["agreed_flags", "suspensions"], agreed_flags=INT, suspensions=INT,
                            suspended_until={"type": ["string", "null"]})),
    "Moderated": _obj(["target", "hidden"], target=TARGET, hidden=HIDDEN),
}


def _flag_path(param: str, what: str) -> dict[str, Any]:
    return {"parameters": [_path(param)], "post": _op(
        f"Flag a {what} for moderators (members; not your own)", 201, _ref("Flag"),
        errors=(400, 401, 403, 404, 409, 413, 422, 429), auth=True,
        body=_obj(["reason"], reason=REASONS, detail=STR,
                  duplicate_of={"type": "integer", "description": "For `duplicate`: the "
                                                                  "visible thread it repeats."}))}


def _moderate_paths(prefix: str, param: str, what: str) -> dict[str, Any]:
    return {
        f"{prefix}/{{{param}}}/hide": {"parameters": [_path(param)], "post": _op(
            f"Hide a {what} with a reason (moderators)", 200, _ref("Moderated"),
            errors=MODERATE_ERRORS, auth=True, body=_obj(["reason"], reason=STR))},
        f"{prefix}/{{{param}}}/restore": {"parameters": [_path(param)], "post": _op(
            f"Show a hidden {what} again (moderators)", 200, _ref("Moderated"),
            errors=MODERATE_ERRORS, auth=True)},
    }


MODERATION_PATHS: dict[str, Any] = {
    "/posts/{post_id}/flags": _flag_path("post_id", "post"),
    "/comments/{comment_id}/flags": _flag_path("comment_id", "comment"),
    "/moderation/flags": {"get": _op(
        "The moderation queue: one item per flagged post or comment, oldest first (staff)", 200,
        _list_of("QueueItem"), errors=(400, 401, 403, 422), auth=True,
        params=[_query("status", {"enum": ["open", "resolved"]}, "Default open."),
                *LIST_PARAMS])},
    "/moderation/flags/{flag_id}/resolve": {"parameters": [_path("flag_id")], "post": _op(
        "Resolve every open flag on the flag's target (moderators); again on a resolved "
        "flag: decide again", 200, _ref("Flag"), errors=(400, 401, 403, 404, 409, 413, 422),
        auth=True, body=_obj(["outcome"], outcome={"enum": ["agreed", "dismissed"]}, note=STR,
                             hide={"type": "boolean", "description": "With agreed: hide it."}))},
    **_moderate_paths("/posts", "post_id", "post (a question: its thread)"),
    **_moderate_paths("/comments", "comment_id", "comment"),
    **_moderate_paths("/threads", "thread_id", "thread"),
}

SCHEMAS.update(MODERATION_SCHEMAS)
PATHS.update(MODERATION_PATHS)
