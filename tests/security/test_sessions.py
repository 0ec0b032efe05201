"""Credentials end when they should (issue 14, item 4) and accounts resist the cheap attacks
(item 7): log-out ends the session and remember cookies, even copies; "log out everywhere";
suspended accounts start no session and mint no token; case-blind email; weak passwords;
failed log-ins limited per address and per account tried."""

from __future__ import annotations

from datetime import timedelta

import pytest

from community.extensions import db
from community.models.base import utcnow
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_user


def _cookies(client) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def _replay(app, cookies: dict[str, str]):
    """A fresh browser holding copies of `cookies` (as an attacker who copied them would)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value, domain="localhost")
    return other


def _logged_in(client) -> bool:
    return client.get("/api/v1/me").status_code == 200


def test_a_session_cookie_copied_before_log_out_stops_working(app, client, users):
    login(client, "asker")
    copied = _cookies(client)
    assert _logged_in(_replay(app, copied))
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert not _logged_in(client)
    assert not _logged_in(_replay(app, copied))


def test_the_remember_cookie_dies_with_its_session_and_is_same_site_lax(app, client, users):
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "asker",
                                           "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    header = next(value for value in response.headers.getlist("Set-Cookie")
                  if value.startswith("remember_token="))
    assert "SameSite=Lax" in header
    remember = {"remember_token": _cookies(client)["remember_token"]}
    assert _logged_in(_replay(app, remember))  # the cookie alone logs a browser in
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert not _logged_in(_replay(app, remember))


def test_log_out_everywhere_ends_every_browser_of_the_account_only(app, users):
    laptop, phone, someone_else = app.test_client(), app.test_client(), app.test_client()
    login(laptop, "asker")
    login(phone, "asker")
    login(someone_else, "helper")
    response = laptop.post("/logout/everywhere", data={"csrf_token": csrf_token(laptop)})
    assert response.status_code == 302
    assert not _logged_in(laptop) and not _logged_in(phone)
    assert _logged_in(someone_else)


def test_log_out_everywhere_through_the_api_keeps_the_token(app, client, users, token_for):
    browser = app.test_client()
    login(browser, "asker")
    headers = token_for(users.asker)
    response = client.delete("/api/v1/me/sessions", headers=headers)
    assert response.status_code == 200 and response.get_json() == {"ended": 1}
    assert not _logged_in(browser)
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_suspended_account_cannot_log_in_or_mint_a_token(client, users):
    users.asker.suspended_until = utcnow() + timedelta(days=3)
    db.session.commit()
    page = client.post("/login", data={"csrf_token": csrf_token(client), "username": "asker",
                                       "password": PASSWORD})
    assert page.status_code == 422 and "suspended" in page.get_data(as_text=True)
    assert not _logged_in(client)
    token = client.post("/api/v1/tokens", json={"username": "asker", "password": PASSWORD})
    assert token.status_code == 403 and token.get_json()["error"]["code"] == "user.suspended"


def test_email_addresses_are_one_account_whatever_their_case(client, ctx):
    first = client.post("/api/v1/users", json={"username": "mallory", "password": PASSWORD,
                                               "email": "MALLORY@example.com"})
    assert first.status_code == 201
    second = client.post("/api/v1/users", json={"username": "mallory2", "password": PASSWORD,
                                                "email": "mallory@example.com"})
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "email.taken"


@pytest.mark.parametrize("password, code", [
    ("password123", "password.common"),
    ("Qwerty123456", "password.common"),
    ("newmember1", "password.username"),
    ("NEWMEMBER1", "password.username"),
    (" " * 12, "password.blank"),
    ("\u200b" * 10, "password.blank"),
    ("\t\u00a0\u2003" * 4, "password.blank"),
])
def test_weak_passwords_are_refused_with_a_reason(client, ctx, password, code):
    response = client.post("/api/v1/users", json={"username": "newmember1", "password": password,
                                                  "email": "new@example.com"})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_failed_log_ins_are_limited_per_account_tried_from_any_address(app, client, users,
                                                                      monkeypatch):
    """Each address an attacker holds brings no fresh allowance against one victim; once the
    account's failures are used up even the right password waits."""
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    statuses = [client.post("/api/v1/tokens", json={"username": "asker", "password": "guess"},
                            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code
                for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    right = client.post("/api/v1/tokens", json={"username": "asker", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert right.status_code == 429
    # Another account is not held up by the victim's limit.
    assert client.post("/api/v1/tokens", json={"username": "helper", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "198.51.100.99"}).status_code == 201


def test_failed_log_ins_are_limited_per_address_across_accounts(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    for n in range(4):
        make_user(f"victim{n}")
    statuses = [client.post("/login", data={"csrf_token": csrf_token(client),
                                            "username": f"victim{n}", "password": "guess"},
                            environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code
                for n in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_successful_log_ins_do_not_use_up_the_allowance(app, users, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    for _ in range(4):
        browser = app.test_client()
        login(browser, "asker")
        assert _logged_in(browser)
