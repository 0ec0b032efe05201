"""User profiles."""

from __future__ import annotations

from flask import Blueprint, render_template

from community.security import current_actor
from community.services import accounts, threads

bp = Blueprint("users", __name__)


@bp.get("/users/<int:user_id>")
@bp.get("/users/<int:user_id>/<slug>")
def show(user_id: int, slug: str | None = None):
    user = accounts.get_user(user_id)
    questions = threads.list_threads(current_actor(), sort="newest", author_id=user.id, limit=20)
    return render_template("users/show.html", user=user, questions=questions.items,
                           answers=threads.user_answers(user))
