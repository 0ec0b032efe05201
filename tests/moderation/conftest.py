"""Moderation fixtures: the new-account rules, which the suite's app turns off, turned on."""

from __future__ import annotations

import pytest

# Socket.IO clients against the live server, for the moderation room and hidden content.
from tests.live.conftest import connect, live_url  # noqa: F401


@pytest.fixture
def new_accounts(app, monkeypatch):
    """Accounts under a day old with reputation below 10 are new (the production defaults)."""
    monkeypatch.setitem(app.config, "MODERATION_NEW_ACCOUNT_HOURS", 24)
    monkeypatch.setitem(app.config, "MODERATION_NEW_ACCOUNT_REPUTATION", 10)
    monkeypatch.setitem(app.config, "MODERATION_NEW_ACCOUNT_LINKS", 2)
    monkeypatch.setitem(app.config, "MODERATION_SPAM_CHECKER", "local")
    monkeypatch.setitem(app.config, "MODERATION_SPAM_THRESHOLD", 5.0)
    monkeypatch.setitem(app.config, "MODERATION_BANNED_DOMAINS", ["spam.example"])
    monkeypatch.setitem(app.config, "MODERATION_BANNED_WORDS", ["casino"])
