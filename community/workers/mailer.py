"""Notification email: one notification as it happens, or the day's digest, composed from the
templates as a visitor at BASE_URL would see the links, and sent through community/mail.py."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from flask import current_app, render_template, url_for

from community import mail
from community.models import Notification, User
from community.services import notifications
from community.services.links import outside_request

log = logging.getLogger(__name__)


def compose(user: User, items: list[Notification], *, digest: bool) -> EmailMessage:
    """One email to `user`: one notification, or the day's digest; with one-click unsubscribe.
    Call it inside `outside_request()`."""
    unsubscribe_url = url_for("notifications.unsubscribe",
                              token=notifications.unsubscribe_token(user), _external=True)
    entries = [(notifications.describe(item), notifications.target_url(item, external=True))
               for item in items]
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


def send_one(notification_id: int) -> None:
    """Email a notification to a member who wants email immediately (once, whoever asks)."""
    config = current_app.config
    if not mail.configured(config):
        return
    item = notifications.claim_for_email(notification_id)
    if item is None:
        return
    try:
        with outside_request():
            mail.send(config, compose(item.user, [item], digest=False))
    except Exception:
        notifications.release_email([item.id])  # the next digest or retry takes it again
        raise


def send_digests() -> tuple[int, int]:
    """Email every daily-digest user their unread notifications; returns (emails, failures).
    Raises RuntimeError when no mail server is set."""
    config = current_app.config
    if not mail.configured(config):
        raise RuntimeError("MAIL_SERVER is not set: no email can be sent")
    sent = failed = 0
    for user, items in notifications.claim_digests():
        try:
            with outside_request():
                mail.send(config, compose(user, items, digest=True))
            sent += 1
        except Exception:
            log.exception("digest for user %s failed", user.id)
            notifications.release_email([item.id for item in items])
            failed += 1
    return sent, failed
