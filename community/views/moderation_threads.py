"""Moderator buttons on the thread page: lock, unlock, close as a duplicate, reopen, merge
(plain forms with CSRF; the API has the same actions)."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import login_required

from community.security import current_actor
from community.services.errors import Invalid
from community.services.moderation import threads as moderation
from community.views.forms import ThreadModerationForm, checked

bp = Blueprint("moderation_threads", __name__)


def _form(needs: str | None = None) -> ThreadModerationForm:
    form = checked(ThreadModerationForm())
    if needs and getattr(form, needs).data is None:
        raise Invalid(needs, f"{needs}.required", "Give a thread number.")
    return form


def _back(thread_id: int):
    return redirect(url_for("threads.show", thread_id=thread_id))


@bp.post("/threads/<int:thread_id>/lock")
@login_required
def lock(thread_id: int):
    moderation.lock(current_actor(), thread_id, _form().reason.data)
    return _back(thread_id)


@bp.post("/threads/<int:thread_id>/unlock")
@login_required
def unlock(thread_id: int):
    _form()
    moderation.unlock(current_actor(), thread_id)
    return _back(thread_id)


@bp.post("/threads/<int:thread_id>/duplicate")
@login_required
def duplicate(thread_id: int):
    moderation.close_as_duplicate(current_actor(), thread_id, _form("of").of.data)
    return _back(thread_id)


@bp.post("/threads/<int:thread_id>/reopen")
@login_required
def reopen(thread_id: int):
    _form()
    moderation.reopen(current_actor(), thread_id)
    return _back(thread_id)


@bp.post("/threads/<int:thread_id>/merge")
@login_required
def merge(thread_id: int):
    target = moderation.merge(current_actor(), thread_id, _form("into").into.data)
    return _back(target.id)
