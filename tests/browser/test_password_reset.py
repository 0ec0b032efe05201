"""Resetting a forgotten password in real Chromium (issue 17): from the log-in page, through the
email a real SMTP server receives, to logging in with the new password."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.browser

NEW = "a fresh sturdy passphrase"


def test_reset_a_password_from_the_log_in_page(app, page, smtp_server):
    from playwright.sync_api import expect

    from community.workers import notifications

    with app.app_context():
        make_user("forgetful")
    watched = page()
    tab = watched.page
    tab.goto("/login")
    tab.get_by_role("link", name="Forgot your password?").click()
    tab.get_by_label("Email").fill("Forgetful@example.com")
    tab.get_by_role("button", name="Send the link").click()
    expect(tab.get_by_role("status")).to_contain_text("If an account has that address")

    with app.app_context():
        assert notifications.flush()
    [message] = smtp_server.to("forgetful@example.com")
    link = re.search(r"http://localhost(/password-reset/\S+)", message.get_content()).group(1)

    tab.goto(link)
    tab.get_by_label("New password", exact=True).fill(NEW)
    tab.get_by_label("Repeat new password").fill(NEW)
    tab.get_by_role("button", name="Set the new password").click()
    expect(tab).to_have_url(re.compile(r"/login$"))
    expect(tab.get_by_role("status")).to_contain_text("Your password is changed")

    tab.get_by_label("Username").fill("forgetful")
    tab.get_by_label("Password", exact=True).fill(NEW)
    tab.get_by_role("button", name="Log in").click()
    expect(tab.get_by_role("navigation", name="Account")).to_contain_text("forgetful")
    assert watched.problems() == []
