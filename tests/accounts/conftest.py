"""Fixtures for account tests: wait for the mailer, pull a link out of an email."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def settle(app):
    """Call to wait until every committed change's email has gone out."""
    from community.workers import notifications

    def wait() -> None:
        with app.app_context():
            assert notifications.flush(), "the mail workers did not catch up"
            assert not notifications.failures(), notifications.failures()
    return wait


def link_in(message, path: str) -> str:
    """The local path of the first http://localhost<path>... link in an email."""
    match = re.search(rf"http://localhost({re.escape(path)}\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)
