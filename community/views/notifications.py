"""Notification pages (the list, mark read, email settings, unsubscribe, follow buttons), the
words each notification is shown in, and the email that carries them (sent off the request)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community import mail
from community.extensions import csrf, limiter
from community.models import Notification, User
from community.security import current_actor, rate_limit_key
from community.services import events, notifications, threads
from community.services.background import Worker
from community.services.errors import Invalid
from community.views.forms import ActionForm, NotificationSettingsForm, field_error
from community.views.urls import thread_url

bp = Blueprint("notifications", __name__)
log = logging.getLogger(__name__)

post_limit = limiter.limit(lambda: current_app.config["RATELIMIT_POST"], methods=["POST"],
                           key_func=rate_limit_key)

_WORKER = "community.notifications_worker"
_MAILER = "community.mailer"

PHRASES = {
    "answer": "{actor} answered your question",
    "comment": "{actor} commented on your post in",
    "accepted": "{actor} accepted your answer to",
    "endorsed": "{actor} (staff) endorsed your answer to",
    "mention": "{actor} mentioned you in",
    "activity": "{actor} added to a thread you follow:",
}


# ---- how a notification reads -----------------------------------------------------------------

def describe(item: Notification) -> str:
    actor = item.actor.username if item.actor is not None else "Someone"
    return f"{PHRASES[item.kind].format(actor=actor)} “{item.thread.title}”"


def target_url(item: Notification, *, external: bool = False) -> str:
    anchor = (f"comment-{item.comment_id}" if item.comment_id
              else f"post-{item.post_id}" if item.post_id else None)
    return thread_url(item.thread, anchor=anchor, external=external)


def live_payload(item: Notification) -> dict[str, Any]:
    """What the bell needs (realtime.py sends it to the user's own room)."""
    return {"notification_id": item.id, "kind": item.kind, "text": describe(item),
            "url": target_url(item), "unread_count": notifications.unread_count(item.user)}


# ---- pages ------------------------------------------------------------------------------------

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
                           mail_enabled=mail.configured(current_app.config))


@bp.post("/notifications/read")
@login_required
def read_all():
    if not ActionForm().validate_on_submit():
        raise Invalid("csrf_token", "csrf.invalid", "The form expired; reload and try again.")
    count = notifications.mark_all_read(current_actor())
    flash(f"Marked {count} notification{'s' if count != 1 else ''} read.", "info")
    return redirect(url_for(".index"))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    if not ActionForm().validate_on_submit():
        raise Invalid("csrf_token", "csrf.invalid", "The form expired; reload and try again.")
    item = notifications.mark_read(current_actor(), notification_id)
    if request.form.get("open"):
        return redirect(target_url(item))
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
                           mail_enabled=mail.configured(current_app.config)), 422


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
    if not ActionForm().validate_on_submit():
        raise Invalid("csrf_token", "csrf.invalid", "The form expired; reload and try again.")
    if request.form.get("follow") == "0":
        notifications.unfollow(actor, thread)
    else:
        notifications.follow(actor, thread)
    return redirect(thread_url(thread))


# ---- email ------------------------------------------------------------------------------------

def compose(user: User, items: list[Notification], *, digest: bool) -> EmailMessage:
    """One email to `user`: one notification, or the day's digest; with one-click unsubscribe."""
    unsubscribe_url = url_for("notifications.unsubscribe",
                              token=notifications.unsubscribe_token(user), _external=True)
    entries = [(describe(item), target_url(item, external=True)) for item in items]
    message = EmailMessage()
    message["To"] = user.email
    message["Subject"] = (f"Kestrel Community: {len(items)} new notification"
                          f"{'s' if len(items) != 1 else ''}" if digest
                          else f"Kestrel Community: {entries[0][0]}")
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_template(
        "notifications/email.txt", user=user, entries=entries, digest=digest,
        unsubscribe_url=unsubscribe_url,
        settings_url=url_for("notifications.index", _external=True)))
    return message


def _send_immediately(notification_id: int) -> None:
    config = current_app.config
    if not mail.configured(config):
        return
    item = notifications.claim_for_email(notification_id)
    if item is None:
        return
    try:
        with current_app.test_request_context("/", base_url=config["BASE_URL"]):
            mail.send(config, compose(item.user, [item], digest=False))
    except Exception:
        notifications.release_email([item.id])  # the next digest or retry takes it again
        raise


def send_digests() -> tuple[int, int]:
    """Email every daily-digest user their unread notifications; returns (emails, failures)."""
    config = current_app.config
    if not mail.configured(config):
        raise RuntimeError("MAIL_SERVER is not set: no email can be sent")
    sent = failed = 0
    for user, items in notifications.claim_digests():
        try:
            with current_app.test_request_context("/", base_url=config["BASE_URL"]):
                mail.send(config, compose(user, items, digest=True))
            sent += 1
        except Exception:
            log.exception("digest for user %s failed", user.id)
            notifications.release_email([item.id for item in items])
            failed += 1
    return sent, failed


def flush(timeout: float = 30.0) -> bool:
    """Wait until notifications for every committed change are written and emailed."""
    deadline_ok = current_app.extensions[_WORKER].flush(timeout)
    return current_app.extensions[_MAILER].flush(timeout) and deadline_ok


def failures() -> list[str]:
    return current_app.extensions[_WORKER].failures + current_app.extensions[_MAILER].failures


def init_app(app: Flask) -> None:
    recorder = app.extensions[_WORKER] = Worker(
        app, "notifications", lambda happened: notifications.record(
            [(event.name, event.data) for event in happened]),
        gather_seconds=app.config["NOTIFY_GATHER_SECONDS"],
        gather_max_seconds=app.config["NOTIFY_GATHER_MAX_SECONDS"])
    mailer = app.extensions[_MAILER] = Worker(app, "mailer", _send_immediately)

    def on_commit(event: events.Event) -> None:
        if event.name in notifications.TRIGGERS:
            recorder.submit(event)
        elif event.name == "notification.created":
            mailer.submit(event.data["notification_id"])

    events.subscribe(app, on_commit)

    app.jinja_env.globals.update(describe_notification=describe, notification_url=target_url)

    @app.context_processor
    def bell() -> dict[str, Any]:
        def unread() -> int:
            return notifications.unread_count(current_user) if current_user.is_authenticated else 0

        def following(thread) -> bool:
            return notifications.is_following(current_actor(), thread)

        return {"unread_notifications": unread, "is_following": following}
