"""The audit log: staff actions write entries, moderators and admins read them (API, page,
CLI), filters work, and nothing changes or deletes an entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AuditEntry, InboundMessage, OutboundMessage
from community.models.base import utcnow
from community.services import accounts, bridge
from tests.conftest import login
from tests.factories import make_answer, make_thread

AUDIT = "/api/v1/moderation/audit"


def _lock(client, headers, thread, reason="Off topic"):
    response = client.post(f"/api/v1/threads/{thread.id}/lock", headers=headers,
                           json={"reason": reason})
    assert response.status_code == 200, response.get_json()


def test_moderators_read_the_log_newest_first_with_filters(client, users, token_for):
    first = make_thread(users.asker, title="First thread about roaming")
    second = make_thread(users.asker, title="Second thread about billing")
    mod, admin = token_for(users.moderator), token_for(users.admin)
    _lock(client, mod, first)
    _lock(client, admin, second, "Flame war")
    client.post(f"/api/v1/threads/{first.id}/unlock", headers=mod)

    items = client.get(AUDIT, headers=mod).get_json()["items"]
    assert [(i["action"], i["target"]["id"]) for i in items] == [
        ("thread.unlock", first.id), ("thread.lock", second.id), ("thread.lock", first.id)]
    assert items[1]["actor"]["username"] == users.admin.username
    assert items[1]["reason"] == "Flame war" and items[1]["after"]["is_locked"] is True

    def ids(query: str) -> list[int]:
        response = client.get(f"{AUDIT}?{query}", headers=admin)
        assert response.status_code == 200, response.get_json()
        return [item["target"]["id"] for item in response.get_json()["items"]]

    assert ids(f"actor={users.admin.username}") == [second.id]
    assert ids(f"actor={users.moderator.id}") == [first.id, first.id]
    assert ids("actor=nobody-at-all") == []
    assert ids("action=thread.lock") == [second.id, first.id]
    assert ids(f"target_kind=thread&target_id={first.id}") == [first.id, first.id]
    today = utcnow().date().isoformat()
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    assert len(ids(f"since={today}&until={today}")) == 3
    assert ids(f"since={tomorrow}") == []
    page = client.get(f"{AUDIT}?limit=2", headers=mod).get_json()
    rest = client.get(f"{AUDIT}?limit=2&cursor={page['next_cursor']}", headers=mod).get_json()
    assert len(page["items"]) == 2 and [i["target"]["id"] for i in rest["items"]] == [first.id]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("query, code", [("since=yesterday", "since.invalid"),
                                         ("until=2026-13-01", "until.invalid"),
                                         ("target_id=abc", "target_id.invalid")])
def test_bad_filters_are_422(client, users, token_for, query, code):
    response = client.get(f"{AUDIT}?{query}", headers=token_for(users.moderator))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code


def test_only_moderators_and_admins_read_the_log(client, users, token_for):
    assert client.get(AUDIT).get_json()["error"]["code"] == "auth.required"
    for user in (users.asker, users.staff):
        response = client.get(AUDIT, headers=token_for(user))
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "moderator.required"


def test_entries_are_only_ever_added(app, client, users, token_for):
    thread = make_thread(users.asker)
    mod = token_for(users.moderator)
    _lock(client, mod, thread, "First reason")
    first = client.get(AUDIT, headers=mod).get_json()["items"][0]
    client.post(f"/api/v1/threads/{thread.id}/unlock", headers=mod)
    _lock(client, mod, thread, "Second reason")

    items = client.get(AUDIT, headers=mod).get_json()["items"]
    assert len(items) == 3 and items[-1] == first
    for method in ("DELETE", "PUT", "PATCH"):
        assert client.open(AUDIT, method=method, headers=mod).status_code == 405
        assert client.open(f"{AUDIT}/{first['id']}", method=method,
                           headers=mod).status_code == 404
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]
    assert audit_rules and all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in audit_rules)


def test_endorsements_role_changes_channels_and_replies_are_audited(client, users, token_for):
    thread = make_thread(users.asker)
    answer = make_answer(users.helper, thread)
    staff = token_for(users.staff)
    client.post(f"/api/v1/posts/{answer.id}/endorse", headers=staff)
    client.delete(f"/api/v1/posts/{answer.id}/endorse", headers=staff)
    accounts.set_role(users.admin, users.other, "moderator")
    channel = bridge.add_channel(None, "generic", "partner",
                                 {"secret": "a-long-shared-secret",
                                  "callback_url": "http://127.0.0.1:9/replies"})
    bridge.change_channel(users.admin, "partner", enabled=False)
    inbound = InboundMessage(channel_id=channel.id, external_id="m1", kind="message",
                             sent_at=utcnow(), payload="{}", outcome="linked")
    db.session.add(inbound)
    db.session.flush()
    reply = OutboundMessage(channel_id=channel.id, kind="notice", idempotency_key="notice:x",
                            inbound_id=inbound.id, text="Hi", state="failed", attempts=3,
                            next_attempt_at=utcnow(), last_error="boom", created_at=utcnow())
    db.session.add(reply)
    db.session.commit()
    client.post(f"/api/v1/bridge/outbox/{reply.id}/retry", headers=staff)
    client.post(f"/api/v1/bridge/outbox/{reply.id}/cancel", headers=staff)

    rows = db.session.execute(select(AuditEntry.action, AuditEntry.actor_id,
                                     AuditEntry.target_id, AuditEntry.before, AuditEntry.after)
                              .order_by(AuditEntry.id)).all()
    assert [(r.action, r.actor_id, r.target_id) for r in rows] == [
        ("post.endorse", users.staff.id, answer.id),
        ("post.unendorse", users.staff.id, answer.id),
        ("user.set_role", users.admin.id, users.other.id),
        ("channel.add", None, channel.id),
        ("channel.change", users.admin.id, channel.id),
        ("reply.retry", users.staff.id, reply.id),
        ("reply.cancel", users.staff.id, reply.id),
    ]
    assert rows[2].before == {"role": "member"} and rows[2].after == {"role": "moderator"}
    assert rows[4].before["enabled"] is True and rows[4].after["enabled"] is False
    assert "a-long-shared-secret" not in str(rows[3].after)  # secrets are masked
    assert (rows[5].before, rows[5].after) == ({"state": "failed"}, {"state": "pending"})
    assert rows[6].after == {"state": "cancelled"}


def test_a_refused_action_writes_no_entry(client, users, token_for):
    thread = make_thread(users.asker)
    response = client.post(f"/api/v1/threads/{thread.id}/lock", headers=token_for(users.staff),
                           json={"reason": "Not mine to lock"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_the_staff_audit_page(client, users, token_for):
    thread = make_thread(users.asker)
    _lock(client, token_for(users.moderator), thread, "Needs a break")
    login(client, users.moderator.username)

    page = client.get("/staff/audit")
    filtered = client.get("/staff/audit?action=thread.unlock")
    bad = client.get("/staff/audit?since=soon")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "thread.lock" in text and "Needs a break" in text and users.moderator.username in text
    assert "Needs a break" not in filtered.get_data(as_text=True)
    assert bad.status_code == 422 and "since is a date" in bad.get_data(as_text=True)


def test_members_cannot_open_the_audit_page(client, users):
    login(client, users.other.username)
    assert client.get("/staff/audit").status_code == 403


def test_audit_list_command(runner, client, users, token_for):
    first = make_thread(users.asker)
    second = make_thread(users.asker, title="Another question about billing")
    mod = token_for(users.moderator)
    _lock(client, mod, first, "Locked from the API")
    client.post(f"/api/v1/threads/{first.id}/unlock", headers=mod)
    _lock(client, token_for(users.admin), second, "Admin lock")

    everything = runner.invoke(args=["audit", "list"])
    by_moderator = runner.invoke(args=["audit", "list", "--actor", users.moderator.username,
                                       "--action", "thread.lock"])
    later = runner.invoke(args=["audit", "list", "--since",
                                (utcnow() + timedelta(days=1)).date().isoformat()])
    bad = runner.invoke(args=["audit", "list", "--since", "someday"])

    assert everything.exit_code == 0, everything.output
    lines = everything.output.splitlines()
    assert len(lines) == 3 and "kestrel_admin thread.lock thread" in lines[0]
    assert by_moderator.exit_code == 0
    assert by_moderator.output.splitlines() == [
        line for line in lines if "kestrel_mod thread.lock" in line]
    assert "Locked from the API" in by_moderator.output
    assert later.output.strip() == "No audit entries match."
    assert bad.exit_code != 0 and "since.invalid" in bad.output
