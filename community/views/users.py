"""User profiles."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request
from flask_login import login_required

from community.security import current_actor
from community.services import accounts, avatars, permissions, reputation, threads
from community.services.errors import Invalid
from community.services.links import user_url
from community.services.moderation import suspensions
from community.views.forms import SuspendForm, checked, field_error

bp = Blueprint("users", __name__)


@bp.get("/users/<int:user_id>")
@bp.get("/users/<int:user_id>/<slug>")
def show(user_id: int, slug: str | None = None):
    user, viewer = accounts.get_user(user_id), current_actor()
    questions = threads.list_threads(viewer, sort="newest", author_id=user.id, limit=20)
    return render_template("users/show.html", user=user, questions=questions.items,
                           answers=threads.user_answers(viewer, user),
                           badges=reputation.badges_of(user),
                           history=reputation.history(viewer, user),
                           suspend_form=_suspend_form(viewer, user))


def _suspend_form(viewer, user, form: SuspendForm | None = None) -> SuspendForm | None:
    """Moderators get the suspend form (or the unsuspend button) on a profile."""
    if viewer is None or not permissions.can(viewer, "user.suspend", user):
        return None
    return form or SuspendForm()


@bp.post("/users/<int:user_id>/suspend")
@login_required
def suspend(user_id: int):
    actor, user = current_actor(), accounts.get_user(user_id)
    permissions.require(actor, "user.suspend", user)
    form = SuspendForm()
    if form.validate_on_submit():
        try:
            suspensions.suspend(actor, user, suspensions.parse_until(form.until.data or None),
                                form.reason.data)
        except Invalid as exc:
            field_error(form, exc)
        else:
            flash(f"{user.username} is suspended.")
            return redirect(user_url(user))
    return render_template("users/suspend.html", user=user, form=form), 422


@bp.post("/users/<int:user_id>/unsuspend")
@login_required
def unsuspend(user_id: int):
    actor, user = current_actor(), accounts.get_user(user_id)
    checked()
    suspensions.unsuspend(actor, user)
    flash(f"{user.username} is no longer suspended.")
    return redirect(user_url(user))


# Generated pictures are our own SVG: even opened on its own, it may run nothing and load nothing.
AVATAR_CSP = "default-src 'none'; sandbox"


@bp.get("/users/<int:user_id>/avatar")
def avatar(user_id: int):
    """A user's picture: the uploaded one (re-encoded WebP) or the generated SVG."""
    data, content_type = avatars.image_for(accounts.get_user(user_id))
    versioned = request.args.get("v") is not None
    return data, 200, {
        "Content-Type": content_type, "Content-Security-Policy": AVATAR_CSP,
        "Content-Disposition": "inline; filename=avatar" + (".svg" if "svg" in content_type
                                                              else ".webp"),
        "Cache-Control": "public, max-age=86400" if versioned else "public, max-age=300"}


PERIODS = {"week": "This week", "month": "This month", "all": "All time"}


@bp.get("/leaderboard")
def leaderboard():
    period = request.args.get("period", "week")
    if period not in PERIODS:
        raise Invalid("period", "period.invalid", "period is week, month or all.")
    return render_template("users/leaderboard.html", period=period, periods=PERIODS,
                           members=reputation.leaderboard(period, staff=False),
                           staff=reputation.leaderboard(period, staff=True))
