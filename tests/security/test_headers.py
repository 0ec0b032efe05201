"""Security headers, cookies, CSRF, password storage, body size and templates free of inline code.

Every GET route in the URL map is visited (anonymous and logged in), so a page added later is
covered without editing this file; a route whose argument has no sample value fails loudly.

These tests hold no app context open while they send requests (no `ctx`/`users` fixture): with
one open, every test-client request shares its `g`, where Flask-WTF caches the CSRF token and
the API keeps the token's user, so one client's token or identity would leak into the next.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import ApiToken, Comment, Post, Thread, User
from community.services import threads
from tests import factories
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_answer, make_thread
from tests.security.test_naughty_strings import page_problems

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# script-src (or default-src when it is absent) must allow no inline or evaluated code, and no
# whole scheme of hosts.
FORBIDDEN_SCRIPT_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:")


# ---- headers ------------------------------------------------------------------------------

def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return directives


def header_problems(response) -> list[str]:
    problems = []
    csp = response.headers.getlist("Content-Security-Policy")
    if len(csp) != 1:
        problems.append(f"{len(csp)} Content-Security-Policy headers")
    else:
        directives = csp_directives(csp[0])
        if "script-src" not in directives and "default-src" not in directives:
            problems.append("CSP has neither script-src nor default-src")
        for name in ("script-src", "default-src"):
            bad = [s for s in directives.get(name, []) if s in FORBIDDEN_SCRIPT_SOURCES]
            if bad:
                problems.append(f"CSP {name} allows {bad}")
    nosniff = response.headers.get("X-Content-Type-Options")
    if nosniff != "nosniff":
        problems.append(f"X-Content-Type-Options {nosniff!r}")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options {response.headers.get('X-Frame-Options')!r}")
    return problems


@pytest.fixture
def site(app):
    """The example users and one thread with an answer and a comment, so every page has
    something to show; returns sample values for route arguments."""
    with app.app_context():
        users = factories.example_users()
        thread = make_thread(users.asker, tags=("roaming",))
        answer = make_answer(users.helper, thread)
        threads.comment(users.helper, answer, "Thanks, that worked.")
        from community.services import notifications

        return {"thread_id": thread.id, "post_id": thread.question.id, "user_id": users.asker.id,
                "slug": "sample-slug", "tag": "roaming", "filename": "js/site.js",
                "token": notifications.unsubscribe_token(users.asker),
                "subscription_id": 1}  # no such webhook: its pages answer 403 or 404


def _exists(app, query) -> bool:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(query.subquery())) > 0


def bearer(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def get_paths(app, samples: dict) -> list[str]:
    """A URL for every GET route, built from the sample values."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        missing = set(rule.arguments) - samples.keys()
        assert not missing, f"{rule.rule}: add a sample value for {sorted(missing)} to `site`"
        paths.append(rule.build({k: samples[k] for k in rule.arguments}, append_unknown=False)[1])
    return paths + ["/no-such-page", f"/threads/{10**9}", "/api/v1/no-such-thing"]


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_every_page_sends_the_security_headers(app, client, site, who):
    if who == "member":
        login(client, "asker")
    failures = []
    for path in get_paths(app, site):
        response = client.get(path)
        problems = header_problems(response)
        if response.status_code == 200 and response.mimetype == "text/html":
            problems += page_problems(response.get_data(as_text=True))
        if response.status_code >= 500:
            problems.append(f"status {response.status_code}")
        response.close()  # static files are streamed from an open file
        if problems:
            failures.append(f"{path} ({response.status_code}): {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def test_form_responses_send_the_security_headers(client, site):
    """Redirects, form errors and CSRF refusals carry the headers too."""
    responses = [
        client.post("/login", data={"csrf_token": csrf_token(client), "username": "asker",
                                    "password": "wrong password"}),  # 422
        client.post("/login", data={"username": "asker", "password": PASSWORD}),  # 400
        login(client, "asker"),  # 302
    ]
    failures = [f"{r.status_code}: {header_problems(r)}" for r in responses if header_problems(r)]
    assert [r.status_code for r in responses] == [422, 400, 302]
    assert not failures, failures


# ---- cookies ------------------------------------------------------------------------------

def set_cookies(response) -> dict[str, dict[str, str | bool]]:
    """Set-Cookie headers by cookie name: attribute name (lower-case) to value, or True."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        name = first.split("=", 1)[0]
        cookies[name] = {a.split("=", 1)[0].lower(): (a.split("=", 1)[1] if "=" in a else True)
                         for a in attributes}
    return cookies


def test_session_cookie_after_login_is_secure_httponly_lax(app, client, site):
    response = login(client, "asker")
    cookies = set_cookies(response)
    name = app.config["SESSION_COOKIE_NAME"]
    assert name in cookies, f"no {name} cookie set at log-in: {list(cookies)}"
    session = cookies[name]
    assert session.get("secure") is True, session
    assert session.get("httponly") is True, session
    assert str(session.get("samesite", "")).lower() == "lax", session


def test_remember_me_cookie_is_secure_and_httponly(client, site):
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "asker",
                                           "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    cookies = set_cookies(response)
    assert "remember_token" in cookies, list(cookies)
    assert cookies["remember_token"].get("secure") is True, cookies["remember_token"]
    assert cookies["remember_token"].get("httponly") is True, cookies["remember_token"]


# ---- CSRF ---------------------------------------------------------------------------------

def _logged_in(client) -> bool:
    return client.get("/ask").status_code == 200


# name: (log in as, path, form fields, whether the POST's effect can be seen)
def _forms(site):
    return {
        "login": (None, "/login", {"username": "asker", "password": PASSWORD}, _logged_in),
        "signup": (None, "/signup", {"username": "csrf_newbie", "email": "csrf@example.com",
                                     "password": PASSWORD, "confirm": PASSWORD},
                   lambda client: _exists(client.application, select(User).where(
                       User.username == "csrf_newbie"))),
        "ask": ("asker", "/ask", {"title": "A question sent from another site",
                                  "body": "Posted for you.", "tags": "roaming"},
                lambda client: _exists(client.application, select(Thread).where(
                    Thread.title == "A question sent from another site"))),
        "answer": ("helper", f"/threads/{site['thread_id']}/answers", {"body": "Answered for you."},
                   lambda client: _exists(client.application, select(Post).where(
                       Post.body_source == "Answered for you."))),
        "comment": ("helper", f"/posts/{site['post_id']}/comments", {"body": "Said for you."},
                    lambda client: _exists(client.application, select(Comment).where(
                        Comment.body_source == "Said for you."))),
        "logout": ("asker", "/logout", {}, lambda client: not _logged_in(client)),
    }


@pytest.mark.parametrize("form", ["login", "signup", "ask", "answer", "comment", "logout"])
def test_form_post_without_csrf_token_is_rejected(app, client, site, form):
    user, path, fields, happened = _forms(site)[form]
    if user:
        login(client, user)
    assert not happened(client)

    missing = client.post(path, data=fields)
    assert missing.status_code == 400, (form, missing.status_code)
    assert not happened(client), f"{form} went through without a CSRF token"

    # A real token, but from someone else's session (what a forged cross-site form would send).
    foreign = client.post(path, data={**fields, "csrf_token": csrf_token(app.test_client())})
    assert foreign.status_code == 400, (form, foreign.status_code)
    assert not happened(client), f"{form} went through with another session's CSRF token"

    # The same form with this session's token works, so the refusals above were about CSRF.
    accepted = client.post(path, data={**fields, "csrf_token": csrf_token(client)})
    assert accepted.status_code == 302, (form, accepted.status_code)
    assert happened(client), f"{form} did nothing even with a valid token"


def test_api_with_session_cookie_needs_csrf_header(client, site):
    """Session-authenticated API writes are form-like: without X-CSRFToken they are refused."""
    login(client, "helper")
    path = f"/api/v1/posts/{site['post_id']}/comments"
    refused = client.post(path, json={"body": "Sent by another site."})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf.invalid"
    accepted = client.post(path, json={"body": "Sent by me."},
                           headers={"X-CSRFToken": csrf_token(client)})
    assert accepted.status_code == 201, accepted.get_json()


# ---- secrets at rest ----------------------------------------------------------------------

def test_passwords_are_stored_as_scrypt_hashes(app):
    form_password, api_password = "form-sign-up secret 1", "api sign-up secret 2"
    browser = app.test_client()
    response = browser.post("/signup", data={
        "csrf_token": csrf_token(browser, "/signup"), "username": "formsignup",
        "email": "form@example.com", "password": form_password, "confirm": form_password})
    assert response.status_code == 302
    response = app.test_client().post("/api/v1/users", json={
        "username": "apisignup", "email": "api@example.com", "password": api_password})
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        for username, password in (("formsignup", form_password), ("apisignup", api_password)):
            user = db.session.scalar(select(User).where(User.username == username))
            assert user.password_hash.startswith("scrypt:"), user.password_hash[:20]
            assert password not in user.password_hash
            assert password.encode().hex() not in user.password_hash


def test_api_tokens_are_stored_as_hashes(app, client, site):
    raw = bearer(client, "asker")["Authorization"].split()[1]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert stored and all(raw not in h and raw[3:] not in h for h in stored)


# ---- request size -------------------------------------------------------------------------

def test_body_over_one_mib_is_refused_with_413_json(app, client, site):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    headers = bearer(client, "asker")
    big = {"title": "A question that is far too long", "body": "x" * (1024 * 1024), "tags": ["a"]}
    response = client.post("/api/v1/threads", json=big, headers=headers)
    assert response.status_code == 413, response.status_code
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == "request.too_large" and isinstance(error["message"], str)
    assert not _exists(app, select(Thread).where(Thread.title == big["title"]))
    raw = client.post("/api/v1/threads", data=b"{" + b" " * (1024 * 1024) + b"}",
                      headers={**headers, "Content-Type": "application/json"})
    assert raw.status_code == 413 and raw.get_json()["error"]["code"] == "request.too_large"


# ---- templates ----------------------------------------------------------------------------

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
_TEMPLATE_RULES = [
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* event-handler attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def test_templates_have_no_inline_script_or_style():
    files = sorted(TEMPLATES.rglob("*.html"))
    assert files, f"no templates under {TEMPLATES}"
    failures = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        scripts = list(_SCRIPT.finditer(text))
        if len(scripts) != len(re.findall(r"<script\b", text, re.I)):
            failures.append(f"{name}: a <script> without its </script>")
        for match in scripts:
            attributes, content = match.groups()
            if "src=" not in attributes or content.strip():
                failures.append(f"{name}:{_line(text, match.start())}: inline <script> block")
        for pattern, what in _TEMPLATE_RULES:
            for match in pattern.finditer(text):
                failures.append(f"{name}:{_line(text, match.start())}: {what} "
                                f"{match.group(0).strip()!r}")
    assert not failures, "\n".join(failures)
