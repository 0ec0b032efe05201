"""The staff audit page: every staff, moderator and admin action, newest first, filtered."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required

from community.security import current_actor
from community.services import audit
from community.services.errors import Invalid

bp = Blueprint("audit", __name__)

FILTERS = ("actor", "action", "target_kind", "target_id", "since", "until")


@bp.get("/staff/audit")
@login_required
def index():
    filters = {name: request.args.get(name, "") for name in FILTERS}
    error, page = None, None
    try:
        page = audit.search(current_actor(), **filters, cursor=request.args.get("cursor") or None)
    except Invalid as exc:  # a mistyped filter: say so above the form
        error = exc.message
    next_url = (url_for("audit.index", cursor=page.next_cursor, **filters)
                if page and page.next_cursor else None)
    return render_template("audit/index.html", filters=filters, page=page, error=error,
                           next_url=next_url), 422 if error else 200
