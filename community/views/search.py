"""The search page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from community.security import current_actor
from community.services import search
from community.services.errors import Invalid

bp = Blueprint("search", __name__)


@bp.get("/search")
def results():
    args = request.args
    text = args.get("q", "").strip()
    filters = {key: args.get(key) or None for key in ("status", "tag", "author", "from", "to")}
    sort = args.get("sort", "relevance")
    page, error = None, None
    if text:
        try:
            page = search.search(
                current_actor(), text, status=filters["status"], tag=filters["tag"],
                author=filters["author"], since=search.parse_day(filters["from"], "from"),
                until=search.parse_day(filters["to"], "to", end=True), sort=sort,
                cursor=args.get("cursor") or None, limit=current_app.config["PAGE_SIZE"])
        except Invalid as exc:
            error = exc.message
    next_url = (url_for("search.results", **{**args.to_dict(), "cursor": page.next_cursor})
                if page and page.next_cursor else None)
    status = 422 if error else 200
    return render_template("search/results.html", text=text, filters=filters, sort=sort,
                           page=page, error=error, next_url=next_url), status
