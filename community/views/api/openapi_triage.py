"""The OpenAPI description of the staff triage queue and its claims (views/api/triage.py),
added to the document in openapi.py the way openapi_moderation.py is."""

from __future__ import annotations

from typing import Any

from community.views.api.openapi import (INT, PATHS, SCHEMAS, STR, TIME, _list_of, _obj, _op,
                                         _path, _query, _ref)

NUMBER = {"type": "number"}
CLAIMED_BY = {"oneOf": [{"type": "null"}, {"allOf": [_ref("Author"), _obj(["claimed_at"],
                                                                         claimed_at=TIME)]}],
              "description": "Who is on it (a claim lapses after TRIAGE_CLAIM_MINUTES)."}

TRIAGE_SCHEMAS: dict[str, Any] = {
    "TriageItem": _obj(
        ["thread", "kind", "score", "reasons", "claimed_by", "waiting_since", "suggestions"],
        thread=_ref("Thread"),
        kind={"enum": ["needs_staff", "reopened", "follow_up", "complaint", "question"]},
        score=NUMBER,
        reasons={"type": "array", "items": _obj(
            ["code", "text", "points"], code={"enum": [
                "waiting", "urgent", "negative", "repeat", "needs_staff", "vulnerable",
                "follow_up", "reopened"]}, text=STR, points=NUMBER)},
        claimed_by=CLAIMED_BY, waiting_since=TIME,
        suggestions={"type": "array", "maxItems": 3, "items": _obj(
            ["thread_id", "post_id", "title", "excerpt"], thread_id=INT, post_id=INT, title=STR,
            url=STR, excerpt=STR)}),
    "TriageClaim": _obj(["thread_id", "claimed_by"], thread_id=INT, claimed_by=CLAIMED_BY),
}

TRIAGE_PATHS: dict[str, Any] = {
    "/staff/triage": {"get": _op(
        "The triage queue: threads waiting for staff, highest score first, each score "
        "explained (staff, moderators, admins)", 200, _list_of("TriageItem"),
        errors=(400, 401, 403, 422), auth=True,
        params=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size."),
                _query("cursor", STR, "next_cursor from the previous page."),
                _query("channel", STR, "Only this source: web, api or a channel kind."),
                _query("tag", STR, "Only threads with this tag."),
                _query("claimed", {"enum": ["yes", "no", "mine", "any"]}, "Default any.")])},
    "/staff/triage/{thread_id}/claim": {
        "parameters": [_path("thread_id")],
        "post": _op("Claim a thread (409 triage.claimed while someone else holds it)", 201,
                    _ref("TriageClaim"), errors=(401, 403, 404, 409), auth=True),
        "delete": _op("Release a claim (yours; moderators and admins: anyone's)", 204, None,
                      errors=(401, 403, 404), auth=True)},
}

SCHEMAS.update(TRIAGE_SCHEMAS)
PATHS.update(TRIAGE_PATHS)
