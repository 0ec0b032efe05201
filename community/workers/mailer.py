"""Email to members: a notification as it happens, the day's digest, and word that a social
account was linked to theirs; composed from the templates as a visitor at BASE_URL would see the
links, and sent through community/mail.py."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from flask import current_app, render_template, url_for

from community import mail
from community.extensions import db
from community.models import ExternalIdentity, Notification, User
from community.services import bridge, events, notifications
from community.services.links import outside_request
from community.workers import account_mail

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


def send_link_notice(identity_id: int) -> None:
    """Tell a member that a social account was just linked to theirs, with a one-click unlink
    (a stranger who guessed a code could otherwise post as them unnoticed)."""
    config = current_app.config
    identity = db.session.get(ExternalIdentity, identity_id)
    if not mail.configured(config) or identity is None or identity.linked_user is None:
        return
    user = identity.linked_user
    with outside_request():
        message = EmailMessage()
        message["To"] = user.email
        message["Subject"] = f"Kestrel Community: a {identity.channel.name} account was linked"
        message.set_content(render_template(
            "bridge/linked_email.txt", user=user, identity=identity,
            unlink_url=url_for("bridge.unlink_from_email", token=bridge.unlink_token(identity),
                               _external=True),
            linked_url=url_for("bridge.linked", _external=True)))
        mail.send(config, message)


# What the mailer worker sends, by the event that calls for it.
SENDS = {
    "notification.created": lambda data: send_one(data["notification_id"]),
    "identity.linked": lambda data: send_link_notice(data["identity_id"]),
    "account.reset_requested": lambda data: account_mail.send_reset(data["user_id"]),
    "account.verification_requested":
        lambda data: account_mail.send_verification(data["user_id"]),
}


def send_for(event: events.Event) -> None:
    SENDS[event.name](event.data)
