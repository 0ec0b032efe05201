"""The big list of naughty strings through every text field of the JSON API, with real tokens.

For each field, every string goes in through the real endpoint. No answer may be a 500 (with
TESTING, Flask re-raises instead, which we count as one); a 4xx must carry
{"error": {"code", "message"}}. Whatever was accepted is read back through GETs: the API JSON,
whose stored body_html must pass the parser checks of test_sanitizer.py, and the HTML page that
shows it, which may hold no script but our own site.js. One test per field loops over the
strings. Two accounts (asker, helper) do all the writing. Answers, comments and edit summaries
share a thread per CHUNK strings, so pages stay small and few; that thread (JSON and page) is
read back once it holds its whole chunk, so every accepted string is still checked in both.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests import factories
from tests.security.test_sanitizer import element_problems, html_problems, naughty_strings

SITE_SCRIPT = [("src", "/static/js/site.js"), ("defer", None)]
# Our scripts, in page order: site.js, the vendored Socket.IO client, live.js (issue 6).
PAGE_SCRIPTS = [SITE_SCRIPT, [("src", "/static/vendor/socket.io-4.8.4.min.js"), ("defer", None)],
                [("src", "/static/js/live.js"), ("defer", None)]]
# A page legitimately has forms, inputs, <meta>, <link> and our one <script>; never these.
PAGE_FORBIDDEN = frozenset({"style", "iframe", "frame", "frameset", "object", "embed", "applet",
                            "svg", "math", "base"})
CHUNK = 20
SHOWN = 5
TITLE = "A question about naughty strings"
BODY = "Plain **markdown** body."
TAGS = ["naughty"]

# Strings only JSON can carry (blns.json has none): NUL, lone surrogates, a BOM, RTL override.
JSON_ONLY_STRINGS = ("\x00", "nul\x00in the middle of a string", "\ud800",
                     "lone \udfff surrogate in a longer string", "\ufeffbom-prefixed text",
                     "\u202eright-to-left override text")


# ---- responses and pages -------------------------------------------------------------------

def response_problems(what: str, response) -> list[str]:
    """Any 2xx is fine; a 4xx needs the error shape; 429 means the string was never tried."""
    status = response.status_code
    if 200 <= status < 300:
        return []
    if status == 429:
        return [f"{what}: 429, rate-limited, so the string was never tried"]
    if 400 <= status < 500:
        body = response.get_json(silent=True)
        error = body.get("error") if isinstance(body, dict) else None
        if (isinstance(error, dict) and isinstance(error.get("code"), str)
                and isinstance(error.get("message"), str)):
            return []
        return [f"{what}: {status} without the error shape: "
                f"{response.get_data(as_text=True)[:120]!r}"]
    return [f"{what}: status {status}"]


class _Page(HTMLParser):
    """Start tags in order, plus any text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.script_text.append(data)


def parse_page(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    page.close()
    return page


def page_problems(markup: str) -> list[str]:
    """A whole page: exactly one script, ours; no handlers, inline styles, dangerous URLs or
    embeds (the CSP would block inline script and style anyway: this finds them first)."""
    page = parse_page(markup)
    problems = []
    scripts = [attrs for tag, attrs in page.elements if tag == "script"]
    if scripts != PAGE_SCRIPTS:
        problems.append(f"page scripts are {scripts!r}, not only our own three")
    if page.script_text:
        problems.append(f"inline script text {page.script_text[0][:60]!r}")
    for tag, attrs in page.elements:
        if tag != "script":
            problems += element_problems(tag, attrs, forbidden=PAGE_FORBIDDEN, user_html=False)
        if any(name == "style" for name, _ in attrs):
            problems.append(f"<{tag} style=…> inline style")
    return problems


@pytest.mark.parametrize("markup", [
    "<p>no script at all</p>",
    '<script src="/static/js/site.js" defer></script><script>alert(1)</script>',
    '<script src="/static/js/site.js" defer>alert(1)</script>',
    '<script src="/static/js/site.js" defer></script><script src="https://e.example/x.js">'
    '</script>',
    '<script src="/static/js/site.js" defer></script><p onclick="x()">a</p>',
    '<script src="/static/js/site.js" defer></script><p style="color:red">a</p>',
    '<script src="/static/js/site.js" defer></script><a href="javascript:x()">a</a>',
    '<script src="/static/js/site.js" defer></script><iframe src="http://evil.example"></iframe>',
])
def test_page_checker_flags_unsafe_pages(markup):
    assert page_problems(markup), f"the page checker missed {markup!r}"


def test_page_checker_accepts_our_pages(client):
    assert page_problems(client.get("/login").get_data(as_text=True)) == []


def tag_links(markup: str) -> list[str]:
    return [dict(attrs)["href"] for tag, attrs in parse_page(markup).elements
            if tag == "a" and dict(attrs).get("class") == "tag"]


def fragments_of(post: dict) -> list[str]:
    """The stored HTML of a post and of its comments."""
    return [post["body_html"], *(c["body_html"] for c in post["comments"])]


# ---- the harness ---------------------------------------------------------------------------

@dataclass
class Api:
    client: object
    asker: dict[str, str] = field(repr=False)
    helper: dict[str, str] = field(repr=False)
    problems: list[str] = field(default_factory=list)
    failures: list[tuple[str, list[str]]] = field(default_factory=list)
    tag_pages_seen: set[str] = field(default_factory=set)

    @contextmanager
    def blame(self, label: str) -> Iterator[None]:
        """Problems found inside the block are reported against `label` (a string, a chunk)."""
        self.problems = []
        try:
            yield
        except AssertionError as exc:  # a set-up request failed: report it, go on with the rest
            self.problems.append(str(exc))
        if self.problems:
            self.failures.append((label, self.problems))

    def call(self, method: str, url: str, *, as_user: dict | None = None, json=None):
        """Send a request and record a bad status. Returns the JSON of a 2xx, else None."""
        what = f"{method} {url}"
        try:
            response = self.client.open(url, method=method, json=json, headers=as_user or {})
        except Exception as exc:  # TESTING re-raises what production answers with a 500
            self.problems.append(f"{what} raised {exc!r} (a 500)")
            return None
        self.problems += response_problems(what, response)
        return response.get_json() if 200 <= response.status_code < 300 else None

    def must(self, method: str, url: str, *, as_user: dict | None = None, json=None) -> dict:
        """A set-up or read-back request that has to succeed for the check to mean anything.
        A failed set-up (a chunk's thread) stops the test; a failed read-back is blamed."""
        data = self.call(method, url, as_user=as_user, json=json)
        if data is None:
            raise AssertionError(f"{method} {url} was needed and failed: {self.problems}")
        return data

    def new_thread(self) -> dict:
        return self.must("POST", "/api/v1/threads", as_user=self.asker,
                         json={"title": TITLE, "body": BODY, "tags": TAGS})

    def answer(self, thread: dict, body: str = "A plain answer.") -> dict:
        return self.must("POST", f"/api/v1/threads/{thread['id']}/answers", as_user=self.helper,
                         json={"body": body})

    def page(self, path: str) -> str:
        try:
            response = self.client.get(path)
        except Exception as exc:
            raise AssertionError(f"GET {path} raised {exc!r} (a 500)") from None
        if response.status_code != 200:
            raise AssertionError(f"GET {path}: {response.status_code}, expected 200")
        return response.get_data(as_text=True)

    # -- read-back checks --

    def check_html(self, where: str, fragments: list[str]) -> None:
        for fragment in fragments:
            self.problems += [f"{where} body_html: {p}" for p in html_problems(fragment)]

    def check_thread(self, thread_id: int, *, follow_tags: bool = False) -> None:
        """The thread as JSON and as a page: stored HTML passes the parser and is what the page
        shows; the page itself is clean (and so are its tag pages, when asked)."""
        detail = self.must("GET", f"/api/v1/threads/{thread_id}")
        fragments = [f for p in (detail["question"], *detail["answers"]) for f in fragments_of(p)]
        self.check_html(f"thread {thread_id}", fragments)
        page = self.page(f"/threads/{thread_id}")
        self.problems += [f"thread page: {p}" for p in page_problems(page)]
        missing = [f for f in fragments if f not in page]
        if missing:
            self.problems.append(f"thread page does not show the stored HTML {missing[0][:60]!r}")
        if follow_tags:
            for href in tag_links(page):
                if href not in self.tag_pages_seen:  # many strings make the same tag
                    self.tag_pages_seen.add(href)
                    self.problems += [f"tag page {href}: {p}"
                                      for p in page_problems(self.page(href))]

    def check_revisions(self, post_id: int) -> None:
        self.must("GET", f"/api/v1/posts/{post_id}/revisions")
        page = self.page(f"/posts/{post_id}/revisions")
        self.problems += [f"revisions page: {p}" for p in page_problems(page)]

    def check_user(self, user: dict) -> None:
        self.must("GET", f"/api/v1/users/{user['id']}")
        page = self.page(urlsplit(user["url"]).path)
        self.problems += [f"profile page: {p}" for p in page_problems(page)]


def each(strings) -> Iterator[tuple[int, str, str]]:
    for i, s in enumerate(strings):
        yield i, s, f"#{i} {s[:80]!r}"


def chunks(strings) -> Iterator[tuple[str, list[tuple[int, str, str]]]]:
    items = list(each(strings))
    for start in range(0, len(items), CHUNK):
        part = items[start:start + CHUNK]
        yield f"strings #{part[0][0]}-#{part[-1][0]} together", part


# ---- one function per text field: send every string, read back whatever was accepted -------

def signup_username(api: Api, strings) -> None:
    for i, s, label in each(strings):
        with api.blame(label):
            user = api.call("POST", "/api/v1/users", json={
                "username": s, "email": f"name-{i}@example.com", "password": factories.PASSWORD})
            if user:
                api.check_user(user)


def signup_email(api: Api, strings) -> None:
    for i, s, label in each(strings):
        with api.blame(label):
            user = api.call("POST", "/api/v1/users", json={
                "username": f"mail{i}", "email": s, "password": factories.PASSWORD})
            if user:
                api.check_user(user)


def signup_password(api: Api, strings) -> None:
    """An account made with the string as its password can then log in with that string."""
    for i, s, label in each(strings):
        with api.blame(label):
            user = api.call("POST", "/api/v1/users", json={
                "username": f"pw{i}", "email": f"pw-{i}@example.com", "password": s})
            if user and not api.call("POST", "/api/v1/tokens",
                                     json={"username": f"pw{i}", "password": s}):
                api.problems.append("signed up with this password but cannot log in with it")


def token_name(api: Api, strings) -> None:
    for _, s, label in each(strings):
        with api.blame(label):
            api.call("POST", "/api/v1/tokens", json={
                "username": "helper", "password": factories.PASSWORD, "name": s})


def thread_title(api: Api, strings) -> None:
    for _, s, label in each(strings):
        with api.blame(label):
            thread = api.call("POST", "/api/v1/threads", as_user=api.asker,
                              json={"title": s, "body": BODY, "tags": TAGS})
            if thread:
                api.check_thread(thread["id"])


def thread_body(api: Api, strings) -> None:
    for _, s, label in each(strings):
        with api.blame(label):
            thread = api.call("POST", "/api/v1/threads", as_user=api.asker,
                              json={"title": TITLE, "body": s, "tags": TAGS})
            if thread:
                api.check_thread(thread["id"])


def thread_tags(api: Api, strings) -> None:
    for _, s, label in each(strings):
        with api.blame(label):
            # The API takes a list of names or one space/comma-separated string. Two askers,
            # so that 2 x 515 posts stay inside the per-account rate limit.
            for tags, user in (([s], api.asker), (s, api.helper)):
                thread = api.call("POST", "/api/v1/threads", as_user=user,
                                  json={"title": TITLE, "body": BODY, "tags": tags})
                if thread:
                    api.check_thread(thread["id"], follow_tags=True)


def answer_body(api: Api, strings) -> None:
    for chunk_label, chunk in chunks(strings):
        thread = api.new_thread()
        for _, s, label in chunk:
            with api.blame(label):
                post = api.call("POST", f"/api/v1/threads/{thread['id']}/answers",
                                as_user=api.helper, json={"body": s})
                if post:
                    api.check_html(f"answer {post['id']}", [post["body_html"]])
        with api.blame(chunk_label):
            api.check_thread(thread["id"])


def comment_body(api: Api, strings) -> None:
    for chunk_label, chunk in chunks(strings):
        thread = api.new_thread()
        question_id = thread["question"]["id"]
        for _, s, label in chunk:
            with api.blame(label):
                comment = api.call("POST", f"/api/v1/posts/{question_id}/comments",
                                   as_user=api.helper, json={"body": s})
                if comment:
                    api.check_html(f"comment {comment['id']}", [comment["body_html"]])
        with api.blame(chunk_label):
            api.check_thread(thread["id"])


def post_edit_body(api: Api, strings) -> None:
    """Each string replaces the body of the chunk's answer; the page is read after each edit,
    and the revisions page (every body source, escaped) once per chunk."""
    for chunk_label, chunk in chunks(strings):
        thread = api.new_thread()
        answer = api.answer(thread)
        for _, s, label in chunk:
            with api.blame(label):
                if api.call("PATCH", f"/api/v1/posts/{answer['id']}", as_user=api.helper,
                            json={"body": s}):
                    api.check_thread(thread["id"])
        with api.blame(chunk_label):
            api.check_revisions(answer["id"])


def post_edit_summary(api: Api, strings) -> None:
    """Summaries show only in revisions: each string is one edit of the chunk's answer."""
    for chunk_label, chunk in chunks(strings):
        thread = api.new_thread()
        answer = api.answer(thread)
        for i, s, label in chunk:
            with api.blame(label):
                api.call("PATCH", f"/api/v1/posts/{answer['id']}", as_user=api.helper,
                         json={"body": f"Edited body number {i}.", "summary": s})
        with api.blame(chunk_label):
            api.check_thread(thread["id"])
            api.check_revisions(answer["id"])


def thread_edit_title(api: Api, strings) -> None:
    for chunk_label, chunk in chunks(strings):
        thread = api.new_thread()
        for _, s, label in chunk:
            with api.blame(label):
                if api.call("PATCH", f"/api/v1/threads/{thread['id']}", as_user=api.asker,
                            json={"title": s}):
                    api.check_thread(thread["id"])
        with api.blame(chunk_label):
            api.check_revisions(thread["question"]["id"])


def thread_edit_tags(api: Api, strings) -> None:
    for chunk_label, chunk in chunks(strings):
        thread = api.new_thread()
        for _, s, label in chunk:
            with api.blame(label):
                # One list form here: creation (above) already sends the one-string form too,
                # and both go through the same normaliser.
                if api.call("PATCH", f"/api/v1/threads/{thread['id']}", as_user=api.asker,
                            json={"tags": [s]}):
                    api.check_thread(thread["id"], follow_tags=True)
        with api.blame(chunk_label):
            api.check_revisions(thread["question"]["id"])


FIELDS: dict[str, Callable[[Api, object], None]] = {
    "signup.username": signup_username,
    "signup.email": signup_email,
    "signup.password": signup_password,
    "token.name": token_name,
    "thread.title": thread_title,
    "thread.body": thread_body,
    "thread.tags": thread_tags,
    "answer.body": answer_body,
    "comment.body": comment_body,
    "post.edit.body": post_edit_body,
    "post.edit.summary": post_edit_summary,
    "thread.edit.title": thread_edit_title,
    "thread.edit.tags": thread_edit_tags,
}


@pytest.fixture
def api(app, client, token_for):
    """The asker and helper with real bearer tokens. No app context stays open during the test,
    so every request gets its own, as in production."""
    with app.app_context():
        asker, helper = factories.make_user("asker"), factories.make_user("helper")
        return Api(client, token_for(asker), token_for(helper))


def run_field(api: Api, name: str, strings) -> None:
    FIELDS[name](api, strings)
    lines = [f"{len(api.failures)} failures for {len(strings)} strings in {name}; first {SHOWN}:"]
    lines += [f"  {label}: {'; '.join(problems[:3])}" for label, problems in api.failures[:SHOWN]]
    assert not api.failures, "\n".join(lines)


@pytest.mark.corpus
@pytest.mark.parametrize("name", FIELDS)
def test_naughty_strings_through_api_field(api, name):
    run_field(api, name, naughty_strings())


@pytest.mark.parametrize("name", FIELDS)
def test_json_only_strings_through_api_field(api, name):
    run_field(api, name, JSON_ONLY_STRINGS)
