"""Live fixtures: the session app served for real (HTTP and Socket.IO) and socket clients.

The server is the one tests/browser uses: Werkzeug's threaded server on a free loopback port,
with the app's Socket.IO middleware (python-engineio on simple-websocket) in front. Clients are
python-socketio's own client, talking WebSocket (or long-polling) over a real socket.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import require

try:
    import socketio as socketio_client
except ImportError:  # pragma: no cover - the [test] extra installs it
    socketio_client = None


@pytest.fixture(scope="session")
def live_url(app):
    """The session app on 127.0.0.1 at a free port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-socket-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Listener:
    """A connected python-socketio client that records every event it receives."""

    client: Any
    received: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)
    seen: list[tuple[str, Any]] = field(default_factory=list)

    def join(self, **target: Any) -> dict:
        return self.client.call("join", target, timeout=10)

    def leave(self, **target: Any) -> dict:
        return self.client.call("leave", target, timeout=10)

    def wait_for(self, name: str, timeout: float = 10.0, **match: Any) -> Any:
        """The next `name` event whose payload has the `match` items; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        for event, data in self.seen:
            if event == name and all(data.get(k) == v for k, v in match.items()):
                self.seen.remove((event, data))
                return data
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} {match} within {timeout} s; got {self.seen}")
            try:
                event, data = self.received.get(timeout=left)
            except queue.Empty:
                continue
            if event == name and all(data.get(k) == v for k, v in match.items()):
                return data
            self.seen.append((event, data))

    def events(self) -> list[tuple[str, Any]]:
        """Everything received so far and not yet taken by wait_for."""
        while True:
            try:
                self.seen.append(self.received.get_nowait())
            except queue.Empty:
                return list(self.seen)


def _quick_close_class():
    """websocket-client's WebSocket whose close() waits 0.2 s, not 3 s, for the peer's reply.

    Werkzeug's development server hands the connection back to HTTP parsing once the app has
    closed its side, so the client's closing handshake is never answered there; without this,
    every disconnect in the tests would sit out websocket-client's 3-second timeout.
    """
    import websocket

    class QuickClose(websocket.WebSocket):
        def close(self, status=websocket.STATUS_NORMAL, reason=b"", timeout=0.2):
            super().close(status, reason, timeout)

    return QuickClose


@pytest.fixture
def connect(live_url):
    """Factory: connect(token=None, cookie=None, url=live_url) → a connected Listener."""
    require(socketio_client is not None, "python-socketio's client is not installed")
    listeners: list[Listener] = []

    def open_client(*, token: str | None = None, cookie: str | None = None,
                    url: str | None = None, transports: list[str] | None = None,
                    **client_options: Any) -> Listener:
        options = {"reconnection_delay": 0.1, "reconnection_delay_max": 0.5, **client_options}
        client = socketio_client.Client(
            websocket_extra_options={"class_": _quick_close_class()}, **options)
        listener = Listener(client)
        client.on("*", lambda event, data=None: listener.received.put((event, data)))
        client.connect(url or live_url, auth={"token": token} if token else None,
                       headers={"Cookie": cookie} if cookie else None,
                       transports=transports or ["websocket"], wait_timeout=10)
        listeners.append(listener)
        return listener

    yield open_client
    for listener in listeners:
        listener.client.disconnect()


@pytest.fixture
def settle(app):
    """Call to wait until every committed change has gone out (notifications, sockets, mail)."""
    from community.workers import live_updates, notifications

    def wait() -> None:
        with app.app_context():
            assert notifications.flush(), "the notification workers did not catch up"
            assert live_updates.flush(), "the realtime worker did not catch up"
            assert not notifications.failures(), notifications.failures()
            assert not live_updates.failures(), live_updates.failures()
    return wait
