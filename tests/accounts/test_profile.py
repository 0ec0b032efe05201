"""The settings page and PATCH /api/v1/me (issue 17): profile fields (bio cleaned like posts,
website nofollow), email and password with the current password, notification email."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from community.extensions import db
from tests.accounts.conftest import link_in
from tests.api.contract import assert_error
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD

NEW = "a fresh sturdy passphrase"


def test_settings_page_saves_the_profile(client, ctx, users):
    assert client.get("/settings").status_code == 302  # log in first
    login(client, "asker")
    page = client.get("/settings")
    assert page.status_code == 200
    saved = client.post("/settings/profile", data={
        "csrf_token": csrf_token(client, "/settings"), "display_name": "Ada  Asker",
        "bio": "I **love** roaming.\n\n<script>alert(1)</script>", "location": "Lisbon",
        "website": "https://ada.example/"})
    assert saved.status_code == 302
    db.session.refresh(users.asker)
    assert users.asker.display_name == "Ada Asker"
    assert "<strong>love</strong>" in users.asker.bio_html and "<script" not in users.asker.bio_html
    profile = client.get(f"/users/{users.asker.id}").get_data(as_text=True)
    assert "Ada Asker" in profile and "Lisbon" in profile
    assert 'href="https://ada.example/" rel="nofollow ugc noopener noreferrer"' in profile
    assert "<script>alert(1)" not in profile


def test_bad_profile_input_is_refused_and_changes_nothing(client, ctx, users, token_for):
    headers = token_for(users.asker)
    for body, code, field in [
        ({"website": "javascript:alert(1)"}, "website.invalid", "website"),
        ({"website": "https://user:pw@example.com"}, "website.invalid", "website"),
        ({"display_name": "x" * 65}, "display_name.length", "display_name"),
        ({"display_name": "kestrel_staff"}, "display_name.confusable", "display_name"),
        ({"bio": 5}, "bio.type", "bio"),
        ({"role": "admin"}, "field.unknown", "role"),
        ({"email_notifications": "hourly"}, "email_mode.invalid", "email_notifications"),
        ({"location": "Lisbon", "website": "ftp://x"}, "website.invalid", "website"),
    ]:
        assert_error(client.patch("/api/v1/me", json=body, headers=headers), 422, code, field)
    db.session.refresh(users.asker)
    assert (users.asker.location, users.asker.website, users.asker.role) == ("", "", "member")
    login(client, "asker")
    page = client.post("/settings/profile", data={"website": "javascript:alert(1)"})
    assert page.status_code == 400  # no CSRF token: refused before anything else
    page = client.post("/settings/profile", data={"csrf_token": csrf_token(client, "/settings"),
                                                  "website": "javascript:alert(1)"})
    assert page.status_code == 422 and "starting with http" in page.get_data(as_text=True)
    db.session.refresh(users.asker)
    assert users.asker.website == ""


def test_api_patch_me(client, ctx, users, token_for):
    headers = token_for(users.asker)
    done = client.patch("/api/v1/me", headers=headers, json={
        "display_name": "Ada", "bio": "Hi _there_", "location": "Porto",
        "website": "http://ada.example", "email_notifications": "never"})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["display_name"] == "Ada" and "<em>there</em>" in body["bio_html"]
    assert body["email_notifications"] == "never" and body["email_verified"] is True
    assert body["avatar_url"].startswith("http://localhost/users/")
    public = client.get(f"/api/v1/users/{users.asker.id}").get_json()
    assert public["location"] == "Porto" and "email" not in public


def test_email_change_needs_the_current_password_and_a_new_verification(
        client, ctx, users, token_for, settle, smtp_server):
    headers = token_for(users.asker)
    assert_error(client.patch("/api/v1/me", headers=headers,
                              json={"email": "ada@example.com"}),
                 422, "current_password.wrong", "current_password")
    assert_error(client.patch("/api/v1/me", headers=headers,
                              json={"email": "ada@example.com", "current_password": "wrong one"}),
                 422, "current_password.wrong", "current_password")
    assert_error(client.patch("/api/v1/me", headers=headers,
                              json={"email": "HELPER@example.com", "current_password": PASSWORD}),
                 409, "email.taken", "email")
    db.session.refresh(users.asker)
    assert users.asker.email == "asker@example.com"

    done = client.patch("/api/v1/me", headers=headers,
                        json={"email": "ada@example.com", "current_password": PASSWORD})
    assert done.status_code == 200 and done.get_json()["email_verified"] is False
    settle()
    [message] = smtp_server.to("ada@example.com")
    assert client.get(link_in(message, "/verify-email/")).status_code == 200
    db.session.refresh(users.asker)
    assert users.asker.email_verified_at is not None


def test_password_change_through_the_page_ends_other_sessions(app, client, ctx, users):
    other_browser = app.test_client()
    login(other_browser, "asker")
    login(client, "asker")
    token = csrf_token(client, "/settings")
    wrong = client.post("/settings/account", data={
        "csrf_token": token, "email": "asker@example.com", "password": NEW, "confirm": NEW,
        "current_password": "not it"})
    assert wrong.status_code == 422 and "current password" in wrong.get_data(as_text=True)
    weak = client.post("/settings/account", data={
        "csrf_token": token, "email": "asker@example.com", "password": "asker", "confirm": "asker",
        "current_password": PASSWORD})
    assert weak.status_code == 422
    db.session.refresh(users.asker)
    assert check_password_hash(users.asker.password_hash, PASSWORD)
    assert other_browser.get("/settings").status_code == 200

    done = client.post("/settings/account", data={
        "csrf_token": token, "email": "asker@example.com", "password": NEW, "confirm": NEW,
        "current_password": PASSWORD})
    assert done.status_code == 302
    db.session.refresh(users.asker)
    assert check_password_hash(users.asker.password_hash, NEW)
    assert client.get("/settings").status_code == 200  # this browser stays logged in
    assert other_browser.get("/settings").status_code == 302  # the other one does not


def test_notification_email_choice_on_the_settings_page(client, ctx, users):
    login(client, "asker")
    done = client.post("/settings/notifications", data={
        "csrf_token": csrf_token(client, "/settings"), "email_notifications": "immediately"})
    assert done.status_code == 302
    db.session.refresh(users.asker)
    assert users.asker.email_notifications == "immediately"
    bad = client.post("/settings/notifications", data={
        "csrf_token": csrf_token(client, "/settings"), "email_notifications": "hourly"})
    assert bad.status_code == 422


def test_guesses_at_the_current_password_are_rate_limited(app, client, ctx, users, token_for):
    headers = token_for(users.asker)
    app.config["RATELIMIT_LOGIN"] = "2 per hour"
    try:
        for _ in range(2):
            assert client.patch("/api/v1/me", headers=headers, json={
                "password": "a fresh sturdy passphrase", "current_password": "guess"}
            ).status_code == 422
        assert_error(client.patch("/api/v1/me", headers=headers, json={
            "password": "a fresh sturdy passphrase", "current_password": PASSWORD}),
            429, "rate_limited")
        # Deleting the account shares the count.
        assert_error(client.delete("/api/v1/me", headers=headers, json={"password": PASSWORD}),
                     429, "rate_limited")
    finally:
        app.config["RATELIMIT_LOGIN"] = "1000 per minute"
    db.session.refresh(users.asker)
    assert check_password_hash(users.asker.password_hash, PASSWORD)

