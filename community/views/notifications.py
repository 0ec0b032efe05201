"""Notification pages: the list, mark read, email settings, one-click unsubscribe, follow buttons;
and the bell every page shows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.extensions import csrf, limiter
from community.security import current_actor, rate_limit_key
from community.services import notifications, threads
from community.services.errors import Invalid
from community.services.links import thread_url
from community.views.forms import (ActionForm, NotificationSettingsForm, checked,
                                   field_error)

bp = Blueprint("notifications", __name__)

post_limit = limiter.limit(lambda: current_app.config["RATELIMIT_POST"], methods=["POST"],
                           key_func=rate_limit_key)


@bp.get("/notifications")
@login_required
def index():
    actor = current_actor()
    page = notifications.list_for(actor, cursor=request.args.get("cursor") or None,
                                  limit=current_app.config["PAGE_SIZE"])
    next_url = url_for(".index", cursor=page.next_cursor) if page.next_cursor else None
    form = NotificationSettingsForm(email=actor.email_notifications)
    return render_template("notifications/index.html", page=page, next_url=next_url,
                           action_form=ActionForm(), settings_form=form,
                           mail_enabled=notifications.email_available())


@bp.post("/notifications/read")
@login_required
def read_all():
    checked()
    count = notifications.mark_all_read(current_actor())
    flash(f"Marked {count} notification{'s' if count != 1 else ''} read.", "info")
    return redirect(url_for(".index"))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    checked()
    item = notifications.mark_read(current_actor(), notification_id)
    if request.form.get("open"):
        return redirect(notifications.target_url(item))
    return redirect(url_for(".index"))


@bp.post("/notifications/settings")
@login_required
def settings():
    form = NotificationSettingsForm()
    if form.validate_on_submit():
        try:
            notifications.set_email_mode(current_actor(), form.email.data)
        except Invalid as exc:
            field_error(form, exc)
        else:
            flash("Email settings saved.", "success")
            return redirect(url_for(".index"))
    actor = current_actor()
    page = notifications.list_for(actor, limit=current_app.config["PAGE_SIZE"])
    return render_template("notifications/index.html", page=page, next_url=None,
                           action_form=ActionForm(), settings_form=form,
                           mail_enabled=notifications.email_available()), 422


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail clients POST here for one-click unsubscribe
def unsubscribe(token: str):
    if request.method == "POST":
        user = notifications.unsubscribe(token)
        return render_template("notifications/unsubscribe.html", user=user, done=True)
    # A GET only asks: link scanners in mail systems open links without anyone clicking.
    return render_template("notifications/unsubscribe.html", token=token, done=False)


@bp.post("/threads/<int:thread_id>/follow")
@login_required
@post_limit
def follow(thread_id: int):
    actor = current_actor()
    thread = threads.get_thread(actor, thread_id)
    checked()
    if request.form.get("follow") == "0":
        notifications.unfollow(actor, thread)
    else:
        notifications.follow(actor, thread)
    return redirect(thread_url(thread))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(describe_notification=notifications.describe,
                                 notification_url=notifications.target_url)

    @app.context_processor
    def bell() -> dict[str, Any]:
        def unread() -> int:
            return notifications.unread_count(current_user) if current_user.is_authenticated else 0

        def following(thread) -> bool:
            return notifications.is_following(current_actor(), thread)

        return {"unread_notifications": unread, "is_following": following}
