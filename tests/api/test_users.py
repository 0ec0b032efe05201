"""JSON API contract: POST /users (sign-up), GET /me and GET /users/<id>."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import login
from tests.factories import PASSWORD
from tests.api.contract import assert_error

PROFILE_KEYS = {"id", "username", "role", "reputation", "rank"}


def signup(client, username="newcomer", email=None, password=PASSWORD, **extra):
    return client.post("/api/v1/users", json={"username": username,
                                               "email": email or f"{username}@example.com",
                                               "password": password, **extra})


def assert_profile(data: dict) -> None:
    assert PROFILE_KEYS <= set(data), data
    assert isinstance(data["id"], int)
    assert data["role"] in ("member", "staff", "moderator", "admin")
    assert isinstance(data["reputation"], int) and data["reputation"] >= 1
    assert isinstance(data["rank"], str) and data["rank"]
    assert data["url"].startswith("http://localhost/users/")
    assert data["created_at"].endswith("Z")
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None


# ---- POST /users ---------------------------------------------------------------------------

def test_sign_up_answers_201_with_the_new_members_own_profile(client, ctx):
    response = signup(client, "Nadia.K", "Nadia@Example.com")

    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert_profile(data)
    assert data["username"] == "Nadia.K"
    assert data["email"] == "Nadia@example.com"  # the domain is normalised, the local part kept
    assert data["role"] == "member"
    assert data["reputation"] == 1
    assert "password" not in data and "password_hash" not in data


def test_the_new_account_can_get_a_token_and_read_me(client, ctx):
    assert signup(client, "nadia").status_code == 201
    token = client.post("/api/v1/tokens", json={"username": "nadia", "password": PASSWORD})
    assert token.status_code == 201

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "nadia"


def test_sign_up_ignores_a_role_sent_by_the_client(client, ctx):
    response = signup(client, "sneaky", role="admin")
    assert response.status_code == 201
    assert response.get_json()["role"] == "member"


@pytest.mark.parametrize("username", ["asker", "ASKER", "Asker", "\uff41\uff53\uff4b\uff45\uff52"],
                         ids=["same", "upper-case", "capitalised", "full-width"])
def test_a_taken_username_is_409_whatever_its_case_or_width(client, users, username):
    response = signup(client, username, email="fresh@example.com")
    assert_error(response, 409, "username.taken", field="username")


def test_a_taken_email_is_409(client, users):
    response = signup(client, "fresh_name", email="asker@example.com")
    assert_error(response, 409, "email.taken", field="email")


def test_a_look_alike_of_a_staff_name_is_422(client, users):
    response = signup(client, "kestrel.staff", email="fake@example.com")
    assert_error(response, 422, "username.confusable", field="username")


def _signup_with(**changes) -> dict:
    return {"username": "nadia", "email": "a@example.com", "password": PASSWORD, **changes}


@pytest.mark.parametrize("payload, code, field", [
    ({"email": "a@example.com", "password": PASSWORD}, "username.required", "username"),
    ({"username": "nadia", "password": PASSWORD}, "email.required", "email"),
    ({"username": "nadia", "email": "a@example.com"}, "password.required", "password"),
    (_signup_with(username=42), "username.type", "username"),
    (_signup_with(email=["a@example.com"]), "email.type", "email"),
    (_signup_with(password=12345678), "password.type", "password"),
    (_signup_with(username="ab"), "username.invalid", "username"),
    (_signup_with(username="has space"), "username.invalid", "username"),
    (_signup_with(username="_under"), "username.invalid", "username"),
    (_signup_with(username="x" * 33), "username.invalid", "username"),
    (_signup_with(email="not-an-email"), "email.invalid", "email"),
    (_signup_with(password="short"), "password.length", "password"),
    (_signup_with(password="x" * 257), "password.length", "password"),
    (_signup_with(password="pass\ud800word"), "password.invalid", "password"),
], ids=["no-username", "no-email", "no-password", "username-not-string", "email-not-string",
        "password-not-string", "username-too-short", "username-with-space",
        "username-leading-underscore", "username-too-long", "email-malformed",
        "password-too-short", "password-too-long", "password-lone-surrogate"])
def test_sign_up_rejects_bad_fields_with_422(client, ctx, payload, code, field):
    assert_error(client.post("/api/v1/users", json=payload), 422, code, field=field)


@pytest.mark.parametrize("data", [
    "{not json", "", "[1, 2]", '"a string"', "null", "42", "[" * 100_000, '{"a":' * 100_000,
], ids=["broken-json", "empty", "array", "string", "null", "number", "deeply-nested-array",
        "deeply-nested-object"])
def test_sign_up_with_a_body_that_is_not_a_json_object_is_400(client, ctx, data):
    response = client.post("/api/v1/users", data=data, content_type="application/json")
    assert_error(response, 400, "request.invalid_json")


def test_sign_up_body_over_one_mebibyte_is_413(client, ctx):
    response = signup(client, "nadia", bio="x" * (1024 * 1024))
    assert_error(response, 413, "request.too_large")


def test_sign_up_is_rate_limited_with_429(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "2 per minute")
    assert signup(client, "first").status_code == 201
    assert signup(client, "second").status_code == 201

    assert_error(signup(client, "third"), 429, "rate_limited")


# ---- GET /me --------------------------------------------------------------------------------

def test_me_with_a_token_is_the_callers_own_profile_with_email(client, users, token_for):
    response = client.get("/api/v1/me", headers=token_for(users.staff))

    assert response.status_code == 200
    data = response.get_json()
    assert_profile(data)
    assert data["id"] == users.staff.id
    assert data["username"] == "kestrel_staff"
    assert data["role"] == "staff"
    assert data["email"] == "kestrel_staff@example.com"


def test_me_without_credentials_is_401(client, ctx):
    assert_error(client.get("/api/v1/me"), 401, "auth.required")


@pytest.mark.parametrize("header", [
    "Bearer nope", "Bearer ", "Bearer", "Basic YXNrZXI6cHc=", "cm_notatoken",
], ids=["unknown-token", "empty-token", "scheme-only", "basic-auth", "no-scheme"])
def test_me_with_a_bad_authorization_header_is_401(client, ctx, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert_error(response, 401, "auth.invalid_token")


def test_me_works_with_a_logged_in_browser_session(app, client, users):
    login(client, "asker")

    response = client.get("/api/v1/me")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["username"] == "asker"
    # It is the session cookie that does it: another client is nobody.
    assert_error(app.test_client().get("/api/v1/me"), 401, "auth.required")


def test_a_token_authenticates_only_the_request_that_carries_it(client, users, token_for):
    assert client.get("/api/v1/me", headers=token_for(users.admin)).status_code == 200
    assert_error(client.get("/api/v1/me"), 401, "auth.required")


# ---- GET /users/<id> ------------------------------------------------------------------------

def test_a_public_profile_has_no_email(client, users):
    response = client.get(f"/api/v1/users/{users.moderator.id}")

    assert response.status_code == 200
    data = response.get_json()
    assert_profile(data)
    assert data["username"] == "kestrel_mod"
    assert data["role"] == "moderator"
    assert "email" not in data


def test_profiles_list_badges_as_design_md_says(client, users, token_for):
    """DESIGN.md: GET /me and GET /users/<id> give id, username, role, reputation, rank, badges."""
    public = client.get(f"/api/v1/users/{users.helper.id}").get_json()
    own = client.get("/api/v1/me", headers=token_for(users.helper)).get_json()

    for data in (public, own):
        assert "badges" in data, sorted(data)
        assert data["badges"] == []  # a brand-new member has earned none


def test_an_unknown_user_is_404(client, ctx):
    assert_error(client.get("/api/v1/users/424242"), 404, "user.not_found")


def test_a_user_id_too_large_for_the_database_is_404_not_500(client, ctx):
    assert client.get(f"/api/v1/users/{2**64}").status_code == 404


# ---- the API as a whole ---------------------------------------------------------------------

def test_an_unknown_api_path_is_a_json_404(client, ctx):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(client, ctx):
    assert_error(client.delete("/api/v1/users"), 405, "method.not_allowed")
