"""User profiles."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from community.security import current_actor
from community.services import accounts, reputation, threads
from community.services.errors import Invalid

bp = Blueprint("users", __name__)


@bp.get("/users/<int:user_id>")
@bp.get("/users/<int:user_id>/<slug>")
def show(user_id: int, slug: str | None = None):
    user, viewer = accounts.get_user(user_id), current_actor()
    questions = threads.list_threads(viewer, sort="newest", author_id=user.id, limit=20)
    return render_template("users/show.html", user=user, questions=questions.items,
                           answers=threads.user_answers(viewer, user),
                           badges=reputation.badges_of(user),
                           history=reputation.history(viewer, user))


PERIODS = {"week": "This week", "month": "This month", "all": "All time"}


@bp.get("/leaderboard")
def leaderboard():
    period = request.args.get("period", "week")
    if period not in PERIODS:
        raise Invalid("period", "period.invalid", "period is week, month or all.")
    return render_template("users/leaderboard.html", period=period, periods=PERIODS,
                           members=reputation.leaderboard(period, staff=False),
                           staff=reputation.leaderboard(period, staff=True))
