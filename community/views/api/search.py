"""API: full-text search, and similar questions for a title still being typed."""

from __future__ import annotations

from flask import request

from community.security import current_actor
from community.services import search
from community.views.api import schemas
from community.views.api.common import bp, limit_arg


@bp.get("/search")
def search_threads():
    args = request.args
    page = search.search(
        current_actor(), args.get("q", ""), status=args.get("status") or None,
        tag=args.get("tag") or None, author=args.get("author") or None,
        since=search.parse_day(args.get("from"), "from"),
        until=search.parse_day(args.get("to"), "to", end=True),
        sort=args.get("sort", "relevance"), cursor=args.get("cursor") or None, limit=limit_arg())
    return {"items": [{**schemas.thread(found.thread), "snippet": found.hit.snippet}
                      for found in page.items],
            "next_cursor": page.next_cursor, "total": page.total,
            "suggestion": page.suggestion, "corrected": page.corrected}


@bp.get("/threads/similar")
def similar_threads():
    return {"items": [schemas.thread(thread)
                      for thread in search.similar(request.args.get("title", ""))]}
