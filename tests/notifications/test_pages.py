"""Notification pages: the bell, the list, mark read, email settings, the follow button."""

from __future__ import annotations

import re

from community.services import notifications
from tests import factories
from tests.conftest import csrf_token, login


def test_bell_list_and_mark_read(client, ctx, users, settle):
    thread = factories.make_thread(users.asker, "Voicemail PIN is not accepted")
    factories.make_answer(users.helper, thread)
    factories.make_answer(users.other, thread)
    settle()
    login(client, "asker")

    page = client.get("/notifications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'data-unread-count>2</span>', html)
    assert html.count('class="notification unread"') == 2
    assert "helper answered your question “Voicemail PIN is not accepted”" in html

    newest = notifications.list_for(users.asker).items[0]
    token = csrf_token(client, "/notifications")
    opened = client.post(f"/notifications/{newest.id}/read",
                         data={"csrf_token": token, "open": "1"})
    assert opened.status_code == 302 and opened.location.endswith(f"#post-{newest.post_id}")
    assert notifications.unread_count(users.asker) == 1

    assert client.post("/notifications/read", data={}).status_code == 400  # no CSRF token
    assert notifications.unread_count(users.asker) == 1
    done = client.post("/notifications/read", data={"csrf_token": token})
    assert done.status_code == 302
    assert notifications.unread_count(users.asker) == 0
    assert 'data-unread-count hidden>0</span>' in client.get("/").get_data(as_text=True)


def test_others_notifications_cannot_be_marked(client, ctx, users, settle):
    thread = factories.make_thread(users.asker)
    factories.make_answer(users.helper, thread)
    settle()
    theirs = notifications.list_for(users.asker).items[0].id
    login(client, "other")
    response = client.post(f"/notifications/{theirs}/read",
                           data={"csrf_token": csrf_token(client, "/notifications")})
    assert response.status_code == 404
    assert notifications.unread_count(users.asker) == 1


def test_visitors_are_sent_to_log_in(client, ctx):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/login" in response.location


def test_email_setting_form(client, ctx, users):
    login(client, "asker")
    token = csrf_token(client, "/notifications")
    assert client.post("/notifications/settings",
                       data={"csrf_token": token, "email": "hourly"}).status_code == 422
    response = client.post("/notifications/settings",
                           data={"csrf_token": token, "email": "immediately"})
    assert response.status_code == 302
    ctx_user = users.asker
    from community.extensions import db
    db.session.refresh(ctx_user)
    assert ctx_user.email_notifications == "immediately"


def test_follow_button(client, ctx, users, settle):
    thread = factories.make_thread(users.asker)
    settle()
    login(client, "other")
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert '<button type="submit" class="button small" aria-pressed="false">Follow</button>' in page
    token = csrf_token(client, f"/threads/{thread.id}")
    assert client.post(f"/threads/{thread.id}/follow", data={"csrf_token": token,
                                                             "follow": "1"}).status_code == 302
    assert notifications.is_following(users.other, thread)
    assert 'aria-pressed="true">Following</button>' in client.get(
        f"/threads/{thread.id}").get_data(as_text=True)
    client.post(f"/threads/{thread.id}/follow", data={"csrf_token": token, "follow": "0"})
    assert not notifications.is_following(users.other, thread)
