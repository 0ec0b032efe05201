"""The /staff/webhooks pages (admins, CSRF forms) and `community webhooks ...`."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from community.extensions import db
from community.models import WebhookDelivery, WebhookSubscription
from tests.conftest import csrf_token, login
from tests.factories import make_thread, make_user
from tests.webhooks.conftest import run_until


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_an_admin_adds_pings_rotates_and_deletes_on_the_page(client, admin, receiver):
    login(client, admin.username)
    token = csrf_token(client, "/staff/webhooks")

    created = client.post("/staff/webhooks", data={"csrf_token": token, "url": receiver.url,
                                                   "events": ["thread.created"]})
    assert created.status_code == 201
    secret = db.session.scalar(select(WebhookSubscription.secret))
    assert secret in created.get_data(as_text=True)
    item_id = db.session.scalar(select(WebhookSubscription.id))
    page = client.get(f"/staff/webhooks/{item_id}").get_data(as_text=True)
    assert secret not in page and receiver.url in page

    pinged = client.post(f"/staff/webhooks/{item_id}/ping", data={"csrf_token": token})
    assert pinged.status_code == 302
    run_until(lambda: receiver.delivered())
    assert "ping" in client.get(f"/staff/webhooks/{item_id}").get_data(as_text=True)

    rotated = client.post(f"/staff/webhooks/{item_id}/rotate", data={"csrf_token": token})
    db.session.expire_all()
    new_secret = db.session.scalar(select(WebhookSubscription.secret))
    assert new_secret != secret and new_secret in rotated.get_data(as_text=True)

    client.post(f"/staff/webhooks/{item_id}/disable", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.scalar(select(WebhookSubscription.is_enabled)) is False

    deleted = client.post(f"/staff/webhooks/{item_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302 and _count(WebhookSubscription) == 0


def test_the_page_refuses_bad_input_and_missing_csrf(client, admin):
    login(client, admin.username)
    token = csrf_token(client, "/staff/webhooks")

    bad = client.post("/staff/webhooks", data={"csrf_token": token, "url": "nope",
                                               "events": ["thread.created"]})
    no_csrf = client.post("/staff/webhooks", data={"url": "http://127.0.0.1:9/x",
                                                   "events": ["thread.created"]})

    assert bad.status_code == 422 and "not an http or https URL" in bad.get_data(as_text=True)
    assert no_csrf.status_code in (400, 422)
    assert _count(WebhookSubscription) == 0


def test_staff_who_are_not_admins_get_403(client, ctx):
    staff = make_user("kestrel_staff", role="staff")
    login(client, staff.username)
    assert client.get("/staff/webhooks").status_code == 403


def test_the_command_line_adds_lists_runs_and_removes(runner, ctx, receiver):
    added = runner.invoke(args=["webhooks", "add", receiver.url, "--event", "thread.created"])
    assert added.exit_code == 0, added.output
    assert re.search(r"Secret \(shown once\): whsec_\S+", added.output)
    item_id = db.session.scalar(select(WebhookSubscription.id))

    listed = runner.invoke(args=["webhooks", "list"])
    assert f"{item_id} enabled {receiver.url} thread.created" in listed.output

    make_thread(make_user("asker"))
    once = runner.invoke(args=["webhooks", "worker", "--once"])
    assert once.exit_code == 0 and "1 delivered" in once.output, once.output
    assert [item.json()["type"] for item in receiver.arrived] == ["thread.created"]

    bad = runner.invoke(args=["webhooks", "add", receiver.url, "--event", "nope"])
    assert bad.exit_code != 0 and "events.unknown" in bad.output

    removed = runner.invoke(args=["webhooks", "remove", str(item_id)])
    assert removed.exit_code == 0 and _count(WebhookSubscription) == 0
    assert _count(WebhookDelivery) == 0
