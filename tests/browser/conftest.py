"""Browser fixtures: the session app on a live local server, Debian's Chromium, and watched pages.

Playwright's own browser download is not used: Chromium comes from the distribution
(/usr/bin/chromium). Without it, or without the playwright package, the browser tests skip
locally and fail in CI (see tests/conftest.py `require`).
"""

from __future__ import annotations

import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import require

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

# We run as root, so no sandbox. The networking flags stop Chromium from calling home (updates,
# sync, safe browsing, field trials): on a closed network those calls would only pile up.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]


def _chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def live_server(app):
    """The session app served on 127.0.0.1 at a free port; yields the base URL."""
    # threaded=True: the browser opens several connections at once (page, CSS, JS, favicon).
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "the playwright package is not installed")
    executable = _chromium_path()
    require(executable is not None, "Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class WatchedPage:
    """A page in its own browser context, with everything that went wrong on it recorded."""

    context: Any
    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"failed request: {m}" for m in self.failed_requests])


def _watch(context, page) -> WatchedPage:
    watched = WatchedPage(context, page)

    def on_console(message):
        if message.type == "error":
            location = message.location or {}
            watched.console_errors.append(f"{message.text} ({location.get('url', '?')})")

    def on_request_failed(request):
        # ERR_ABORTED is the browser cancelling its own request, typically the favicon fetch
        # when the test navigates on right after "load". A server fault shows up as an HTTP
        # status (below) or as another net:: error (reset, empty response).
        if request.failure == "net::ERR_ABORTED":
            return
        watched.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def on_response(response):
        # A 4xx/5xx is not a network failure to Chromium, but for a page that should just work
        # (a missing stylesheet, a 500 after a submit) it is one to us.
        if response.status >= 400:
            watched.failed_requests.append(
                f"{response.request.method} {response.url}: HTTP {response.status}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    return watched


@pytest.fixture
def page(browser, live_server):
    """Factory: `page(**context_options)` opens a fresh context (its own cookies) and a page.

    Relative URLs resolve against the live server. Contexts close at the end of the test.
    """
    contexts = []

    def open_page(**context_options) -> WatchedPage:
        context = browser.new_context(base_url=live_server, **context_options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return _watch(context, context.new_page())

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    """tests/artifacts/ (git-ignored), for screenshots a person can look at after the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def log_in(page, username: str, next_path: str) -> None:
    """The real login form, by its labels; it sends us on to `next_path`, logged in."""
    from playwright.sync_api import expect

    from tests.factories import PASSWORD

    page.goto(f"/login?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(username)


def wait_live(page, state: str = "connected") -> None:
    """live.js marks <html data-live=...> (wait_for_function would need eval, which CSP forbids)."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("data-live", state)
