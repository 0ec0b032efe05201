"""JSON API contract: POST /tokens exchanges a username and password for a bearer token."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_user
from tests.api.contract import assert_error


@pytest.fixture
def asker(ctx):
    return make_user("asker")


def test_a_token_comes_with_the_users_own_profile(client, asker):
    response = client.post("/api/v1/tokens", json={"username": "asker", "password": PASSWORD,
                                                    "name": "my script"})

    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert set(data) == {"token", "user"}
    assert isinstance(data["token"], str) and len(data["token"]) >= 32
    assert data["user"]["id"] == asker.id
    assert data["user"]["username"] == "asker"
    assert data["user"]["email"] == "asker@example.com"
    assert {"role", "reputation", "rank"} <= set(data["user"])


def test_the_token_authenticates_later_requests(client, asker):
    token = client.post("/api/v1/tokens", json={"username": "asker", "password": PASSWORD}
                        ).get_json()["token"]

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert me.status_code == 200
    assert me.get_json()["id"] == asker.id


def test_the_scheme_is_case_insensitive(client, asker):
    token = client.post("/api/v1/tokens", json={"username": "asker", "password": PASSWORD}
                        ).get_json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_each_request_gets_a_new_token_and_both_work(client, asker):
    tokens = [client.post("/api/v1/tokens", json={"username": "asker", "password": PASSWORD}
                          ).get_json()["token"] for _ in range(2)]

    assert tokens[0] != tokens[1]
    for token in tokens:
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


def test_the_username_is_case_insensitive(client, asker):
    response = client.post("/api/v1/tokens", json={"username": "ASKER", "password": PASSWORD})
    assert response.status_code == 201
    assert response.get_json()["user"]["username"] == "asker"


@pytest.mark.parametrize("username, password", [
    ("asker", "wrong password"),
    ("asker", PASSWORD.upper()),
    ("nobody", PASSWORD),
    ("asker", "pass\ud800word"),
], ids=["wrong-password", "password-wrong-case", "unknown-user", "lone-surrogate-password"])
def test_wrong_credentials_are_401_and_do_not_say_which_part_was_wrong(client, asker, username,
                                                                      password):
    response = client.post("/api/v1/tokens", json={"username": username, "password": password})
    error = assert_error(response, 401, "auth.invalid")
    assert error["message"] == "Wrong username or password."


@pytest.mark.parametrize("payload, code, field", [
    ({"password": PASSWORD}, "username.required", "username"),
    ({"username": "asker"}, "password.required", "password"),
    ({"username": ["asker"], "password": PASSWORD}, "username.type", "username"),
    ({"username": "asker", "password": 1234}, "password.type", "password"),
    ({"username": "asker", "password": PASSWORD, "name": 7}, "name.type", "name"),
], ids=["no-username", "no-password", "username-not-string", "password-not-string",
        "name-not-string"])
def test_missing_or_mistyped_fields_are_422(client, asker, payload, code, field):
    assert_error(client.post("/api/v1/tokens", json=payload), 422, code, field=field)


@pytest.mark.parametrize("data", ["{not json", "", "[]", '"asker"', "null"],
                         ids=["broken-json", "empty", "array", "string", "null"])
def test_a_body_that_is_not_a_json_object_is_400(client, ctx, data):
    response = client.post("/api/v1/tokens", data=data, content_type="application/json")
    assert_error(response, 400, "request.invalid_json")


def test_a_body_over_one_mebibyte_is_413(client, ctx):
    response = client.post("/api/v1/tokens", json={"username": "asker",
                                                    "password": "x" * (1024 * 1024)})
    assert_error(response, 413, "request.too_large")


def test_guessing_passwords_is_rate_limited_with_429(app, client, asker, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    for _ in range(2):
        assert client.post("/api/v1/tokens", json={"username": "asker", "password": "guess"}
                           ).status_code == 401

    # Once over the limit even the right password is turned away.
    response = client.post("/api/v1/tokens", json={"username": "asker", "password": PASSWORD})
    assert_error(response, 429, "rate_limited")


def test_get_is_not_allowed(client, ctx):
    assert_error(client.get("/api/v1/tokens"), 405, "method.not_allowed")
