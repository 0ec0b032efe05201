"""The staff triage page (/staff/triage): threads waiting for staff with their reasons and
suggested answers, and plain claim/release forms (CSRF)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from community.security import current_actor
from community.services import triage
from community.views.forms import ActionForm, checked

bp = Blueprint("triage", __name__)
FILTERS = ("channel", "tag", "claimed")


@bp.get("/staff/triage")
@login_required
def index():
    actor = current_actor()
    filters = {name: request.args.get(name) or None for name in FILTERS}
    page = triage.queue(actor, cursor=request.args.get("cursor") or None,
                        limit=current_app.config["PAGE_SIZE"], **filters)
    next_url = (url_for("triage.index", cursor=page.next_cursor, **filters)
                if page.next_cursor else None)
    return render_template("triage/queue.html", page=page, filters=filters, next_url=next_url,
                           form=ActionForm(), actor=actor,
                           channels=current_app.config["TRIAGE_EXPECTATIONS"])


@bp.post("/staff/triage/<int:thread_id>/claim")
@login_required
def claim(thread_id: int):
    checked()
    triage.claim(current_actor(), thread_id)
    flash("Claimed: the others see that you are on it.", "success")
    return redirect(url_for("triage.index", _anchor=f"triage-{thread_id}"))


@bp.post("/staff/triage/<int:thread_id>/release")
@login_required
def release(thread_id: int):
    checked()
    triage.release(current_actor(), thread_id)
    flash("Released.", "success")
    return redirect(url_for("triage.index", _anchor=f"triage-{thread_id}"))
