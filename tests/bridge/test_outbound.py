"""Outbound requests: channel settings the server requests must be http(s) to public addresses
(checked on save, and again on connecting), and staff see a summary of an error answer, never
its body. WEBHOOKS_ALLOW_PRIVATE_TARGETS is on for the rest of the suite (its fake APIs listen
on 127.0.0.1) and off here."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from sqlalchemy import func, select, update

from community.bridge import generic
from community.extensions import db
from community.models import Channel, OutboundMessage
from community.services.bridge import sending
from tests.bridge.conftest import SECRET, Answer, add_channel, deliver
from tests.conftest import csrf_token, login

PUBLIC = "93.184.215.14"  # example.com's address: public, never connected to here

REFUSED = [
    "http://127.0.0.1:8080/replies",
    "http://localhost:5000/replies",            # a name that resolves to loopback
    "http://[::1]/replies",
    "http://[::ffff:127.0.0.1]/replies",        # IPv4-mapped IPv6
    "http://2130706433/replies",                # 127.0.0.1 as one number
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://[fe80::1]/",
    "http://10.0.0.5/", "http://172.16.3.4/", "http://192.168.1.1/", "http://[fd00::1]/",
    "http://100.64.0.1/",                       # carrier-grade NAT
    "http://0.0.0.0/", "http://224.0.0.1/", "http://240.0.0.1/",
    "file:///etc/passwd", "gopher://example.com/", "ftp://example.com/",
    "http://no-such-host.example/",             # resolves to nothing
]


@pytest.fixture
def strict(app, monkeypatch):
    """The production default: only public addresses."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)


@pytest.fixture
def dns(monkeypatch):
    """A resolver under the test's control for names ending in .example (others resolve as
    usual): `dns["partner.example"] = ["93.184.215.14"]`."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if isinstance(host, str) and host.endswith(".example"):
            if host not in answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM,
                     6, "", (address, int(port or 0))) for address in answers[host]]
        return real(host, port, family, type, proto, flags)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def generic_settings(**settings) -> dict:
    return {"kind": "generic", "slug": "partner",
            "settings": {"secret": SECRET, "callback_url": "https://partner.example/replies",
                         **settings}}


def complaint(client, id: str = "c1"):
    body = json.dumps({"type": "message", "id": id, "author": {"id": "u1", "name": "Ana"},
                       "conversation": id, "text": "My broadband drops every evening",
                       "timestamp": int(time.time())}).encode()
    assert deliver(client, "partner", body, generic.sign(SECRET, body)).status_code == 200


# ---- on save: the API, the page, the command line ---------------------------------------------

@pytest.mark.parametrize("url", REFUSED)
@pytest.mark.parametrize("setting", ["callback_url", "lookup_url"])
def test_the_api_refuses_internal_partner_addresses(client, ctx, users, token_for, strict, dns,
                                                    setting, url):
    dns["partner.example"] = [PUBLIC]
    response = client.post("/api/v1/bridge/channels", headers=token_for(users.admin),
                           json=generic_settings(**{setting: url}))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "channel.address" and error["field"] == "settings"
    assert error["message"].startswith(f"{setting} is refused")
    assert db.session.scalar(select(func.count()).select_from(Channel)) == 0


@pytest.mark.parametrize("kind, settings", [
    ("whatsapp", {"app_secret": "s", "verify_token": "v", "access_token": "t",
                  "phone_number_id": "1"}),
    ("messenger", {"app_secret": "s", "verify_token": "v", "page_access_token": "t",
                   "page_id": "1"}),
    ("instagram", {"app_secret": "s", "verify_token": "v", "page_access_token": "t",
                   "page_id": "1"}),
    ("telegram", {"secret_token": "s", "bot_token": "1:t"}),
    ("x", {"access_token": "t", "user_id": "1"}),
    ("mastodon", {"access_token": "t", "account_id": "1"}),
])
@pytest.mark.parametrize("api_base", ["http://127.0.0.1:9000", "http://localhost",
                                      "http://169.254.169.254", "file:///etc"])
def test_every_kind_refuses_an_internal_api_base(client, ctx, users, token_for, strict, kind,
                                                 settings, api_base):
    response = client.post("/api/v1/bridge/channels", headers=token_for(users.admin), json={
        "kind": kind, "slug": "c1", "settings": {**settings, "api_base": api_base}})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "channel.address"


def test_a_public_address_is_accepted_and_one_private_address_among_public_ones_is_not(
        client, ctx, users, token_for, strict, dns):
    admin = token_for(users.admin)
    dns["partner.example"] = [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    dns["mixed.example"] = [PUBLIC, "10.0.0.7"]
    mixed = client.post("/api/v1/bridge/channels", headers=admin, json=generic_settings(
        lookup_url="https://mixed.example/lookup"))
    assert mixed.status_code == 422
    assert "10.0.0.7" in mixed.get_json()["error"]["message"]
    created = client.post("/api/v1/bridge/channels", headers=admin, json=generic_settings(
        lookup_url="https://partner.example/lookup"))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["settings"]["callback_url"] == "https://partner.example/replies"


def test_a_change_to_an_internal_address_is_refused_and_changes_nothing(
        client, ctx, users, token_for, strict, dns):
    dns["partner.example"] = [PUBLIC]
    admin = token_for(users.admin)
    assert client.post("/api/v1/bridge/channels", headers=admin,
                       json=generic_settings()).status_code == 201
    for url in ("http://localhost:8080/replies", "http://[::ffff:169.254.169.254]/"):
        response = client.patch("/api/v1/bridge/channels/partner", headers=admin,
                                json={"settings": {"callback_url": url}})
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "channel.address"
    db.session.expire_all()
    assert db.session.scalar(select(Channel)).settings["callback_url"] == \
        "https://partner.example/replies"
    # A change that leaves the addresses alone (a secret rotated) is not held up by them.
    rotated = client.patch("/api/v1/bridge/channels/partner", headers=admin,
                           json={"settings": {"secret": "a-new-secret-0042"}})
    assert rotated.status_code == 200


def test_the_page_shows_why_an_address_is_refused(client, ctx, users, strict):
    login(client, users.admin.username)
    token = csrf_token(client, "/staff/bridge/channels")
    page = client.post("/staff/bridge/channels", data={
        "csrf_token": token, "kind": "generic", "slug": "partner",
        "settings": f"secret={SECRET}\ncallback_url=http://169.254.169.254/latest/meta-data/"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "callback_url is refused" in text and "not a public address (link-local)" in text
    assert db.session.scalar(select(func.count()).select_from(Channel)) == 0


def test_the_command_line_refuses_internal_addresses(runner, ctx, strict, dns):
    added = runner.invoke(args=["bridge", "add-channel", "--kind", "whatsapp", "--slug", "wa",
                                "--setting", "app_secret=abcdefgh12345678",
                                "--setting", "verify_token=vvvvvvvv1234",
                                "--setting", "access_token=EAAtokentokentoken",
                                "--setting", "phone_number_id=277321005464405",
                                "--setting", "api_base=http://127.0.0.1:9000"])
    assert added.exit_code != 0 and "channel.address" in added.output
    assert "127.0.0.1 is not a public address (loopback)" in added.output
    dns["partner.example"] = [PUBLIC]
    assert runner.invoke(args=["bridge", "add-channel", "--kind", "generic", "--slug", "partner",
                               "--setting", f"secret={SECRET}", "--setting",
                               "callback_url=https://partner.example/replies"]).exit_code == 0
    changed = runner.invoke(args=["bridge", "change-channel", "partner", "--setting",
                                  "callback_url=http://localhost:8080/replies"])
    assert changed.exit_code != 0 and "channel.address" in changed.output
    assert "localhost (127.0.0.1) is not a public address" in changed.output


# ---- on connecting: the name is resolved and checked again --------------------------------------

def test_a_name_that_turns_internal_after_saving_gets_no_request(client, ctx, strict, dns,
                                                                 partner):
    """DNS rebinding: partner.example was public when the channel was saved and now points at
    127.0.0.1, where the (fake) partner listens. The reply is refused before connecting."""
    dns["partner.example"] = [PUBLIC]
    port = partner.server.server_address[1]
    add_channel("generic", "partner", secret=SECRET,
                callback_url=f"http://partner.example:{port}/replies")
    complaint(client)
    dns["partner.example"] = ["127.0.0.1"]
    assert sending.run_once()["failed"] == 1  # permanent: the setting has to change
    assert partner.requests == []
    row = db.session.scalar(select(OutboundMessage))
    assert "partner.example (127.0.0.1) is not a public address (loopback)" in row.last_error


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_saved_internal_address_is_refused_when_the_rule_is_back_on(app, client, ctx, partner,
                                                                     monkeypatch, host):
    port = partner.server.server_address[1]
    add_channel("generic", "partner", secret=SECRET, callback_url=f"http://{host}:{port}/replies")
    complaint(client)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
    assert sending.run_once()["failed"] == 1
    assert partner.requests == []
    assert "is not a public address (loopback)" in db.session.scalar(
        select(OutboundMessage.last_error))
    # With the setting on (an intranet partner), the same reply goes out.
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", True)
    row = db.session.scalar(select(OutboundMessage))
    row.state = "pending"
    db.session.commit()
    assert sending.run_once()["sent"] == 1 and len(partner.sent("POST", "/replies")) == 1


# ---- what staff see of an error answer -----------------------------------------------------------

def test_staff_see_a_summary_of_an_error_answer_and_the_log_keeps_the_body(
        client, channel, partner, users, token_for, caplog):
    body = json.dumps({"error": "internal: db password hunter2 at 10.0.0.5",
                       "trace": "x" * 1200}).encode()
    partner.fail_next(Answer(502, body))
    complaint(client)
    with caplog.at_level(logging.WARNING, logger="community.bridge"):
        assert sending.run_once()["pending"] == 1
    [row] = client.get("/api/v1/bridge/outbox", headers=token_for(users.staff)).get_json()["items"]
    port = partner.server.server_address[1]
    assert row["last_error"] == \
        f"HTTP 502 from 127.0.0.1:{port}, {len(body) / 1000:.1f} kB of application/json"
    assert "hunter2" in caplog.text  # for whoever runs the server, not for every staff member
    login(client, users.staff.username)
    page = client.get("/staff/bridge").get_data(as_text=True)
    assert "HTTP 502 from 127.0.0.1" in page and "hunter2" not in page


def test_a_stored_address_that_is_not_http_is_never_requested(client, channel, partner):
    """A row saved before the rule (or edited in the database) fails for good, at once."""
    db.session.execute(update(Channel).values(settings={
        "secret": SECRET, "callback_url": "file:///etc/passwd"}))
    db.session.commit()
    complaint(client)
    assert sending.run_once()["failed"] == 1
    assert "is not an http or https URL" in db.session.scalar(select(OutboundMessage.last_error))
