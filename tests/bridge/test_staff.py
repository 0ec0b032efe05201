"""Who may see and operate the bridge: the JSON API, the staff pages and the command line."""

from __future__ import annotations

import json
import re
import time

import pytest
from sqlalchemy import select

from community.bridge import generic
from community.extensions import db
from community.models import Channel, InboundMessage, OutboundMessage
from community.services.bridge import sending
from tests.bridge.conftest import Answer, add_channel, deliver
from tests.conftest import csrf_token
from tests.factories import PASSWORD

SECRET = "staff-test-secret-value"


@pytest.fixture
def channel(ctx, fake_api):
    fake_api.route("POST", "/cb", lambda request: Answer(200, {"id": "sent-1"}))
    return add_channel("generic", "partner", secret=SECRET, callback_url=fake_api.url + "/cb")


def complaint(client, text: str = "My broadband drops every evening", id: str = "c1"):
    body = json.dumps({"type": "message", "id": id, "author": {"id": "u1", "name": "Ana"},
                       "conversation": id, "text": text, "timestamp": int(time.time())}).encode()
    response = deliver(client, "partner", body, generic.sign(SECRET, body))
    assert response.status_code == 200
    return db.session.scalar(select(InboundMessage).where(InboundMessage.external_id == id))


ROLES = ["anonymous", "asker", "staff", "moderator", "admin"]


def headers_for(role, users, token_for):
    return {} if role == "anonymous" else token_for(getattr(users, role))


@pytest.mark.parametrize("role", ROLES)
def test_reading_the_bridge_is_for_staff(client, channel, users, token_for, role):
    complaint(client)
    headers = headers_for(role, users, token_for)
    for path in ("/api/v1/bridge/channels", "/api/v1/bridge/inbound", "/api/v1/bridge/outbox"):
        response = client.get(path, headers=headers)
        expected = {"anonymous": 401, "asker": 403}.get(role, 200)
        assert response.status_code == expected, (path, response.get_json())
    if role in ("staff", "moderator", "admin"):
        [item] = client.get("/api/v1/bridge/inbound", headers=headers).get_json()["items"]
        assert item["outcome"] == "thread" and item["author"]["display_name"] == "Ana"
        [reply] = client.get("/api/v1/bridge/outbox", headers=headers).get_json()["items"]
        assert reply["kind"] == "ack" and reply["state"] == "pending"
        [listed] = client.get("/api/v1/bridge/channels", headers=headers).get_json()["items"]
        assert SECRET not in json.dumps(listed) and listed["settings"]["secret"] == "…alue"
        assert listed["webhook_url"] == "http://localhost/bridge/partner/webhook"


@pytest.mark.parametrize("role", ROLES)
def test_retry_and_cancel_are_for_staff(client, channel, users, token_for, role):
    complaint(client)
    reply = db.session.scalar(select(OutboundMessage))
    headers = headers_for(role, users, token_for)
    cancel = client.post(f"/api/v1/bridge/outbox/{reply.id}/cancel", headers=headers)
    expected = {"anonymous": 401, "asker": 403}.get(role, 200)
    assert cancel.status_code == expected
    db.session.refresh(reply)
    assert reply.state == ("pending" if expected != 200 else "cancelled")
    retry = client.post(f"/api/v1/bridge/outbox/{reply.id}/retry", headers=headers)
    if expected == 200:
        assert retry.status_code == 422  # a cancelled reply stays cancelled
        assert retry.get_json()["error"]["code"] == "outbox.not_retryable"
    else:
        assert retry.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_add_channels(client, ctx, users, token_for, role):
    response = client.post("/api/v1/bridge/channels", headers=headers_for(role, users, token_for),
                           json={"kind": "telegram", "slug": "tg", "settings": {
                               "secret_token": "s3cret-token-value", "bot_token": "1:abc"}})
    expected = {"anonymous": 401, "asker": 403, "staff": 403, "moderator": 403}.get(role, 201)
    assert response.status_code == expected, response.get_json()
    assert (db.session.scalar(select(Channel)) is not None) == (expected == 201)


@pytest.mark.parametrize("body, code", [
    ({"kind": "fax", "slug": "f", "settings": {}}, "channel.kind"),
    ({"kind": "generic", "slug": "Bad Slug!", "settings": {}}, "channel.slug"),
    ({"kind": "generic", "slug": "g1", "settings": {"secret": "x"}}, "channel.missing_setting"),
    ({"kind": "generic", "slug": "g1", "settings": {"secret": "x", "callback_url": "http://x",
                                                    "colour": "red"}},
     "channel.unknown_setting"),
    ({"kind": "generic", "slug": "g1", "settings": ["secret=x"]}, "channel.settings"),
    ({"kind": 5, "slug": "g1", "settings": {}}, "kind.invalid"),
])
def test_bad_channel_settings_are_422(client, ctx, users, token_for, body, code):
    response = client.post("/api/v1/bridge/channels", json=body, headers=token_for(users.admin))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == code


def test_outbox_filters_and_pages(client, channel, users, token_for):
    for n in range(3):
        complaint(client, f"Problem number {n} with my line", id=f"c{n}")
    headers = token_for(users.staff)
    first = client.get("/api/v1/bridge/outbox?limit=2", headers=headers).get_json()
    second = client.get(f"/api/v1/bridge/outbox?limit=2&cursor={first['next_cursor']}",
                        headers=headers).get_json()
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(ids) == 3 == len(set(ids)) and second["next_cursor"] is None
    assert client.get("/api/v1/bridge/outbox?state=sent", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/bridge/outbox?state=lost", headers=headers).status_code == 422
    assert client.get("/api/v1/bridge/outbox?cursor=zzz", headers=headers).status_code == 400
    assert client.post("/api/v1/bridge/outbox/99999999999/retry",
                       headers=headers).status_code == 404


def test_a_failed_intake_is_shown_and_can_be_taken_in_again(client, channel, users, token_for,
                                                            app, monkeypatch):
    from community.services import threads

    monkeypatch.setattr(threads, "create_threads", lambda drafts: 1 / 0)
    row = complaint(client)
    assert row.outcome == "failed" and "ZeroDivisionError" in row.error
    monkeypatch.undo()
    headers = token_for(users.staff)
    response = client.post(f"/api/v1/bridge/inbound/{row.id}/retry", headers=headers)
    assert response.status_code == 200 and response.get_json()["outcome"] == "thread"
    again = client.post(f"/api/v1/bridge/inbound/{row.id}/retry", headers=headers)
    assert again.status_code == 422


# ---- pages -----------------------------------------------------------------------------------

def login(client, user):
    response = client.post("/login", data={"csrf_token": csrf_token(client),
                                           "username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_the_staff_page_lists_and_operates_the_outbox(app, client, channel, users):
    complaint(client)
    assert client.get("/staff/bridge").status_code == 302  # log in first
    member = app.test_client()
    login(member, users.asker)
    assert member.get("/staff/bridge").status_code == 403
    login(client, users.staff)
    page = client.get("/staff/bridge")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "My broadband drops every evening" in html
    reply = db.session.scalar(select(OutboundMessage))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post(f"/staff/bridge/outbox/{reply.id}/cancel").status_code == 400  # no CSRF
    response = client.post(f"/staff/bridge/outbox/{reply.id}/cancel", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.refresh(reply)
    assert reply.state == "cancelled"
    assert client.post(f"/staff/bridge/outbox/{reply.id}/retry",
                       data={"csrf_token": token}).status_code == 422


def test_admins_add_channels_on_the_page_and_never_see_secrets_again(app, client, ctx, users):
    staff = app.test_client()
    login(staff, users.staff)
    page = staff.get("/staff/bridge/channels")
    assert page.status_code == 200 and "Add a channel" not in page.get_data(as_text=True)
    refused = staff.post("/staff/bridge/channels", data={
        "csrf_token": csrf_token(staff, "/ask"), "kind": "generic", "slug": "g",
        "settings": "secret=s\ncallback_url=http://x"})
    assert refused.status_code == 403
    login(client, users.admin)
    token = csrf_token(client, "/staff/bridge/channels")
    bad = client.post("/staff/bridge/channels", data={
        "csrf_token": token, "kind": "whatsapp", "slug": "wa", "settings": "app_secret=only"})
    assert bad.status_code == 200 and "need verify_token" in bad.get_data(as_text=True)
    good = client.post("/staff/bridge/channels", data={
        "csrf_token": token, "kind": "whatsapp", "slug": "wa", "name": "Kestrel WhatsApp",
        "settings": "app_secret=abcdefgh12345678\nverify_token=vvvvvvvv1234\n"
                    "access_token=EAAtokentokentoken\nphone_number_id=106540352242922"})
    assert good.status_code == 302
    page = client.get("/staff/bridge/channels").get_data(as_text=True)
    assert "Kestrel WhatsApp" in page and "106540352242922" in page
    for secret in ("abcdefgh12345678", "vvvvvvvv1234", "EAAtokentokentoken"):
        assert secret not in page
    assert "http://localhost/bridge/wa/webhook" in page


def test_only_admins_change_channels(client, channel, users, token_for):
    for role, expected in [("anonymous", 401), ("asker", 403), ("staff", 403),
                           ("moderator", 403), ("admin", 200)]:
        response = client.patch("/api/v1/bridge/channels/partner",
                                headers=headers_for(role, users, token_for),
                                json={"enabled": False})
        assert response.status_code == expected, (role, response.get_json())
    db.session.expire_all()
    assert db.session.scalar(select(Channel)).is_enabled is False


def test_a_rotated_secret_and_a_disabled_channel_apply_at_once(client, channel, users, token_for):
    admin = token_for(users.admin)
    complaint(client, id="before")  # the webhook has read (and keeps) the channel
    new_secret = "rotated-secret-value-2"
    changed = client.patch("/api/v1/bridge/channels/partner", headers=admin,
                           json={"settings": {"secret": new_secret}})
    assert changed.status_code == 200
    assert changed.get_json()["settings"]["secret"] == "…ue-2"
    assert new_secret not in changed.get_data(as_text=True)
    body = json.dumps({"type": "message", "id": "after", "author": {"id": "u2"},
                       "text": "Still no signal"}).encode()
    assert deliver(client, "partner", body, generic.sign(SECRET, body)).status_code == 401
    assert deliver(client, "partner", body, generic.sign(new_secret, body)).status_code == 200

    off = client.patch("/api/v1/bridge/channels/partner", headers=admin, json={"enabled": False})
    assert off.status_code == 200 and off.get_json()["enabled"] is False
    other = body.replace(b'"after"', b'"later"')
    refused = deliver(client, "partner", other, generic.sign(new_secret, other))
    assert refused.status_code == 404
    assert client.patch("/api/v1/bridge/channels/partner", headers=admin,
                        json={"enabled": True}).status_code == 200
    assert deliver(client, "partner", other, generic.sign(new_secret, other)).status_code == 200
    assert {row.external_id for row in db.session.scalars(select(InboundMessage))} == {
        "before", "after", "later"}


def test_replies_on_a_channel_turned_off_wait_until_it_is_on_again(
        client, channel, users, token_for, fake_api):
    complaint(client)  # owes an ack
    admin = token_for(users.admin)
    client.patch("/api/v1/bridge/channels/partner", headers=admin, json={"enabled": False})
    assert sending.run_once()["sent"] == 0
    assert fake_api.sent("POST") == []
    assert db.session.scalar(select(OutboundMessage.state)) == "pending"
    client.patch("/api/v1/bridge/channels/partner", headers=admin, json={"enabled": True})
    assert sending.run_once()["sent"] == 1
    assert len(fake_api.sent("POST")) == 1


@pytest.mark.parametrize("slug, body, status, code", [
    ("nope", {"enabled": False}, 404, "channel.not_found"),
    ("partner", {"enabled": "no"}, 422, "enabled.invalid"),
    ("partner", {"settings": ["secret=x"]}, 422, "channel.settings"),
    ("partner", {"settings": {"colour": "red"}}, 422, "channel.unknown_setting"),
    ("partner", {"settings": {"secret": ""}}, 422, "channel.missing_setting"),
])
def test_bad_channel_changes_are_refused_and_change_nothing(client, channel, users, token_for,
                                                            slug, body, status, code):
    response = client.patch(f"/api/v1/bridge/channels/{slug}", json=body,
                            headers=token_for(users.admin))
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    db.session.expire_all()
    stored = db.session.scalar(select(Channel))
    assert stored.is_enabled and stored.settings["secret"] == SECRET


def test_admins_change_channels_on_the_page(app, client, channel, users):
    staff = app.test_client()
    login(staff, users.staff)
    page = staff.get("/staff/bridge/channels/partner").get_data(as_text=True)
    assert "Change it" not in page and SECRET not in page
    member = app.test_client()
    login(member, users.asker)
    assert member.get("/staff/bridge/channels/partner").status_code == 403
    refused = staff.post("/staff/bridge/channels/partner", data={
        "csrf_token": csrf_token(staff, "/ask"), "settings": ""})
    assert refused.status_code == 403
    login(client, users.admin)
    assert client.get("/staff/bridge/channels/nope").status_code == 404
    token = csrf_token(client, "/staff/bridge/channels/partner")
    assert client.post("/staff/bridge/channels/partner",
                       data={"enabled": "y", "settings": "secret="}).status_code == 400
    bad = client.post("/staff/bridge/channels/partner",
                      data={"csrf_token": token, "enabled": "y", "settings": "secret="})
    assert bad.status_code == 200 and "need secret" in bad.get_data(as_text=True)
    off = client.post("/staff/bridge/channels/partner",
                      data={"csrf_token": token, "settings": "secret=another-secret-0042"})
    assert off.status_code == 302
    listed = client.get("/staff/bridge/channels").get_data(as_text=True)
    assert "(off)" in listed and "another-secret-0042" not in listed and "…0042" in listed
    db.session.expire_all()
    stored = db.session.scalar(select(Channel))
    assert stored.is_enabled is False and stored.settings["secret"] == "another-secret-0042"


# ---- command line ----------------------------------------------------------------------------

def test_cli_adds_a_channel_and_masks_secrets(runner, ctx):
    result = runner.invoke(args=["bridge", "add-channel", "--kind", "whatsapp", "--slug", "wa",
                                 "--setting", "app_secret=abcdefgh12345678",
                                 "--setting", "verify_token=vvvvvvvv1234",
                                 "--setting", "access_token=EAAtokentokentoken",
                                 "--setting", "phone_number_id=277321005464405",
                                 "--setting", "api_base=http://127.0.0.1:9000"])
    assert result.exit_code == 0, result.output
    assert "abcdefgh12345678" not in result.output and "…5678" in result.output
    assert "/bridge/wa/webhook" in result.output
    listed = runner.invoke(args=["bridge", "channels"])
    assert "wa: whatsapp" in listed.output and "EAAtokentokentoken" not in listed.output
    missing = runner.invoke(args=["bridge", "add-channel", "--kind", "telegram", "--slug", "tg"])
    assert missing.exit_code != 0 and "channel.missing_setting" in missing.output
    malformed = runner.invoke(args=["bridge", "add-channel", "--kind", "generic", "--slug", "g",
                                    "--setting", "no-equals-sign"])
    assert malformed.exit_code != 0 and "channel.setting_format" in malformed.output


def test_cli_worker_once_sends_what_is_due(runner, client, channel, fake_api):
    complaint(client)
    result = runner.invoke(args=["bridge", "worker", "--once"])
    assert result.exit_code == 0 and "1 sent" in result.output
    assert db.session.scalar(select(OutboundMessage.state)) == "sent"
    assert runner.invoke(args=["bridge", "worker", "--once"]).output.strip() == "Nothing due."
    assert sending.run_once() == {}


def test_cli_changes_and_turns_off_a_channel(runner, channel, client):
    result = runner.invoke(args=["bridge", "change-channel", "partner", "--disable",
                                 "--setting", "secret=cli-rotated-secret-77"])
    assert result.exit_code == 0, result.output
    assert "(disabled)" in result.output and "cli-rotated-secret-77" not in result.output
    body = json.dumps({"type": "message", "id": "x1", "author": {"id": "u1"},
                       "text": "Hello"}).encode()
    assert deliver(client, "partner", body,
                   generic.sign("cli-rotated-secret-77", body)).status_code == 404
    assert runner.invoke(args=["bridge", "change-channel", "partner", "--enable"]).exit_code == 0
    assert deliver(client, "partner", body,
                   generic.sign("cli-rotated-secret-77", body)).status_code == 200
    nothing = runner.invoke(args=["bridge", "change-channel", "partner"])
    assert nothing.exit_code != 0 and "--setting, --enable or --disable" in nothing.output
    unknown = runner.invoke(args=["bridge", "change-channel", "nope", "--disable"])
    assert unknown.exit_code != 0 and "channel.not_found" in unknown.output
