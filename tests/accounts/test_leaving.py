"""Leaving (issue 17): download my data (GET /api/v1/me/export, the settings page) and delete
my account (DELETE /api/v1/me with the password): posts stay by "a former member", personal
data is erased, linked social identities are unlinked."""

from __future__ import annotations

from sqlalchemy import func, select

from community.extensions import db
from community.models import ApiToken, ExternalIdentity, LoginSession, Notification, Subscription
from community.models.base import utcnow
from community.services import accounts, threads, votes
from tests.bridge.conftest import add_channel
from tests.api.contract import assert_error
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_answer, make_thread


def _count(model, user) -> int:
    return db.session.scalar(select(func.count()).select_from(model)
                             .where(model.user_id == user.id))


def test_export_through_the_api_and_the_page(client, ctx, users, token_for):
    thread = make_thread(users.asker, "Voicemail greeting will not save")
    answer = make_answer(users.helper, thread)
    threads.comment(users.asker, answer, "Thanks, trying it now.")
    votes.cast_vote(users.asker, answer, 1)
    archive = client.get("/api/v1/me/export", headers=token_for(users.asker))
    assert archive.status_code == 200 and "attachment" in archive.headers["Content-Disposition"]
    data = archive.get_json()
    assert data["profile"]["email"] == "asker@example.com"
    assert [p["title"] for p in data["posts"]] == ["Voicemail greeting will not save"]
    assert data["comments"][0]["body"] == "Thanks, trying it now."
    assert data["votes"] == [{"post_id": answer.id, "value": 1,
                              "created_at": data["votes"][0]["created_at"]}]
    assert data["linked_identities"] == []
    assert_error(client.get("/api/v1/me/export"), 401, "auth.required")
    login(client, "asker")
    page = client.get("/settings/export")
    assert page.status_code == 200 and page.get_json()["profile"]["username"] == "asker"


def test_delete_keeps_posts_as_a_former_member_and_erases_the_rest(client, ctx, users,
                                                                     token_for, settle):
    thread = make_thread(users.helper, "Roaming in Dubai does not connect")
    answer = make_answer(users.asker, thread, "Turn on data roaming under Settings.")
    make_answer(users.other, make_thread(users.asker, "Voicemail PIN is not accepted"))
    settle()
    channel = add_channel("generic", "partner", secret="s3cret-s3cret",
                          callback_url="http://127.0.0.1:9/replies")
    shadow = accounts.shadow_user("wa_ada", "partner.ada@bridge.invalid")
    identity = ExternalIdentity(channel_id=channel.id, external_id="ada", handle="@ada",
                                shadow_user_id=shadow.id, linked_user_id=users.asker.id,
                                linked_at=utcnow())
    db.session.add(identity)
    db.session.commit()
    headers = token_for(users.asker)
    assert _count(Notification, users.asker) and _count(Subscription, users.asker)

    assert_error(client.delete("/api/v1/me", headers=headers, json={"password": "not it"}),
                 422, "password.wrong", "password")
    assert_error(client.delete("/api/v1/me", headers=headers, json={}), 422, "password.wrong",
                 "password")
    db.session.refresh(users.asker)
    assert users.asker.deleted_at is None and users.asker.username == "asker"

    assert client.delete("/api/v1/me", headers=headers,
                         json={"password": PASSWORD}).status_code == 204
    db.session.refresh(users.asker)
    asker = users.asker
    assert asker.deleted_at is not None and asker.password_hash is None
    assert "asker" not in asker.email and asker.username == "a former member"
    assert (asker.bio, asker.display_name, asker.website) == ("", "", "")
    for model in (ApiToken, LoginSession, Notification, Subscription):
        assert _count(model, asker) == 0, model
    db.session.refresh(identity)
    assert identity.linked_user_id is None and identity.linked_at is None
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "Turn on data roaming" in page and "a former member" in page
    assert client.get(f"/users/{asker.id}").status_code == 404
    assert client.post("/api/v1/tokens", json={"username": "asker",
                                               "password": PASSWORD}).status_code == 401
    # The name and address are free again.
    assert client.post("/api/v1/users", json={"username": "asker", "email": "asker@example.com",
                                              "password": PASSWORD}).status_code == 201
    assert db.session.get(type(answer), answer.id).author_id == asker.id


def test_delete_from_the_settings_page(client, ctx, users):
    login(client, "asker")
    token = csrf_token(client, "/settings")
    wrong = client.post("/settings/delete", data={"csrf_token": token,
                                                  "delete_password": "nope nope"})
    assert wrong.status_code == 422 and "not your password" in wrong.get_data(as_text=True)
    done = client.post("/settings/delete", data={"csrf_token": token,
                                                 "delete_password": PASSWORD})
    assert done.status_code == 302
    assert client.get("/settings").status_code == 302  # logged out
    db.session.refresh(users.asker)
    assert users.asker.deleted_at is not None
