"""Notification fixtures: waiting for the after-commit workers (the SMTP server is in
tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def settle(app):
    """Call to wait until notifications (and their email) for every commit are done."""
    from community.workers import notifications

    def wait() -> None:
        assert notifications.flush(), "the notification workers did not catch up"
        assert not notifications.failures(), notifications.failures()
    return wait
