"""Moderation pages: the flag queue (/staff/moderation) and its decisions, members' flag forms,
and moderators' hide and restore buttons on the thread page (plain forms with CSRF)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from community.security import current_actor
from community.services.links import thread_url
from community.services import permissions
from community.services.moderation import flags, hiding, queue
from community.views.forms import FlagForm, ModerationForm, checked

bp = Blueprint("moderation", __name__)


def _back_to(target):
    """The thread page at the target (a hidden thread is still shown to its moderator)."""
    kind = hiding.kind_of(target)
    anchor = None if kind == "thread" else f"{kind}-{target.id}"
    return redirect(thread_url(hiding.thread_of(target), anchor=anchor))


@bp.get("/staff/moderation")
@login_required
def index():
    status = request.args.get("status", "open")
    page = queue.queue(current_actor(), status=status, cursor=request.args.get("cursor") or None,
                       limit=current_app.config["PAGE_SIZE"])
    next_url = (url_for("moderation.index", status=status, cursor=page.next_cursor)
                if page.next_cursor else None)
    return render_template("moderation/queue.html", page=page, status=status, next_url=next_url,
                           form=ModerationForm(), actor=current_actor(), can=permissions.can)


@bp.post("/staff/moderation/flags/<int:flag_id>/resolve")
@login_required
def resolve(flag_id: int):
    actor = current_actor()
    item = flags.get_flag(actor, flag_id)
    form = checked(ModerationForm())
    # The queue's buttons: "agreed", "agreed+hide" or "dismissed".
    outcome, _, hide = (form.outcome.data or "").partition("+")
    flags.resolve(actor, item, outcome, form.note.data, hide == "hide" or bool(form.hide.data))
    flash(f"Flags {outcome}.", "success")
    return redirect(url_for("moderation.index"))


def _flag(kind: str, target_id: int):
    actor = current_actor()
    target = hiding.get_target(actor, kind, target_id)
    form = checked(FlagForm())
    flags.flag(actor, target, form.reason.data, form.detail.data, form.duplicate_of.data)
    flash("Thanks: moderators will look at it.", "success")
    return _back_to(target)


@bp.post("/posts/<int:post_id>/flag")
@login_required
def flag_post(post_id: int):
    return _flag("post", post_id)


@bp.post("/comments/<int:comment_id>/flag")
@login_required
def flag_comment(comment_id: int):
    return _flag("comment", comment_id)


def _moderate(kind: str, target_id: int, restore: bool):
    actor = current_actor()
    target = hiding.get_target(actor, kind, target_id)
    form = checked(ModerationForm())
    done = (hiding.restore(actor, target, form.reason.data or "") if restore
            else hiding.hide(actor, target, form.reason.data))
    return _back_to(done)


@bp.post("/posts/<int:target_id>/hide", endpoint="hide_post")
@bp.post("/comments/<int:target_id>/hide", endpoint="hide_comment")
@bp.post("/threads/<int:target_id>/hide", endpoint="hide_thread")
@login_required
def hide(target_id: int):
    return _moderate(request.path.split("/")[1][:-1], target_id, restore=False)


@bp.post("/posts/<int:target_id>/restore", endpoint="restore_post")
@bp.post("/comments/<int:target_id>/restore", endpoint="restore_comment")
@bp.post("/threads/<int:target_id>/restore", endpoint="restore_thread")
@login_required
def restore(target_id: int):
    return _moderate(request.path.split("/")[1][:-1], target_id, restore=True)
