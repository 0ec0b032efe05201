"""Template helpers: relative times and the globals every page uses."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, url_for

from community.models.base import utcnow
from community.services import answers, visibility
from community.services.reputation import rank_for, reason
from community.services.links import thread_url, user_url

_UNITS = ((365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"),
          (3600, "hour"), (60, "minute"))


def ago(moment: datetime) -> str:
    seconds = int((utcnow() - moment).total_seconds())
    for size, unit in _UNITS:
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def avatar_url(user) -> str:
    """The user's picture (views/users.py), its version in the address so caches follow."""
    return url_for("users.avatar", user_id=user.id, v=user.avatar_version or 0)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.globals.update(thread_url=thread_url, user_url=user_url, rank_for=rank_for,
                                 answers_in_order=answers.in_order, reputation_reason=reason,
                                 avatar_url=avatar_url)
    # `items|select("shown_to", actor)`: what this viewer sees (hidden: staff and the author).
    app.jinja_env.tests["shown_to"] = lambda item, viewer: visibility.shows(viewer, item)
