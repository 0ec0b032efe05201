"""The notifications API: list, unread filter, cursors, mark read, settings, follow (issue 6)."""

from __future__ import annotations

from community.services import notifications
from tests import factories


def _setup(users, settle, answers: int = 3):
    thread = factories.make_thread(users.asker)
    for n in range(answers):
        factories.make_answer(users.helper if n % 2 == 0 else users.other, thread,
                              f"Answer number {n}: try airplane mode.")
    settle()
    return thread


def test_list_page_and_mark_read(client, ctx, users, token_for, settle):
    thread = _setup(users, settle)
    headers = token_for(users.asker)

    first = client.get("/api/v1/notifications?limit=2", headers=headers)
    assert first.status_code == 200
    body = first.get_json()
    assert body["unread_count"] == 3
    assert [item["kind"] for item in body["items"]] == ["answer", "answer"]
    newest = body["items"][0]
    assert newest["thread_id"] == thread.id and newest["read"] is False
    assert newest["actor"]["username"] == "helper"
    assert newest["url"].endswith(f"#post-{newest['post_id']}")
    assert "answered your question" in newest["text"]
    rest = client.get(f"/api/v1/notifications?limit=2&cursor={body['next_cursor']}",
                      headers=headers).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = [item["id"] for item in body["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)

    read = client.post(f"/api/v1/notifications/{ids[0]}/read", headers=headers)
    assert read.status_code == 200 and read.get_json()["read"] is True
    unread = client.get("/api/v1/notifications?unread=true", headers=headers).get_json()
    assert [item["id"] for item in unread["items"]] == ids[1:]
    assert unread["unread_count"] == 2

    everything = client.post("/api/v1/notifications/read", headers=headers).get_json()
    assert everything == {"marked": 2, "unread_count": 0}


def test_nobody_reads_or_marks_someone_elses_notifications(client, ctx, users, token_for, settle):
    _setup(users, settle, answers=1)
    mine = notifications.list_for(users.asker).items[0].id

    response = client.post(f"/api/v1/notifications/{mine}/read", headers=token_for(users.other))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "notification.not_found"
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.post(f"/api/v1/notifications/{mine}/read").status_code == 401
    assert client.get("/api/v1/notifications",
                      headers=token_for(users.other)).get_json()["items"] == []
    assert notifications.unread_count(users.asker) == 1


def test_bad_input_is_a_json_error_not_a_500(client, ctx, users, token_for):
    headers = token_for(users.asker)
    for path, status, code in (("/api/v1/notifications?cursor=nonsense", 400, "cursor.invalid"),
                               ("/api/v1/notifications?limit=0", 400, "limit.invalid"),
                               ("/api/v1/notifications?unread=maybe", 400, "unread.invalid")):
        response = client.get(path, headers=headers)
        assert response.status_code == status, path
        assert response.get_json()["error"]["code"] == code
    assert client.post("/api/v1/notifications/99999999999/read", headers=headers).status_code == 404
    bad = client.put("/api/v1/me/notification-settings", headers=headers, json={"email": "hourly"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "email_mode.invalid"
    assert client.put("/api/v1/me/notification-settings", headers=headers,
                      data="[1,").status_code == 400


def test_email_settings(client, ctx, users, token_for):
    headers = token_for(users.asker)
    assert client.get("/api/v1/me/notification-settings", headers=headers).get_json() == {
        "email": "daily"}
    changed = client.put("/api/v1/me/notification-settings", headers=headers,
                         json={"email": "never"})
    assert changed.get_json() == {"email": "never"}
    assert client.get("/api/v1/me/notification-settings", headers=headers).get_json() == {
        "email": "never"}


def test_follow_and_unfollow_through_the_api(client, ctx, users, token_for, settle):
    thread = factories.make_thread(users.asker)
    settle()
    headers = token_for(users.other)
    path = f"/api/v1/threads/{thread.id}/follow"
    assert client.get(path, headers=headers).get_json() == {"thread_id": thread.id,
                                                            "following": False}
    assert client.put(path, headers=headers).get_json()["following"] is True
    assert client.get(path, headers=headers).get_json()["following"] is True
    factories.make_answer(users.helper, thread)
    settle()
    assert [n.kind for n in notifications.list_for(users.other).items] == ["activity"]
    assert client.delete(path, headers=headers).get_json()["following"] is False
    assert client.put(path).status_code == 401
    assert client.put("/api/v1/threads/424242/follow", headers=headers).status_code == 404
