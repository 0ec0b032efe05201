"""API: GET /api/v1/openapi.json, the OpenAPI 3.1 description of every endpoint."""

from __future__ import annotations

from typing import Any

from community.views.api.common import bp

ERROR = {"$ref": "#/components/schemas/Error"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: int, schema: dict[str, Any] | None, *, errors: tuple[int, ...] = (),
        body: dict[str, Any] | None = None, params: list[dict[str, Any]] | None = None,
        auth: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {str(ok): {"description": "OK", **(_json(schema) if schema else {})}}
    for status in errors:
        responses[str(status)] = {"description": "Error", **_json(ERROR)}
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    if auth:
        op["security"] = [{"bearer": []}, {"session": []}]
    return op


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _path(name: str, kind: str = "integer") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


STR = {"type": "string"}
INT = {"type": "integer"}
TIME = {"type": "string", "format": "date-time"}
TAGS = {"oneOf": [{"type": "array", "items": STR, "minItems": 1, "maxItems": 5}, STR]}
LIST_PARAMS = [_query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size."),
               _query("cursor", STR, "next_cursor from the previous page.")]
WRITE_ERRORS = (400, 401, 403, 404, 413, 422, 429)
EDIT_BODY = _obj([], title=STR, tags=TAGS, body=STR, summary=STR)


def _list_of(name: str) -> dict[str, Any]:
    return _obj(["items", "next_cursor"], items={"type": "array", "items": _ref(name)},
                next_cursor={"type": ["string", "null"]})


SCHEMAS = {
    "Notification": _obj(
        ["id", "kind", "text", "url", "thread_id", "read", "created_at"], id=INT,
        kind={"enum": ["answer", "comment", "accepted", "endorsed", "mention", "activity",
                       "flag_agreed", "flag_dismissed"]},
        text=STR, url=STR, thread_id=INT, post_id={"type": ["integer", "null"]},
        comment_id={"type": ["integer", "null"]},
        actor={"oneOf": [_ref("Author"), {"type": "null"}]}, read={"type": "boolean"},
        created_at=TIME),
    "NotificationSettings": _obj(["email"], email={"enum": ["immediately", "daily", "never"]}),
    "Following": _obj(["thread_id", "following"], thread_id=INT, following={"type": "boolean"}),
    "Channel": _obj(
        ["id", "kind", "slug", "name", "enabled", "settings", "webhook_url"], id=INT,
        kind={"enum": ["whatsapp", "messenger", "instagram", "telegram", "x", "mastodon",
                       "generic"]},
        slug=STR, name=STR, enabled={"type": "boolean"},
        settings={"type": "object", "additionalProperties": STR,
                  "description": "Secrets are shown as their last 4 characters."},
        webhook_url=STR),
    "NewChannel": _obj(["kind", "slug", "settings"], kind=STR, slug=STR, name=STR,
                       settings={"type": "object", "additionalProperties": STR}),
    "ChannelChange": _obj([], enabled={"type": "boolean"},
                          settings={"type": "object", "additionalProperties": STR}),
    "InboundMessage": _obj(
        ["id", "channel", "external_id", "kind", "text", "outcome", "received_at"], id=INT,
        channel=STR, external_id=STR,
        kind={"enum": ["message", "edit", "delete", "echo", "status", "other"]}, text=STR,
        media={"type": "array", "items": _obj(["url"], url=STR, type=STR)},
        conversation=STR, reply_to={"type": ["string", "null"]},
        author={"type": ["object", "null"]},
        outcome={"type": "string", "description": "thread, joined, staff_reply, echo, edited, "
                                                  "hidden, status, linked, ignored, too_old "
                                                  "or failed"},
        error={"type": ["string", "null"]}, thread_id={"type": ["integer", "null"]},
        post_id={"type": ["integer", "null"]}, comment_id={"type": ["integer", "null"]},
        sent_at=TIME, received_at=TIME),
    "OutboundMessage": _obj(
        ["id", "channel", "kind", "idempotency_key", "state", "attempts"], id=INT, channel=STR,
        kind={"enum": ["ack", "answer", "notice"]}, idempotency_key=STR, inbound_id=INT,
        thread_id={"type": ["integer", "null"]}, post_id={"type": ["integer", "null"]},
        text=STR, state={"enum": ["pending", "sending", "sent", "delivered", "read", "failed",
                                  "held", "cancelled"]},
        attempts=INT, next_attempt_at=TIME, sent_at={"type": ["string", "null"]},
        external_id={"type": ["string", "null"]}, last_error={"type": ["string", "null"]}),
    "LinkedIdentity": _obj(["id", "channel", "kind", "external_id"], id=INT, channel=STR,
                           kind=STR, external_id=STR, handle=STR, display_name=STR,
                           linked_at=TIME),
    "Error": _obj(["error"], error=_obj(["code", "message"], code=STR, message=STR, field=STR)),
    "Author": _obj(["id", "username", "rank"], id=INT, username=STR, reputation=INT, rank=STR),
    "Badge": _obj(["name", "description", "awarded_at"], name=STR, description=STR,
                  awarded_at=TIME),
    "Vote": _obj(["post_id", "thread_id", "value", "score", "author"], post_id=INT,
                 thread_id=INT, value={"enum": [-1, 0, 1]}, score=INT, author=_ref("Author")),
    "User": _obj(["id", "username", "role", "reputation", "rank"], id=INT, username=STR,
                 role={"enum": ["member", "staff", "moderator", "admin"]}, reputation=INT,
                 rank=STR, badges={"type": "array", "items": _ref("Badge")}, bio=STR,
                 created_at=TIME, url=STR, email=STR),
    "Comment": _obj(["id", "post_id", "author", "body", "body_html"], id=INT, post_id=INT,
                    author=_ref("Author"), body=STR, body_html=STR, created_at=TIME),
    "Post": _obj(["id", "thread_id", "kind", "author", "body", "body_html", "score"],
                 id=INT, thread_id=INT, kind={"enum": ["question", "answer"]},
                 author=_ref("Author"), body=STR, body_html=STR, score=INT,
                 accepted={"type": "boolean"},
                 endorsed={"oneOf": [{"type": "null"}, _obj(["by", "at"], by=_ref("Author"), at=TIME)]},
                 created_at=TIME, edited_at={"type": ["string", "null"]},
                 comments={"type": "array", "items": _ref("Comment")}),
    "Thread": _obj(["id", "title", "url", "tags", "status", "score", "answer_count",
                    "accepted_answer_id", "author", "created_at", "last_activity_at", "source"],
                   id=INT, title=STR, url=STR, tags={"type": "array", "items": STR},
                   status={"enum": ["unanswered", "answered", "solved"]}, score=INT,
                   answer_count=INT, accepted_answer_id={"type": ["integer", "null"]},
                   is_locked={"type": "boolean"}, locked_reason={"type": ["string", "null"]},
                   duplicate_of_id={"type": ["integer", "null"]},
                   merged_into_id={"type": ["integer", "null"]},
                   author=_ref("Author"), created_at=TIME,
                   last_activity_at=TIME,
                   source={"oneOf": [{"type": "null"},
                                     _obj(["channel", "external_url"], channel=STR,
                                          external_url={"type": ["string", "null"],
                                                        "description": "null when the channel "
                                                                       "gives no link"})]}),
    "ThreadDetail": {"allOf": [_ref("Thread"), _obj(
        ["question", "answers", "best_answer_id"], best_answer_id={"type": ["integer", "null"]},
        question=_ref("Post"), answers={"type": "array", "items": _ref("Post")})]},
    "AuditEntry": _obj(
        ["id", "action", "actor", "target", "reason", "before", "after", "created_at"], id=INT,
        action=STR, actor={"oneOf": [_ref("Author"), {"type": "null"}]},
        target=_obj(["kind", "id"], kind=STR, id=INT), reason=STR,
        before={"type": "object"}, after={"type": "object"}, created_at=TIME),
    "Revision": _obj(["number", "editor", "body"], number=INT, editor=_ref("Author"),
                     title={"type": ["string", "null"]}, tags={"type": ["array", "null"]},
                     body=STR, summary=STR, created_at=TIME),
}

PATHS = {
    "/users": {"post": _op("Sign up", 201, _ref("User"), errors=(400, 409, 413, 422, 429),
                           body=_obj(["username", "email", "password"], username=STR, email=STR,
                                     password=STR))},
    "/tokens": {"post": _op("Exchange username and password for a bearer token", 201,
                            _obj(["token", "user"], token=STR, user=_ref("User")),
                            errors=(400, 401, 413, 422, 429),
                            body=_obj(["username", "password"], username=STR, password=STR,
                                      name=STR))},
    "/me": {"get": _op("The authenticated user", 200, _ref("User"), errors=(401,), auth=True)},
    "/me/sessions": {"delete": _op("Log out of every browser (API tokens stay valid)", 200,
                                   _obj(["ended"], ended=INT), errors=(401,), auth=True)},
    "/users/{user_id}": {"parameters": [_path("user_id")],
                         "get": _op("A public profile", 200, _ref("User"), errors=(404,))},
    "/threads": {
        "get": _op("List threads", 200, _list_of("Thread"), errors=(400, 422), params=[
            _query("status", {"enum": ["unanswered", "answered", "solved"]}, "Filter by status."),
            _query("tag", STR, "Filter by tag."),
            _query("author", STR, "Filter by asker id (one no user has matches nothing)."),
            _query("sort", {"enum": ["active", "newest", "votes"]}, "Order (default active)."),
            *LIST_PARAMS]),
        "post": _op("Ask a question", 201, _ref("ThreadDetail"), errors=WRITE_ERRORS, auth=True,
                    body=_obj(["title", "body", "tags"], title=STR, body=STR, tags=TAGS)),
    },
    "/threads/{thread_id}": {
        "parameters": [_path("thread_id")],
        "get": _op("A thread with its question, answers and comments", 200,
                   _ref("ThreadDetail"), errors=(404,)),
        "patch": _op("Edit the question (title, tags, body); keeps a revision", 200,
                     _ref("ThreadDetail"), errors=WRITE_ERRORS, body=EDIT_BODY, auth=True),
    },
    "/threads/{thread_id}/answers": {
        "parameters": [_path("thread_id")],
        "post": _op("Answer a thread", 201, _ref("Post"), errors=WRITE_ERRORS, auth=True,
                    body=_obj(["body"], body=STR)),
    },
    "/threads/{thread_id}/accept": {
        "parameters": [_path("thread_id")],
        "post": _op("Accept an answer (asker or staff)", 200, _ref("ThreadDetail"),
                    errors=WRITE_ERRORS, auth=True, body=_obj(["post_id"], post_id=INT)),
        "delete": _op("Withdraw the acceptance", 200, _ref("ThreadDetail"),
                      errors=(401, 403, 404), auth=True),
    },
    "/posts/{post_id}": {
        "parameters": [_path("post_id")],
        "get": _op("A post", 200, _ref("Post"), errors=(404,)),
        "patch": _op("Edit a post; keeps a revision", 200, _ref("Post"), errors=WRITE_ERRORS,
                     body=EDIT_BODY, auth=True),
    },
    "/posts/{post_id}/revisions": {
        "parameters": [_path("post_id")],
        "get": _op("Every revision of a post, newest first", 200, _list_of("Revision"),
                   errors=(404,)),
    },
    "/posts/{post_id}/comments": {
        "parameters": [_path("post_id")],
        "post": _op("Comment on a post", 201, _ref("Comment"), errors=WRITE_ERRORS, auth=True,
                    body=_obj(["body"], body=STR)),
    },
    "/posts/{post_id}/vote": {
        "parameters": [_path("post_id")],
        "put": _op("Vote: 1 up, -1 down (needs reputation 50), 0 retracts", 200, _ref("Vote"),
                   errors=WRITE_ERRORS, auth=True, body=_obj(["value"], value={"enum": [-1, 0, 1]})),
    },
    "/posts/{post_id}/endorse": {
        "parameters": [_path("post_id")],
        "post": _op("Endorse an answer (staff)", 200, _ref("Post"), errors=(401, 403, 404, 422),
                    auth=True),
        "delete": _op("Withdraw an endorsement (staff)", 200, _ref("Post"),
                      errors=(401, 403, 404), auth=True),
    },
    "/search": {
        "get": _op("Full-text search over titles, questions and answers", 200, _obj(
            ["items", "next_cursor", "total", "suggestion", "corrected"],
            items={"type": "array", "items": {"allOf": [_ref("Thread"), _obj(
                ["snippet"], snippet={"type": "string", "description": "HTML with <mark>"})]}},
            next_cursor={"type": ["string", "null"]}, total=INT,
            suggestion={"type": ["string", "null"], "description": "did you mean"},
            corrected={"type": "boolean",
                       "description": "true when items are for the suggestion"}),
            errors=(400, 422), params=[
                {"name": "q", "in": "query", "required": True, "schema": STR,
                 "example": "voicemail greeting",
                 "description": "Words, \"a phrase\", prefix*, fuzzy~ ; the last word also "
                                "matches as a prefix. Syntax that cannot apply is read as "
                                "plain words."},
                _query("status", {"enum": ["unanswered", "answered", "solved"]}, "Filter."),
                _query("tag", STR, "Filter by tag."),
                _query("author", STR, "Filter by the asker's username."),
                _query("from", {"type": "string", "format": "date"}, "Asked on or after."),
                _query("to", {"type": "string", "format": "date"}, "Asked on or before."),
                _query("sort", {"enum": ["relevance", "recent"]}, "Order (default relevance)."),
                *LIST_PARAMS])},
    "/threads/similar": {
        "get": _op("Up to 5 threads like a title still being typed, solved first", 200,
                   _obj(["items"], items={"type": "array", "items": _ref("Thread")}),
                   params=[{**_query("title", STR, "The title so far; none, or under 3 "
                                                   "characters, finds nothing."),
                            "example": "Voicemail greeting will not"}])},
    "/notifications": {
        "get": _op("The caller's notifications, newest first, and how many are unread", 200,
                   {**_list_of("Notification"),
                    "required": ["items", "next_cursor", "unread_count"]},
                   errors=(400, 401), auth=True,
                   params=[_query("unread", {"enum": ["true", "false", "1", "0"]},
                                  "Only unread ones."), *LIST_PARAMS])},
    "/notifications/read": {
        "post": _op("Mark every notification read", 200,
                    _obj(["marked", "unread_count"], marked=INT, unread_count=INT),
                    errors=(401,), auth=True)},
    "/notifications/{notification_id}/read": {
        "parameters": [_path("notification_id")],
        "post": _op("Mark one of the caller's notifications read", 200, _ref("Notification"),
                    errors=(401, 404), auth=True)},
    "/me/notification-settings": {
        "get": _op("How the caller gets notification email", 200, _ref("NotificationSettings"),
                   errors=(401,), auth=True),
        "put": _op("Choose how notification email comes", 200, _ref("NotificationSettings"),
                   errors=(400, 401, 413, 422), auth=True, body=_ref("NotificationSettings"))},
    "/threads/{thread_id}/follow": {
        "parameters": [_path("thread_id")],
        "get": _op("Whether the caller follows the thread", 200, _ref("Following"),
                   errors=(401, 404), auth=True),
        "put": _op("Follow the thread: new answers and comments notify the caller", 200,
                   _ref("Following"), errors=(401, 403, 404), auth=True),
        "delete": _op("Stop following the thread", 200, _ref("Following"),
                      errors=(401, 403, 404), auth=True)},
    "/bridge/channels": {
        "get": _op("Configured social channels, secrets masked (staff)", 200,
                   _list_of("Channel"), errors=(401, 403), auth=True),
        "post": _op("Add a channel (admins); each kind lists its settings in docs/BRIDGE.md",
                    201, _ref("Channel"), errors=(400, 401, 403, 413, 422), auth=True,
                    body=_ref("NewChannel"))},
    "/bridge/channels/{slug}": {
        "parameters": [_path("slug", "string")],
        "patch": _op("Change a channel's settings (each given replaces; \"\" removes an optional "
                     "one), or turn it off or on (admins)", 200, _ref("Channel"),
                     errors=(400, 401, 403, 404, 413, 422), auth=True,
                     body=_ref("ChannelChange"))},
    "/bridge/inbound": {
        "get": _op("What channels sent us, newest first (staff)", 200,
                   _list_of("InboundMessage"), errors=(400, 401, 403), auth=True,
                   params=LIST_PARAMS)},
    "/bridge/inbound/{inbound_id}/retry": {
        "parameters": [_path("inbound_id")],
        "post": _op("Take in again a message whose intake failed (staff)", 200,
                    _ref("InboundMessage"), errors=(401, 403, 404, 422), auth=True)},
    "/bridge/outbox": {
        "get": _op("Replies owed or sent to customers on their channels, newest first (staff)",
                   200, _list_of("OutboundMessage"), errors=(400, 401, 403, 422), auth=True,
                   params=[_query("state", STR, "Only replies in this state."), *LIST_PARAMS])},
    "/bridge/outbox/{reply_id}/retry": {
        "parameters": [_path("reply_id")],
        "post": _op("Send a failed, held or waiting reply again now (staff)", 200,
                    _ref("OutboundMessage"), errors=(401, 403, 404, 422), auth=True)},
    "/bridge/outbox/{reply_id}/cancel": {
        "parameters": [_path("reply_id")],
        "post": _op("Never send this reply (staff)", 200, _ref("OutboundMessage"),
                    errors=(401, 403, 404, 422), auth=True)},
    "/me/link-code": {
        "post": _op("A one-time code to send from a social account to link it to yours", 201,
                    _obj(["code", "send", "expires_in"], code=STR, send=STR, expires_in=INT),
                    errors=(401, 403), auth=True)},
    "/me/linked-identities": {
        "get": _op("Social accounts linked to the caller's account", 200,
                   _list_of("LinkedIdentity"), errors=(401,), auth=True)},
    "/me/linked-identities/{identity_id}": {
        "parameters": [_path("identity_id")],
        "delete": _op("Unlink one of the caller's social accounts", 204, None,
                      errors=(401, 404), auth=True)},
    # Moderators act on threads (services/moderation/threads.py); 409 when already so.
    "/threads/{thread_id}/lock": {
        "parameters": [_path("thread_id")],
        "post": _op("Lock a thread with a reason: no answers, comments or votes (moderators)",
                    200, _ref("ThreadDetail"), errors=(400, 401, 403, 404, 409, 413, 422),
                    auth=True, body=_obj(["reason"], reason=STR))},
    "/threads/{thread_id}/unlock": {
        "parameters": [_path("thread_id")],
        "post": _op("Unlock a thread (moderators)", 200, _ref("ThreadDetail"),
                    errors=(401, 403, 404, 409), auth=True)},
    "/threads/{thread_id}/duplicate": {
        "parameters": [_path("thread_id")],
        "post": _op("Close a thread as a duplicate of another (moderators)", 200,
                    _ref("ThreadDetail"), errors=(400, 401, 403, 404, 409, 413, 422), auth=True,
                    body=_obj(["of"], of=INT))},
    "/threads/{thread_id}/reopen": {
        "parameters": [_path("thread_id")],
        "post": _op("Reopen a thread closed as a duplicate (moderators)", 200,
                    _ref("ThreadDetail"), errors=(401, 403, 404, 409), auth=True)},
    "/threads/{thread_id}/merge": {
        "parameters": [_path("thread_id")],
        "post": _op("Move a thread's answers and comments into another; the old thread "
                    "redirects there (moderators). Answers with the target thread.", 200,
                    _ref("ThreadDetail"), errors=(400, 401, 403, 404, 409, 413, 422), auth=True,
                    body=_obj(["into"], into=INT))},
    "/moderation/audit": {
        "get": _op("The audit log of staff actions, newest first (moderators and admins)", 200,
                   _list_of("AuditEntry"), errors=(400, 401, 403, 422), auth=True, params=[
                       _query("actor", STR, "The acting user's id or username."),
                       _query("action", STR, "e.g. thread.lock, post.hide, user.suspend."),
                       _query("target_kind", STR, "thread, post, comment, user, channel, ..."),
                       _query("target_id", INT, "With target_kind."),
                       _query("since", {"type": "string", "format": "date"}, "On or after."),
                       _query("until", {"type": "string", "format": "date"}, "On or before."),
                       *LIST_PARAMS])},
    "/openapi.json": {"get": _op("This document", 200, {"type": "object"})},
}

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "community API", "version": "1",
             "description": "Errors are {\"error\": {\"code\", \"message\"}}; lists take "
                            "limit (max 100) and cursor and answer {items, next_cursor}."},
    "servers": [{"url": "/api/v1"}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A token from POST /tokens."},
            "session": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                        "description": "The web session cookie plus its CSRF token."},
        },
    },
}


@bp.get("/openapi.json")
def spec():
    return SPEC
