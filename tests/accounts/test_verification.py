"""Email verification (issue 17): a signed link at sign-up and on email change; until it is
opened the account works as before but gets no notification email, and a banner offers to
send the link again. Accounts made before the migration and bridge accounts count as verified."""

from __future__ import annotations

from sqlalchemy import select

from community.extensions import db
from community.models import User
from community.services import account_recovery, accounts, notifications
from tests.accounts.conftest import link_in
from tests.api.contract import assert_error
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_answer, make_thread, make_user


def _sign_up(client, name: str):
    return client.post("/signup", data={"csrf_token": csrf_token(client, "/signup"),
                                        "username": name, "email": f"{name}@example.com",
                                        "password": PASSWORD, "confirm": PASSWORD})


def test_sign_up_sends_a_link_that_verifies(client, ctx, settle, smtp_server):
    assert _sign_up(client, "newbie").status_code == 302
    settle()
    [message] = smtp_server.to("newbie@example.com")
    assert message["Subject"] == "Kestrel Community: confirm your email address"
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert user.email_verified_at is None
    home = client.get("/").get_data(as_text=True)
    assert "verify-banner" in home and "Send the link again" in home

    path = link_in(message, "/verify-email/")
    landing = client.get(path)
    assert landing.status_code == 200 and "is verified" in landing.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_verified_at is not None
    assert "verify-banner" not in client.get("/").get_data(as_text=True)
    assert client.get(path).status_code == 200  # opening it twice is fine


def test_unverified_accounts_get_no_notification_email_until_verified(client, ctx, users,
                                                                      settle, smtp_server):
    newbie = make_user("newbie", verified=False)
    notifications.set_email_mode(newbie, "immediately")
    notifications.set_email_mode(users.asker, "immediately")
    # Reading, asking and answering work as today.
    thread = make_thread(newbie, "Voicemail greeting will not save")
    make_answer(users.helper, thread)
    other = make_thread(users.asker, "Roaming in Dubai does not connect")
    make_answer(newbie, other)
    settle()
    assert [m["Subject"] for m in smtp_server.to(newbie.email)] == [
        "Kestrel Community: confirm your email address"]  # no notification email
    assert len(smtp_server.to(users.asker.email)) == 1  # a verified member gets theirs
    assert len(notifications.list_for(newbie).items) == 1  # in-app notifications still come

    account_recovery.verify_email(account_recovery.verification_token(newbie))
    make_answer(users.other, thread)
    settle()
    assert len(smtp_server.to(newbie.email)) == 2


def test_unverified_members_miss_the_daily_digest(runner, ctx, users, settle, smtp_server):
    newbie = make_user("newbie", verified=False)
    thread = make_thread(newbie, "Voicemail greeting will not save")
    make_answer(users.helper, thread)
    settle()
    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code == 0, result.output
    assert [m["Subject"] for m in smtp_server.to(newbie.email)] == [
        "Kestrel Community: confirm your email address"]


def test_resend_from_the_banner_and_the_api(client, ctx, settle, smtp_server):
    assert _sign_up(client, "newbie").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Send the link again" in page
    token = csrf_token(client, "/settings")
    assert client.post("/settings/verify-email", data={"csrf_token": token}).status_code == 302
    assert client.post("/api/v1/me/verify-email", headers={"X-CSRFToken": token}).status_code == 202
    settle()
    assert len(smtp_server.to("newbie@example.com")) == 3
    links = {link_in(m, "/verify-email/") for m in smtp_server.to("newbie@example.com")}
    assert client.get(sorted(links)[0]).status_code == 200
    assert_error(client.post("/api/v1/me/verify-email", headers={"X-CSRFToken": token}), 409,
                 "email.verified")


def test_forged_or_stale_verification_links_change_nothing(client, ctx):
    user = make_user("newbie", verified=False)
    token = account_recovery.verification_token(user)
    bad = client.get(f"/verify-email/{token[:-2]}xx")
    assert bad.status_code == 422 and "not valid" in bad.get_data(as_text=True)
    user.email = "newbie2@example.com"  # a link for an earlier address verifies nothing
    db.session.commit()
    assert client.get(f"/verify-email/{token}").status_code == 422
    db.session.refresh(user)
    assert user.email_verified_at is None


def test_verification_needs_a_login_and_is_rate_limited(app, client, ctx):
    assert_error(client.post("/api/v1/me/verify-email"), 401, "auth.required")
    make_user("newbie", verified=False)
    login(client, "newbie")
    token = csrf_token(client, "/settings")
    app.config["RATELIMIT_VERIFY_EMAIL"] = "1 per hour"
    try:
        assert client.post("/api/v1/me/verify-email",
                           headers={"X-CSRFToken": token}).status_code == 202
        assert_error(client.post("/api/v1/me/verify-email", headers={"X-CSRFToken": token}),
                     429, "rate_limited")
    finally:
        app.config["RATELIMIT_VERIFY_EMAIL"] = "1000 per minute"


def test_bridge_accounts_need_no_verification(ctx):
    shadow = accounts.shadow_user("customer", "wa.abc@bridge.invalid")
    db.session.commit()
    assert shadow.email_verified_at is not None
