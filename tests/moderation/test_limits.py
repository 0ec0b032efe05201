"""New accounts (issue 15, part C): at most two links and no images in a post, and fewer posts
a minute than established accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Post, Thread
from community.models.base import utcnow
from tests.api.contract import assert_error
from tests.factories import make_thread, make_user

THREE_LINKS = ("See https://a.example.com/1 and [docs](https://b.example.com/2) and "
               "<https://c.example.com/3> for details.")
TWO_LINKS = "See https://a.example.com/1 and [docs](https://b.example.com/2) for details."


def ask(client, headers, body, title="Roaming stopped working abroad"):
    return client.post("/api/v1/threads", headers=headers,
                       json={"title": title, "body": body, "tags": ["roaming"]})


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_new_account_may_post_two_links_but_not_three(client, ctx, token_for, new_accounts):
    newcomer = token_for(make_user("newcomer"))

    refused = ask(client, newcomer, THREE_LINKS)
    assert_error(refused, 422, "body.too_many_links", field="body")
    assert count(Thread) == 0
    assert ask(client, newcomer, TWO_LINKS).status_code == 201


@pytest.mark.parametrize("body", [
    "Look: ![screen](https://img.example/shot.png)",
    'Look: <img src="https://img.example/shot.png" alt="shot">',
], ids=["markdown", "html"])
def test_a_new_account_may_post_no_images(client, ctx, token_for, new_accounts, body):
    refused = ask(client, token_for(make_user("newcomer")), body)

    assert_error(refused, 422, "body.images_not_allowed", field="body")
    assert count(Thread) == 0


def test_links_in_code_do_not_count(client, ctx, token_for, new_accounts):
    body = "My config:\n\n```\nhttps://a.example.com/1 https://b.example.com/2 https://c.example.com/3\n```"
    assert ask(client, token_for(make_user("newcomer")), body).status_code == 201


def test_answers_and_edits_are_limited_too(client, ctx, token_for, new_accounts):
    veteran = make_user("veteran", reputation=50)
    thread = make_thread(veteran)
    newcomer = make_user("newcomer")
    headers = token_for(newcomer)

    answer = client.post(f"/api/v1/threads/{thread.id}/answers", headers=headers,
                         json={"body": THREE_LINKS})
    assert_error(answer, 422, "body.too_many_links", field="body")
    ok = client.post(f"/api/v1/threads/{thread.id}/answers", headers=headers,
                     json={"body": "Restart the phone."})
    assert ok.status_code == 201
    edit = client.patch(f"/api/v1/posts/{ok.get_json()['id']}", headers=headers,
                        json={"body": "Now with ![img](https://img.example/x.png)"})
    assert_error(edit, 422, "body.images_not_allowed", field="body")
    db.session.expire_all()
    assert db.session.get(Post, ok.get_json()["id"]).body_source == "Restart the phone."


@pytest.mark.parametrize("who", ["reputation", "age", "staff"])
def test_established_accounts_and_staff_are_not_limited(client, ctx, token_for, new_accounts,
                                                        who):
    if who == "reputation":
        user = make_user("earned", reputation=10)
    elif who == "age":
        user = make_user("old_timer")
        user.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
    else:
        user = make_user("kestrel_staff", role="staff")

    response = ask(client, token_for(user), THREE_LINKS + " ![x](https://img.example/x.png)")

    assert response.status_code == 201, response.get_json()


def test_just_below_the_reputation_bar_is_still_new(client, ctx, token_for, new_accounts):
    refused = ask(client, token_for(make_user("almost", reputation=9)), THREE_LINKS)
    assert_error(refused, 422, "body.too_many_links", field="body")


def test_new_accounts_post_less_often(client, app, ctx, token_for, new_accounts, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_POST_NEW", "2 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_POST", "5 per minute")
    newcomer = token_for(make_user("newcomer"))
    veteran = token_for(make_user("veteran", reputation=50))

    new_statuses = [ask(client, newcomer, f"Question body {n}", title=f"Question number {n} here")
                    .status_code for n in range(3)]
    old_statuses = [ask(client, veteran, f"Question body {n}", title=f"Veteran question {n} here")
                    .status_code for n in range(3)]

    assert new_statuses == [201, 201, 429]
    assert old_statuses == [201, 201, 201]


def test_the_suite_default_makes_factory_users_established(client, ctx, token_for):
    """tests/conftest.py sets MODERATION_NEW_ACCOUNT_HOURS = 0: no account is new there."""
    assert ask(client, token_for(make_user("newcomer")), THREE_LINKS).status_code == 201
