"""The held-posts page (/staff/moderation/held): what the spam checker held, with approve and
reject buttons for moderators (plain forms with CSRF)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from community.security import current_actor
from community.services import permissions
from community.services.moderation import held
from community.views.forms import ActionForm, checked

bp = Blueprint("held", __name__)


@bp.get("/staff/moderation/held")
@login_required
def index():
    actor = current_actor()
    page = held.list_held(actor, cursor=request.args.get("cursor") or None,
                          limit=current_app.config["PAGE_SIZE"])
    next_url = url_for("held.index", cursor=page.next_cursor) if page.next_cursor else None
    return render_template("moderation/held.html", page=page, next_url=next_url,
                           reasons={post.id: held.reasons(post) for post in page.items},
                           form=ActionForm(), can_act=permissions.can(actor, "moderation.act"))


def _decide(post_id: int, decide) -> object:
    actor = current_actor()
    post = held.get_held(actor, post_id)
    checked()
    decide(actor, post)
    return redirect(url_for("held.index"))


@bp.post("/staff/moderation/held/<int:post_id>/approve")
@login_required
def approve(post_id: int):
    response = _decide(post_id, held.approve)
    flash("Approved: the post is published.", "success")
    return response


@bp.post("/staff/moderation/held/<int:post_id>/reject")
@login_required
def reject(post_id: int):
    response = _decide(post_id, lambda actor, post: held.reject(
        actor, post, request.form.get("reason") or None))
    flash("Rejected: the post stays hidden.", "success")
    return response
