"""API: the staff triage queue (GET /staff/triage) and claims on its threads."""

from __future__ import annotations

from typing import Any

from flask import request

from community.services import triage
from community.services.links import thread_url
from community.views.api import schemas
from community.views.api.common import bp, limit_arg, require_actor


def claim_json(claim) -> dict[str, Any] | None:
    if claim is None:
        return None
    return {**schemas.author(claim.user), "claimed_at": schemas.timestamp(claim.claimed_at)}


def item_json(entry: triage.Entry) -> dict[str, Any]:
    return {
        "thread": schemas.thread(entry.thread),
        "kind": entry.kind,
        "score": entry.score,
        "reasons": [reason.as_dict() for reason in entry.reasons],
        "claimed_by": claim_json(entry.claim),
        "waiting_since": schemas.timestamp(entry.waiting_since),
        "suggestions": [{"thread_id": s.thread.id, "post_id": s.post.id, "title": s.thread.title,
                         "url": thread_url(s.thread, anchor=f"post-{s.post.id}", external=True),
                         "excerpt": s.excerpt} for s in entry.suggestions],
    }


@bp.get("/staff/triage")
def triage_queue():
    args = request.args
    page = triage.queue(require_actor(), limit=limit_arg(), cursor=args.get("cursor") or None,
                        channel=args.get("channel") or None, tag=args.get("tag") or None,
                        claimed=args.get("claimed", ""))
    return {"items": [item_json(entry) for entry in page.items], "next_cursor": page.next_cursor}


@bp.post("/staff/triage/<int:thread_id>/claim")
def triage_claim(thread_id: int):
    claim = triage.claim(require_actor(), thread_id)
    return {"thread_id": thread_id, "claimed_by": claim_json(claim)}, 201


@bp.delete("/staff/triage/<int:thread_id>/claim")
def triage_release(thread_id: int):
    triage.release(require_actor(), thread_id)
    return "", 204
