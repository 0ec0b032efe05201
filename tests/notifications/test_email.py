"""Notification email through a real SMTP server (aiosmtpd on loopback), by preference:
immediately, daily digest (`community notifications digest`), never; one-click unsubscribe."""

from __future__ import annotations

import re

from sqlalchemy import select

from community.extensions import db
from community.models import Notification
from community.services import notifications
from tests import factories


def _link(message, pattern: str) -> str:
    match = re.search(pattern, message.get_content())
    assert match, message.get_content()
    return match.group(0)


def test_immediate_email_and_one_click_unsubscribe(client, ctx, users, settle, smtp_server):
    notifications.set_email_mode(users.asker, "immediately")
    thread = factories.make_thread(users.asker, "Voicemail PIN is not accepted")
    answer = factories.make_answer(users.helper, thread)
    settle()

    [message] = smtp_server.to(users.asker.email)
    assert message["Subject"] == ("Kestrel Community: helper answered your question "
                                  "“Voicemail PIN is not accepted”")
    assert message["From"] == "Kestrel Community <community@localhost>"
    body = message.get_content()
    assert f"http://localhost/threads/{thread.id}/voicemail-pin-is-not-accepted#post-{answer.id}" in body
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe == _link(message, r"http://localhost/notifications/unsubscribe/\S+")
    assert smtp_server.to(users.helper.email) == []  # helper is on the daily digest (default)
    item = db.session.scalar(select(Notification).where(Notification.user_id == users.asker.id))
    assert item.emailed_at is not None

    path = unsubscribe.removeprefix("http://localhost")
    asked = client.get(path)
    assert asked.status_code == 200 and b"Unsubscribe" in asked.data
    db.session.refresh(users.asker)
    assert users.asker.email_notifications == "immediately"  # a GET (a link scanner) changes nothing
    # What a mail client sends for RFC 8058 one-click: a POST, no session, no CSRF token.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    db.session.refresh(users.asker)
    assert users.asker.email_notifications == "never"

    factories.make_answer(users.other, thread)
    settle()
    assert len(smtp_server.to(users.asker.email)) == 1  # nothing more after unsubscribing
    tampered = client.post(path[:-2] + ("xx" if not path.endswith("xx") else "yy"))
    assert tampered.status_code == 404


def test_daily_digest_sends_each_unread_notification_once(runner, ctx, users, settle,
                                                          smtp_server):
    thread = factories.make_thread(users.asker, "Roaming in Dubai does not connect")
    first = factories.make_answer(users.helper, thread)
    factories.make_answer(users.other, thread)
    notifications.set_email_mode(users.other, "never")
    factories.make_answer(users.staff, thread, "Staff here: @other, try the manual network.")
    settle()
    notifications.mark_read(users.asker, notifications.list_for(users.asker).items[-1].id)
    assert smtp_server.messages == []  # daily by default: nothing right away

    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 digest(s)." in result.output
    [to_asker] = smtp_server.to(users.asker.email)
    [to_helper] = smtp_server.to(users.helper.email)
    assert smtp_server.to(users.other.email) == []  # "never"
    assert to_asker["Subject"] == "Kestrel Community: 2 new notifications"
    text = to_asker.get_content()
    assert "other answered your question" in text and "kestrel_staff answered" in text
    assert f"#post-{first.id}" not in text  # read already: not emailed
    assert "activity" not in to_helper["Subject"]
    assert "kestrel_staff added to a thread you follow" in to_helper.get_content()

    again = runner.invoke(args=["notifications", "digest"])
    assert again.exit_code == 0 and "Sent 0 digest(s)." in again.output
    assert len(smtp_server.messages) == 2


def test_a_refused_delivery_is_kept_for_the_next_run(app, runner, ctx, users, settle,
                                                    smtp_server):
    thread = factories.make_thread(users.asker)
    factories.make_answer(users.helper, thread)
    settle()
    app.config["MAIL_PORT"] = 1  # nothing listens there: the connection is refused
    failed = runner.invoke(args=["notifications", "digest"])
    assert failed.exit_code == 1 and "1 failed" in failed.output
    db.session.expire_all()
    assert db.session.scalar(select(Notification.emailed_at)) is None
    app.config["MAIL_PORT"] = smtp_server.port
    assert runner.invoke(args=["notifications", "digest"]).exit_code == 0
    assert len(smtp_server.to(users.asker.email)) == 1


def test_digest_without_a_mail_server_says_so(runner, ctx):
    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code != 0 and "MAIL_SERVER is not set" in result.output
