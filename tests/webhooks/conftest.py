"""Webhook test kit: a receiver on 127.0.0.1 that records what arrives and answers as told,
an admin with a token, and helpers to subscribe and to run the delivery worker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from community.services import webhook_delivery
from tests.factories import make_user


@dataclass
class Arrived:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> int:
        return int(self.headers["community-event-id"])


class Receiver:
    """Answers each POST with `answer(request number)`: (status, headers); 200 by default."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler] | None = None) -> None:
        self.arrived: list[Arrived] = []
        self.answer: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (200, {})
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status, headers = receiver.answer(len(receiver.arrived))
                    receiver.arrived.append(Arrived(
                        {k.lower(): v for k, v in self.headers.items()}, body, status))
                payload = b'{"ok": true}' if status < 300 else b"busy"
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class or Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def delivered(self) -> list[Arrived]:
        return [item for item in self.arrived if 200 <= item.status < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    item = Receiver()
    yield item
    item.close()


@pytest.fixture
def admin(ctx):
    return make_user("kestrel_admin", role="admin")


@pytest.fixture
def admin_headers(admin, token_for):
    return token_for(admin)


@pytest.fixture
def fast_retries(app, monkeypatch):
    """Retries after milliseconds rather than seconds."""
    monkeypatch.setitem(app.config, "WEBHOOKS_RETRY_BASE_SECONDS", 0.01)
    monkeypatch.setitem(app.config, "WEBHOOKS_RETRY_MAX_SECONDS", 0.05)


def subscribe(client, headers, url: str, events=("*",)) -> dict:
    response = client.post("/api/v1/webhooks", headers=headers,
                           json={"url": url, "events": list(events)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def run_until(done: Callable[[], bool], timeout: float = 30.0) -> None:
    """Run delivery rounds until `done()` (generous timeout: polling, not timing)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "deliveries did not arrive in time"
        webhook_delivery.run_once()
        time.sleep(0.01)
