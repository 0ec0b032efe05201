"""The webhooks API and the event feed through HTTP: the contract, bad input, address rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AuditEntry, WebhookSubscription
from community.services import webhook_delivery
from tests.factories import make_answer, make_thread, make_user
from tests.webhooks.conftest import run_until, subscribe


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(WebhookSubscription))


def test_create_shows_the_secret_once_then_never(client, admin_headers, receiver):
    created = subscribe(client, admin_headers, receiver.url, ["thread.created", "answer.created"])
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    assert created["events"] == ["thread.created", "answer.created"]

    shown = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin_headers).get_json()
    listed = client.get("/api/v1/webhooks", headers=admin_headers).get_json()["items"]

    assert "secret" not in shown and [item["id"] for item in listed] == [created["id"]]
    assert all("secret" not in item for item in listed)
    assert db.session.scalar(select(AuditEntry.action)) == "webhook.create"


@pytest.mark.parametrize("body, field, code", [
    ({"url": "not a url", "events": ["thread.created"]}, "url", "url.invalid"),
    ({"url": "ftp://example.com/x", "events": ["thread.created"]}, "url", "url.invalid"),
    ({"url": None, "events": ["thread.created"]}, "url", "url.required"),
    ({"url": "http://127.0.0.1:9/x", "events": ["thread.exploded"]}, "events", "events.unknown"),
    ({"url": "http://127.0.0.1:9/x", "events": []}, "events", "events.required"),
    ({"url": "http://127.0.0.1:9/x", "events": "thread.created"}, "events", "events.required"),
])
def test_bad_input_is_422_and_stores_nothing(client, admin_headers, body, field, code):
    response = client.post("/api/v1/webhooks", headers=admin_headers, json=body)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error == {"code": code, "field": field, "message": error["message"]}
    assert _count() == 0


def test_a_body_that_is_not_json_is_400(client, admin_headers):
    response = client.post("/api/v1/webhooks", headers=admin_headers, data="url=x")
    assert response.status_code == 400 and _count() == 0


@pytest.mark.parametrize("url, code", [
    ("http://example.com/hooks", "url.https_required"),
    ("https://127.0.0.1/hooks", "url.refused"),
    ("https://10.0.0.8/hooks", "url.refused"),
    ("https://169.254.169.254/latest/meta-data", "url.refused"),
    ("https://[::1]/hooks", "url.refused"),
    ("https://[::ffff:192.168.0.1]/hooks", "url.refused"),
])
def test_private_and_plain_http_targets_are_refused_without_the_setting(
        app, client, admin_headers, monkeypatch, url, code):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)

    response = client.post("/api/v1/webhooks", headers=admin_headers,
                           json={"url": url, "events": ["*"]})

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert _count() == 0


def test_patch_validates_and_changes(client, admin_headers, receiver):
    created = subscribe(client, admin_headers, receiver.url)
    path = f"/api/v1/webhooks/{created['id']}"

    bad = client.patch(path, headers=admin_headers, json={"events": ["nope"]})
    good = client.patch(path, headers=admin_headers,
                        json={"events": ["answer.accepted"], "enabled": False,
                              "description": "CRM"})

    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "events.unknown"
    assert good.status_code == 200
    assert (good.get_json()["events"], good.get_json()["enabled"],
            good.get_json()["description"]) == (["answer.accepted"], False, "CRM")


def test_delete_removes_the_subscription_and_its_log(client, admin_headers, receiver):
    created = subscribe(client, admin_headers, receiver.url)
    make_thread(make_user("asker"))

    response = client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin_headers)

    assert response.status_code == 204 and _count() == 0
    assert client.get(f"/api/v1/webhooks/{created['id']}",
                      headers=admin_headers).status_code == 404
    webhook_delivery.run_once()
    assert receiver.arrived == []


def test_delivery_log_and_redeliver(client, admin_headers, receiver):
    created = subscribe(client, admin_headers, receiver.url)
    make_thread(make_user("asker"))
    run_until(lambda: receiver.delivered())
    log_path = f"/api/v1/webhooks/{created['id']}/deliveries"
    [first] = client.get(log_path, headers=admin_headers).get_json()["items"]
    assert first["response_body"] == '{"ok": true}' and first["delivered_at"]

    again = client.post(f"{log_path}/{first['id']}/redeliver", headers=admin_headers)
    missing = client.post(f"{log_path}/999999/redeliver", headers=admin_headers)
    run_until(lambda: len(receiver.delivered()) == 2)

    assert again.status_code == 202 and again.get_json()["event_id"] == first["event_id"]
    assert missing.status_code == 404
    assert [item.event_id for item in receiver.arrived] == [first["event_id"]] * 2
    assert len(client.get(log_path, headers=admin_headers).get_json()["items"]) == 2


def test_the_event_feed_lists_events_in_order_filtered_and_paged(client, admin_headers):
    asker, helper = make_user("asker"), make_user("helper")
    thread = make_thread(asker)
    make_answer(helper, thread)
    make_thread(asker, title="A second question about roaming")

    everything = client.get("/api/v1/events", headers=admin_headers).get_json()
    threads_only = client.get("/api/v1/events?types=thread.created",
                              headers=admin_headers).get_json()
    first = everything["items"][0]["id"]
    after = client.get(f"/api/v1/events?after={first}&limit=1", headers=admin_headers).get_json()

    assert [item["type"] for item in everything["items"]] == [
        "thread.created", "answer.created", "thread.created"]
    assert [item["type"] for item in threads_only["items"]] == ["thread.created"] * 2
    assert [item["id"] for item in after["items"]] == [everything["items"][1]["id"]]
    assert after["next_after"] == everything["items"][1]["id"]
    assert client.get("/api/v1/events?types=nope", headers=admin_headers).status_code == 422
    assert client.get("/api/v1/events?after=x", headers=admin_headers).status_code == 400


@pytest.mark.parametrize("role", ["member", "staff", "moderator"])
def test_only_admins_manage_webhooks_and_read_the_feed(client, token_for, ctx, role):
    headers = token_for(make_user("someone", role=role))
    for method, path in (("GET", "/api/v1/webhooks"), ("POST", "/api/v1/webhooks"),
                         ("GET", "/api/v1/webhooks/1"), ("GET", "/api/v1/events")):
        response = client.open(path, method=method, headers=headers, json={})
        assert response.status_code == 403, (method, path)
        assert response.get_json()["error"]["code"] == "user.not_admin"
    assert client.get("/api/v1/events").status_code == 401


def test_the_openapi_document_describes_webhooks(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/webhooks", "/webhooks/{subscription_id}", "/events",
            "/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"} <= set(paths)
