"""Fixtures: the app from the factory on SQLite or PostgreSQL, a clean database per test, clients.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set (CI runs
both). The schema is built by the real Alembic migrations. Every test starts from empty tables,
which also works for tests that use threads or a live server. With CI=true, tests that would
skip for lack of a tool (Chromium, PostgreSQL, ../shared) fail instead: see `require`.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import g, request_started
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from community import create_app
from community.extensions import cache, db, limiter
from community.search import get_index
from community.services import bridge as bridge_service
from community.services import events
from community.workers import search_indexer
from tests import factories

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def require(condition: bool, reason: str) -> None:
    """Skip when a tool or data set is missing locally; fail in CI, where it must be present."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def pytest_report_header(config):
    url = os.environ.get("TEST_DATABASE_URL")
    return f"database: {'PostgreSQL ' + url.rsplit('@', 1)[-1] if url else 'SQLite'}; CI={IN_CI}"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


def _worker_database(url: str, worker: str) -> str:
    """Each pytest-xdist worker gets its own PostgreSQL database beside the given one."""
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": name}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
        # Limits are real but generous; rate-limit tests lower them through app.config.
        "RATELIMIT_SIGNUP": "1000 per minute",
        "RATELIMIT_LOGIN": "1000 per minute",
        "RATELIMIT_POST": "1000 per minute",
        "RATELIMIT_POST_NEW": "1000 per minute",
        # Factory users are minutes old with reputation 1: new accounts, whose links, images and
        # posts the moderation rules limit and screen. No account is new here; tests/moderation
        # turns the rule on where it tests it.
        "MODERATION_NEW_ACCOUNT_HOURS": 0,
        "BASE_URL": "http://localhost",
        # Still scrypt, with a small work factor so hundreds of test users cost little.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "SEARCH_BACKEND": "memory",
        # Recovery after a crash runs in real server processes (tests/workers/
        # test_crash_recovery.py); here it would index and notify behind the tests' backs.
        "SEARCH_RECONCILE_AT_START": False,
        "NOTIFY_RECOVERY_SECONDS": None,
        # Webhook tests look at the threads right after the delivery; test_intake.py covers
        # the background intake that production uses.
        "BRIDGE_INTAKE": "inline",
        # The fake channel APIs and partners listen on 127.0.0.1; tests/bridge/test_outbound.py
        # turns this off to prove such addresses are refused.
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": True,
        "SERVER_NAME": None,
    })
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:  # start from nothing, then migrate for real
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    return app


@pytest.fixture(autouse=True)
def _clean_database(request, app):
    """Empty every table before each test (fast enough, and works across threads)."""
    with app.app_context():
        # The last test's background indexer may still be reading; on PostgreSQL its open
        # transaction and our TRUNCATE would deadlock, so let it finish first.
        search_indexer.flush()
        _settle_live_workers()
        tables = [t.name for t in db.metadata.sorted_tables] + ["alembic_version"]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(t for t in tables if t != "alembic_version")
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(text("PRAGMA foreign_keys=OFF"))
                for name in tables:
                    if name != "alembic_version":
                        conn.execute(text(f"DELETE FROM {name}"))
                conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sequence(conn) else None
                conn.execute(text("PRAGMA foreign_keys=ON"))
        limiter.reset()
        cache.clear()
        bridge_service.forget_webhook_channels()
        search_indexer.flush()  # nothing from the last test may land in this one's index
        get_index().rebuild([])
    yield


def _settle_live_workers() -> None:
    """Let the last test's notification, mail and socket workers finish their reads first."""
    from community.workers import live_updates, notifications

    notifications.flush()
    live_updates.flush()


def _has_sequence(conn) -> bool:
    return bool(conn.execute(text(
        "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first())


@pytest.fixture
def ctx(app):
    """An app context for tests that call services directly.

    Test-client requests made meanwhile reuse this context, so each one starts with an empty
    `g` (as in production, where every request has its own): no token user or Flask-Login user
    leaks from one request into the next.
    """
    def fresh_g(sender, **extra):
        g._get_current_object().__dict__.clear()

    request_started.connect(fresh_g, app)
    with app.app_context():
        yield
        db.session.remove()
    request_started.disconnect(fresh_g, app)


@pytest.fixture
def indexed(app):
    """Call to wait until every committed change is searchable (indexing runs in the background)."""
    def wait() -> None:
        with app.app_context():
            assert search_indexer.flush(), "the search indexer did not catch up"
    return wait


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def events_seen(app):
    """Every event delivered after commit during the test, as (name, data) pairs."""
    seen: list[tuple[str, dict]] = []
    subscriber = lambda event: seen.append((event.name, event.data))  # noqa: E731
    events.subscribe(app, subscriber)
    yield seen
    events.unsubscribe(app, subscriber)


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = factories.PASSWORD):
    response = client.post("/login", data={"csrf_token": csrf_token(client),
                                           "username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@pytest.fixture
def users(ctx):
    """The named example users: asker, helper, other (members), staff, moderator, admin."""
    return factories.example_users()


@pytest.fixture
def token_for(app):
    """Bearer headers for a user, from the real token endpoint."""
    def make(user) -> dict[str, str]:
        with app.test_client() as c:
            response = c.post("/api/v1/tokens", json={"username": user.username,
                                                       "password": factories.PASSWORD})
            assert response.status_code == 201, response.get_json()
            return {"Authorization": f"Bearer {response.get_json()['token']}"}
    return make


# ---- a real SMTP server ---------------------------------------------------------------------

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
