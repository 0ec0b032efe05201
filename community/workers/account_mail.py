"""Email that accounts ask for: a password-reset link and an email-verification link, made at
send time from the account as it is then, composed from templates/settings/ and sent through
community/mail.py by the mailer worker."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app, render_template, url_for

from community import mail
from community.extensions import db
from community.models import User
from community.services import account_recovery
from community.services.links import outside_request


def _send(user: User, subject: str, template: str, **context) -> None:
    message = EmailMessage()
    message["To"] = user.email
    message["Subject"] = f"Kestrel Community: {subject}"
    message.set_content(render_template(template, user=user, **context))
    mail.send(current_app.config, message)


def send_reset(user_id: int) -> None:
    """Email the account its reset link (it asked; nothing is sent without a mail server)."""
    user = db.session.get(User, user_id)
    if user is None or user.password_hash is None or not mail.configured(current_app.config):
        return
    with outside_request():
        link = url_for("settings.reset_password", token=account_recovery.reset_token(user),
                       _external=True)
        minutes = current_app.config["PASSWORD_RESET_SECONDS"] // 60
        _send(user, "reset your password", "settings/reset_email.txt", link=link,
              minutes=minutes)


def send_verification(user_id: int) -> None:
    """Email the account's current address a link that verifies it (none once verified)."""
    user = db.session.get(User, user_id)
    if user is None or user.email_verified_at is not None \
            or not mail.configured(current_app.config):
        return
    with outside_request():
        link = url_for("settings.verify_email", token=account_recovery.verification_token(user),
                       _external=True)
        _send(user, "confirm your email address", "settings/verify_email.txt", link=link)
