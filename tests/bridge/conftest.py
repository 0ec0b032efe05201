"""Bridge test kit: a local HTTP server that plays a channel's API, and helpers to configure
channels and deliver payloads through the real webhook endpoint.

`FakeAPI` is deliberately dumb about channels: each test module registers the routes its channel
documents (method + path → handler), checks auth and required fields there, and answers as the
real API does. Every request is recorded; `fail_next` makes the next requests answer with an
error status (429 with Retry-After, 5xx, a permanent 4xx); `hold` keeps a request open until
released, to crash a worker mid-send.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from community.bridge import generic
from community.services import bridge
from tests.conftest import require

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
PAYLOADS = CORPUS / "bridge_payloads"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    connection: tuple[str, int]  # the caller's address and port: one per TCP connection

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Recorded], Answer]


class FakeAPI:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Recorded] = []
        self.failures: list[Answer] = []
        self.held = threading.Event()      # set while a request is being held
        self.release = threading.Event()
        self._hold_next = False
        self._lock = threading.Lock()
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections stay open between calls, as real APIs'
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                recorded = Recorded(self.command, parts.path, parse_qs(parts.query),
                                    {k.lower(): v for k, v in self.headers.items()},
                                    self.rfile.read(length), self.client_address)
                answer = api._answer(recorded)
                payload = answer.body if isinstance(answer.body, bytes) else \
                    json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def fail_next(self, *answers: Answer) -> None:
        with self._lock:
            self.failures.extend(answers)

    def hold_next(self) -> None:
        """Record the next request, then keep the caller waiting until `release` is set."""
        self._hold_next = True

    def sent(self, method: str = "POST", path: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and (path is None or r.path == path)]

    def _answer(self, recorded: Recorded) -> Answer:
        with self._lock:
            self.requests.append(recorded)
            failure = self.failures.pop(0) if self.failures else None
            hold, self._hold_next = self._hold_next, False
        if failure is not None:
            return failure
        handler = self.routes.get((recorded.method, recorded.path))
        answer = handler(recorded) if handler else Answer(404, {"error": "no such route"})
        if hold:
            self.held.set()
            self.release.wait(30)
        return answer

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    api = FakeAPI()
    yield api
    api.close()


@pytest.fixture
def payloads(app, monkeypatch):
    """The real channel payloads from ../shared/corpora/bridge_payloads (mandatory in CI).

    They are dated when they were recorded, years ago, so the message-age window
    (BRIDGE_MAX_MESSAGE_AGE_HOURS) is off while a test uses them; the message-age tests in
    test_whatsapp.py and test_meta.py turn it back on to show such deliveries are not taken in."""
    require(PAYLOADS.is_dir(), f"the shared corpus is missing at {PAYLOADS}")
    monkeypatch.setitem(app.config, "BRIDGE_MAX_MESSAGE_AGE_HOURS", 0)
    return PAYLOADS


def add_channel(kind: str, slug: str, **settings: str):
    return bridge.add_channel(None, kind, slug, settings)


def deliver(client, slug: str, body: bytes, headers: dict[str, str] | None = None):
    return client.post(f"/bridge/{slug}/webhook", data=body,
                       headers={"Content-Type": "application/json", **(headers or {})})


# ---- a generic partner channel and its messages -----------------------------------------------

SECRET = "generic-shared-secret"


def activity(text: str, *, id: str = "m1", author: str = "cust-1", **extra) -> dict:
    return {"type": "message", "id": id, "conversation": extra.pop("conversation", "conv-1"),
            "author": {"id": author, "handle": "sam", "name": "Sam Okafor",
                       "is_brand": extra.pop("is_brand", False)},
            "text": text, "timestamp": extra.pop("timestamp", int(time.time())), **extra}


def send(client, payload: dict, *, slug: str = "partner", secret: str = SECRET, at=None):
    body = json.dumps(payload).encode()
    return deliver(client, slug, body, generic.sign(secret, body, at))


@pytest.fixture
def partner(fake_api):
    """The partner system's callback: de-duplicates by Idempotency-Key, as the contract says."""
    seen: dict[str, str] = {}

    def callback(request):
        signature = generic.sign(SECRET, request.body, int(request.headers["x-bridge-timestamp"]))
        if request.headers.get("x-bridge-signature") != signature["X-Bridge-Signature"]:
            return Answer(401, {"error": "bad signature"})
        key = request.headers["idempotency-key"]
        assert request.json()["idempotency_key"] == key
        seen.setdefault(key, f"out-{len(seen) + 1}")
        return Answer(200, {"id": seen[key]})

    def lookup(request):
        key = request.query.get("idempotency_key", [""])[0]
        return Answer(200, {"id": seen.get(key)})

    fake_api.route("POST", "/replies", callback)
    fake_api.route("GET", "/replies", lookup)
    fake_api.seen = seen
    return fake_api


@pytest.fixture
def channel(ctx, partner):
    return add_channel("generic", "partner", secret=SECRET, callback_url=partner.url + "/replies",
                       limit="500")
