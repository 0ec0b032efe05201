"""Notification fixtures: waiting for the after-commit workers, and a real SMTP server."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from tests.conftest import require


@pytest.fixture
def settle(app):
    """Call to wait until notifications (and their email) for every commit are done."""
    from community.workers import notifications

    def wait() -> None:
        assert notifications.flush(), "the notification workers did not catch up"
        assert not notifications.failures(), notifications.failures()
    return wait


@dataclass
class Mailbox:
    """What a real SMTP server on loopback received."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m, rcpt in zip(self.messages, self.recipients) if address in rcpt]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """An aiosmtpd server on 127.0.0.1; the app sends its mail there for this test."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        Controller = None
    require(Controller is not None, "aiosmtpd is not installed (the [test] extra has it)")
    mailbox = Mailbox("127.0.0.1", _free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER=mailbox.host, MAIL_PORT=mailbox.port)
    try:
        yield mailbox
    finally:
        app.config.update(saved)
        controller.stop()
