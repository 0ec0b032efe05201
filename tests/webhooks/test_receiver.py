"""The receiver docs/WEBHOOKS.md shows, run as written: it verifies every delivery's signature
and drops repeats by event id, also after a worker died mid-delivery."""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import threading

import pytest

from community.services import outbox, webhook_delivery
from tests.factories import make_thread, make_user
from tests.webhooks.conftest import run_until, subscribe

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"


def documented_receiver() -> dict:
    """The doc's Python block, executed: its SECRET, seen, handled, verify and Receiver."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/WEBHOOKS.md should show exactly one Python receiver"
    namespace: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    return namespace


@pytest.fixture
def served():
    """The documented receiver on 127.0.0.1, and its namespace (set SECRET before use)."""
    namespace = documented_receiver()

    class Quiet(namespace["Receiver"]):
        def log_message(self, *args) -> None:
            pass

    assert issubclass(Quiet, BaseHTTPRequestHandler)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    namespace["url"] = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield namespace
    server.shutdown()
    server.server_close()


def _deliveries(client, headers, subscription_id):
    return client.get(f"/api/v1/webhooks/{subscription_id}/deliveries",
                      headers=headers).get_json()["items"]


def test_the_documented_receiver_accepts_signed_deliveries(client, admin_headers, served):
    subscription = subscribe(client, admin_headers, served["url"], ["thread.created"])
    served["SECRET"] = subscription["secret"].encode()
    thread = make_thread(make_user("asker"))

    run_until(lambda: served["handled"])

    [event] = served["handled"]
    assert event["type"] == "thread.created"
    assert event["data"]["thread_id"] == thread.id
    [delivery] = _deliveries(client, admin_headers, subscription["id"])
    assert (delivery["state"], delivery["response_status"]) == ("delivered", 204)


def test_the_documented_receiver_refuses_a_wrong_secret(client, admin_headers, served):
    subscription = subscribe(client, admin_headers, served["url"], ["thread.created"])
    served["SECRET"] = b"whsec_not_the_right_one"
    make_thread(make_user("asker"))

    run_until(lambda: _deliveries(client, admin_headers, subscription["id"])[0]["state"]
              == "failed")

    assert served["handled"] == []
    assert _deliveries(client, admin_headers, subscription["id"])[0]["response_status"] == 400


def test_after_a_rotation_both_secrets_verify_during_the_grace(client, admin_headers, served):
    subscription = subscribe(client, admin_headers, served["url"], ["thread.created"])
    old_secret = subscription["secret"]
    rotated = client.post(f"/api/v1/webhooks/{subscription['id']}/rotate",
                          headers=admin_headers).get_json()
    assert rotated["secret"] != old_secret
    served["SECRET"] = old_secret.encode()  # a receiver not yet switched over
    make_thread(make_user("asker"))

    run_until(lambda: served["handled"])

    served["SECRET"] = rotated["secret"].encode()
    make_thread(make_user("asker2"), title="Second question about roaming")
    run_until(lambda: len(served["handled"]) == 2)


def test_a_worker_killed_mid_delivery_delivers_again_and_the_receiver_drops_the_repeat(
        app, client, admin_headers, served, monkeypatch):
    subscription = subscribe(client, admin_headers, served["url"], ["thread.created"])
    served["SECRET"] = subscription["secret"].encode()
    make_thread(make_user("asker"))

    def killed(self, outcomes):
        raise RuntimeError("worker killed after sending, before recording")

    with monkeypatch.context() as patch:
        patch.setattr(outbox.Outbox, "record", killed)
        with pytest.raises(RuntimeError):
            webhook_delivery.run_once()
    assert len(served["handled"]) == 1
    assert _deliveries(client, admin_headers, subscription["id"])[0]["state"] == "sending"
    webhook_delivery.run_once()  # within the lease: the dead worker's claim still stands
    assert _deliveries(client, admin_headers, subscription["id"])[0]["state"] == "sending"

    monkeypatch.setitem(app.config, "WEBHOOKS_SENDING_LEASE_SECONDS", 0)
    run_until(lambda: _deliveries(client, admin_headers, subscription["id"])[0]["state"]
              == "delivered")

    assert len(served["seen"]) == 1 and len(served["handled"]) == 1  # the repeat was dropped
    [delivery] = _deliveries(client, admin_headers, subscription["id"])
    assert delivery["attempts"] == 2
