"""Sign-up, log-in and log-out pages, including rate limits and the safe redirect."""

from tests.conftest import csrf_token, login
from tests.factories import PASSWORD


def _signup(client, **fields):
    data = {"csrf_token": csrf_token(client, "/signup"), "username": "newbie",
            "email": "newbie@example.com", "password": PASSWORD, "confirm": PASSWORD, **fields}
    return client.post("/signup", data=data)


def test_signup_logs_in(client, ctx):
    response = _signup(client)
    assert response.status_code == 302
    assert "newbie" in client.get("/").get_data(as_text=True)


def test_signup_errors_stay_on_the_form(client, users):
    response = _signup(client, username="KestreI.Staff")
    assert response.status_code == 422
    assert "too much like a staff member" in response.get_data(as_text=True)
    response = _signup(client, confirm="different password")
    assert response.status_code == 422 and "The passwords differ." in response.get_data(as_text=True)


def test_login_failure_and_logout(client, users):
    response = client.post("/login", data={"csrf_token": csrf_token(client),
                                           "username": "asker", "password": "wrong"})
    assert response.status_code == 422
    assert "Wrong username or password." in response.get_data(as_text=True)
    login(client, "asker")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/ask").status_code == 302


def test_login_redirects_only_to_local_paths(client, users):
    for target, expected in [("/unanswered", "/unanswered"), ("https://evil.example/", "/"),
                             ("//evil.example/", "/")]:
        response = client.post("/login", data={"csrf_token": csrf_token(client), "next": target,
                                               "username": "asker", "password": PASSWORD})
        assert response.headers["Location"] == expected
        client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_login_is_rate_limited(app, client, users, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    statuses = [client.post("/login", data={"csrf_token": csrf_token(client), "username": "asker",
                                            "password": "wrong"}).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_signup_is_rate_limited(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "1 per hour")
    assert _signup(client).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert _signup(client, username="second", email="second@example.com").status_code == 429
