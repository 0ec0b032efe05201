"""Password reset by email (issue 17): a signed, single-use, expiring link through real SMTP;
the same answer for unknown addresses; rate limited; a reset ends every session and token."""

from __future__ import annotations

import time

from itsdangerous import URLSafeTimedSerializer
from werkzeug.security import check_password_hash

from community.extensions import db
from community.services import account_recovery
from tests.accounts.conftest import link_in
from tests.api.contract import assert_error
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD

NEW = "a fresh sturdy passphrase"


def _ask(client, email: str):
    return client.post("/password-reset", data={"csrf_token": csrf_token(client, "/password-reset"),
                                                "email": email})


def _reset_link(smtp_server, settle, user) -> str:
    settle()
    [message] = smtp_server.to(user.email)
    assert message["Subject"] == "Kestrel Community: reset your password"
    return link_in(message, "/password-reset/")


def test_log_in_page_offers_a_reset(client, ctx):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password-reset"' in page and "Forgot your password?" in page


def test_reset_through_the_pages_ends_every_session_and_token(app, client, ctx, users, settle,
                                                              smtp_server, token_for):
    other_browser = app.test_client()
    login(other_browser, "asker")
    headers = token_for(users.asker)
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    sent = _ask(client, "ASKER@example.com")  # addresses compare case-blind
    assert sent.status_code == 200
    assert "If an account has that address" in sent.get_data(as_text=True)
    path = _reset_link(smtp_server, settle, users.asker)

    form = client.get(path)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    done = client.post(path, data={"csrf_token": csrf_token(client, path), "password": NEW,
                                   "confirm": NEW})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    db.session.refresh(users.asker)
    assert check_password_hash(users.asker.password_hash, NEW)
    # The other browser's session and the API token ended with the reset.
    assert other_browser.get("/settings").status_code == 302
    assert_error(client.get("/api/v1/me", headers=headers), 401, "auth.invalid_token")
    login(client, "asker", NEW)

    again = client.get(path)  # single use: the password it was bound to is gone
    assert again.status_code == 422 and "already used" in again.get_data(as_text=True)


def test_unknown_address_gets_the_same_answer_and_no_email(client, ctx, users, settle,
                                                           smtp_server):
    known = _ask(client, "asker@example.com").get_data(as_text=True)
    unknown = _ask(client, "nobody@example.com").get_data(as_text=True)
    strip = lambda page: page.split('name="csrf-token"')[0]  # noqa: E731
    assert strip(known) == strip(unknown)
    api_known = client.post("/api/v1/password-reset", json={"email": "helper@example.com"})
    api_unknown = client.post("/api/v1/password-reset", json={"email": "ghost@example.com"})
    assert (api_known.status_code, api_known.get_json()) == (api_unknown.status_code,
                                                             api_unknown.get_json())
    assert api_known.status_code == 202
    settle()
    assert smtp_server.to("nobody@example.com") == [] and smtp_server.to("ghost@example.com") == []
    assert len(smtp_server.to(users.asker.email)) == 1
    assert len(smtp_server.to(users.helper.email)) == 1


def test_api_reset_and_its_bad_paths(client, ctx, users, settle, smtp_server, token_for):
    headers = token_for(users.helper)
    assert_error(client.post("/api/v1/password-reset", json={"email": "not an address"}), 422,
                 "email.invalid", "email")
    assert_error(client.post("/api/v1/password-reset", json=["x"]), 400, "request.invalid_json")
    assert client.post("/api/v1/password-reset", json={"email": users.helper.email}).status_code == 202
    token = _reset_link(smtp_server, settle, users.helper).rsplit("/", 1)[1]
    before = users.helper.password_hash

    assert_error(client.post("/api/v1/password-reset/confirm", json={"token": token[:-3] + "abc",
                                                                     "password": NEW}),
                 422, "token.invalid", "token")
    assert_error(client.post("/api/v1/password-reset/confirm", json={"token": token,
                                                                     "password": "helper"}),
                 422, "password.length", "password")
    assert_error(client.post("/api/v1/password-reset/confirm", json={"token": token,
                                                                     "password": "password123"}),
                 422, "password.common", "password")
    assert_error(client.post("/api/v1/password-reset/confirm", json={"token": 5, "password": NEW}),
                 422, "token.invalid", "token")
    db.session.refresh(users.helper)
    assert users.helper.password_hash == before  # nothing changed
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    done = client.post("/api/v1/password-reset/confirm", json={"token": token, "password": NEW})
    assert done.status_code == 204
    assert_error(client.get("/api/v1/me", headers=headers), 401, "auth.invalid_token")
    assert_error(client.post("/api/v1/password-reset/confirm",
                             json={"token": token, "password": "another good passphrase"}),
                 422, "token.used", "token")


def test_expired_and_forged_links(app, client, ctx, users):
    token = account_recovery.reset_token(users.asker)
    app.config["PASSWORD_RESET_SECONDS"] = 1
    try:
        time.sleep(2.1)
        assert_error(client.post("/api/v1/password-reset/confirm",
                                 json={"token": token, "password": NEW}), 422, "token.expired",
                     "token")
        page = client.get(f"/password-reset/{token}")
        assert page.status_code == 422 and "expired" in page.get_data(as_text=True)
    finally:
        app.config["PASSWORD_RESET_SECONDS"] = 3600
    # Signed with another key, or naming another account: refused.
    forged = URLSafeTimedSerializer("not-our-secret", salt=account_recovery.RESET_SALT).dumps(
        {"u": users.asker.id, "e": users.asker.email, "p": "x"})
    assert_error(client.post("/api/v1/password-reset/confirm", json={"token": forged,
                                                                     "password": NEW}),
                 422, "token.invalid", "token")
    # A verification token is no reset token (another salt).
    assert_error(client.post("/api/v1/password-reset/confirm",
                             json={"token": account_recovery.verification_token(users.asker),
                                   "password": NEW}), 422, "token.invalid", "token")
    db.session.refresh(users.asker)
    assert check_password_hash(users.asker.password_hash, PASSWORD)


def test_changing_the_email_kills_an_outstanding_link(client, ctx, users):
    token = account_recovery.reset_token(users.asker)
    users.asker.email = "asker-new@example.com"
    db.session.commit()
    assert_error(client.post("/api/v1/password-reset/confirm",
                             json={"token": token, "password": NEW}), 422, "token.invalid",
                 "token")


def test_reset_requests_are_rate_limited(app, client, ctx, users):
    app.config["RATELIMIT_PASSWORD_RESET"] = "2 per hour"
    try:
        for _ in range(2):
            assert client.post("/api/v1/password-reset",
                               json={"email": "asker@example.com"}).status_code == 202
        assert_error(client.post("/api/v1/password-reset", json={"email": "asker@example.com"}),
                     429, "rate_limited")
        # The page and the API share one count.
        assert _ask(client, "asker@example.com").status_code == 429
    finally:
        app.config["RATELIMIT_PASSWORD_RESET"] = "1000 per minute"
