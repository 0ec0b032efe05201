"""The moderation queue (issue 15, part A): the API list and /staff/moderation, who may read
and act on it, its order and cursors, the author's history, and its live room."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import Flag
from community.services import threads
from tests.api.contract import assert_error
from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread

QUEUE = "/api/v1/moderation/flags"


@pytest.fixture
def flagged(users, client, token_for):
    """Three flagged targets, oldest first: an answer (2 flags), a comment, another answer."""
    thread = make_thread(users.asker, "Bill shows a charge I never made", "Twice this month.")
    first = make_answer(users.helper, thread, "Visit cheap-credit.example for a refund.")
    comment = threads.comment(users.helper, thread.question, "Same scam link here.")
    second = make_answer(users.other, thread, "Ask billing for an itemised bill.")
    for who, path, reason in ((users.other, f"/posts/{first.id}", "spam"),
                              (users.asker, f"/comments/{comment.id}", "abusive"),
                              (users.asker, f"/posts/{first.id}", "abusive"),
                              (users.helper, f"/posts/{second.id}", "off_topic")):
        response = client.post(f"/api/v1{path}/flags", headers=token_for(who),
                               json={"reason": reason})
        assert response.status_code == 201, response.get_json()
    return first, comment, second


@pytest.mark.parametrize("role, status, code", [
    ("anonymous", 401, "auth.required"), ("asker", 403, "staff.required"),
    ("other", 403, "staff.required"), ("staff", 200, None), ("moderator", 200, None),
    ("admin", 200, None)])
def test_who_may_read_the_queue(client, users, flagged, token_for, role, status, code):
    headers = {} if role == "anonymous" else token_for(getattr(users, role))

    response = client.get(QUEUE, headers=headers)

    if code:
        assert_error(response, status, code)
    else:
        assert response.status_code == 200 and len(response.get_json()["items"]) == 3


def test_one_item_per_target_oldest_first_with_reasons_flaggers_and_history(
        client, users, flagged, token_for):
    first, comment, second = flagged
    headers = token_for(users.staff)

    page = client.get(f"{QUEUE}?limit=2", headers=headers).get_json()
    rest = client.get(f"{QUEUE}?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()

    items = page["items"] + rest["items"]
    assert [(i["target"]["kind"], i["target"]["id"]) for i in items] == [
        ("post", first.id), ("comment", comment.id), ("post", second.id)]
    assert rest["next_cursor"] is None
    top = items[0]
    assert top["reasons"] == {"spam": 1, "abusive": 1} and top["flag_count"] == 2
    assert [f["flagger"]["username"] for f in top["flags"]] == ["other", "asker"]
    assert top["target"]["body"] == "Visit cheap-credit.example for a refund."
    assert top["target"]["author"]["username"] == "helper"
    assert top["author_history"] == {"agreed_flags": 0, "suspensions": 0,
                                     "suspended_until": None}


def test_paging_one_item_at_a_time_lists_every_target_once_in_order_of_its_first_flag(
        client, users, token_for):
    thread = make_thread(users.asker, "Bill shows a charge I never made", "Twice this month.")
    answers = [make_answer(users.helper, thread, f"Reply number {n}.") for n in range(10)]
    for who in (users.other, users.asker):  # each answer's flags lie ten flags apart
        for answer in answers:
            response = client.post(f"/api/v1/posts/{answer.id}/flags", headers=token_for(who),
                                   json={"reason": "spam"})
            assert response.status_code == 201
    headers, seen, cursor = token_for(users.staff), [], ""
    while True:
        page = client.get(f"{QUEUE}?limit=1{cursor}", headers=headers).get_json()
        seen += [(item["target"]["id"], item["flag_count"]) for item in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == [(answer.id, 2) for answer in answers]


def test_resolving_moves_the_item_and_counts_in_the_authors_history(client, users, flagged,
                                                                    token_for):
    first, comment, _ = flagged
    headers = token_for(users.moderator)
    item_id = client.get(QUEUE, headers=headers).get_json()["items"][0]["id"]

    client.post(f"{QUEUE}/{item_id}/resolve", headers=headers, json={"outcome": "agreed"})

    open_items = client.get(QUEUE, headers=headers).get_json()["items"]
    assert [i["target"]["id"] for i in open_items][:1] == [comment.id]
    assert open_items[0]["author_history"]["agreed_flags"] == 2  # helper's two agreed flags
    resolved = client.get(f"{QUEUE}?status=resolved", headers=headers).get_json()["items"]
    assert [(i["target"]["id"], i["outcome"]) for i in resolved] == [(first.id, "agreed")]


@pytest.mark.parametrize("query, status, code, field", [
    ("status=closed", 422, "status.invalid", "status"),
    ("cursor=nonsense", 400, "cursor.invalid", None), ("limit=0", 400, "limit.invalid", None)])
def test_bad_queue_arguments_are_errors_not_500s(client, users, flagged, token_for, query,
                                                 status, code, field):
    assert_error(client.get(f"{QUEUE}?{query}", headers=token_for(users.staff)), status, code,
                 field)


def test_resolving_an_unknown_flag_is_404(client, users, token_for):
    response = client.post(f"{QUEUE}/424242/resolve", headers=token_for(users.moderator),
                           json={"outcome": "agreed"})
    assert_error(response, 404, "flag.not_found")


def test_the_queue_page_lets_moderators_decide_and_staff_read(app, client, users, flagged):
    first, _, _ = flagged
    reader = app.test_client()
    login(reader, "kestrel_staff")
    page = reader.get("/staff/moderation").get_data(as_text=True)
    assert "Visit cheap-credit.example for a refund." in page and "spam × 1" in page
    assert "Agree and hide" not in page  # staff read, moderators act
    member = app.test_client()
    login(member, "other")
    assert member.get("/staff/moderation").status_code == 403
    login(client, "kestrel_mod")
    page = client.get("/staff/moderation").get_data(as_text=True)
    assert "Agree and hide" in page
    item_id = db.session.scalar(select(Flag.id).where(Flag.post_id == first.id).order_by(Flag.id))

    response = client.post(f"/staff/moderation/flags/{item_id}/resolve", data={
        "csrf_token": csrf_token(client, "/staff/moderation"), "outcome": "agreed+hide",
        "note": "Scam link."})

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(first), first.id).is_hidden
    assert {f.outcome for f in db.session.scalars(select(Flag).where(Flag.post_id == first.id))} \
        == {"agreed"}
    assert "cheap-credit" not in client.get("/staff/moderation").get_data(as_text=True)


def test_the_moderation_room_hears_new_flags_and_decisions(users, connect, client, token_for):
    thread = make_thread(users.asker, "Top-up vanished from my account", "Gone overnight.")
    answer = make_answer(users.helper, thread, "Message me privately for a fix.")
    token = token_for(users.moderator)["Authorization"].split(" ", 1)[1]
    moderator = connect(token=token)
    assert moderator.join(room="moderation") == {"ok": True, "rooms": ["moderation"]}
    member = connect(token=token_for(users.other)["Authorization"].split(" ", 1)[1])
    assert member.join(room="moderation")["error"]["code"] == "staff.required"

    flag_id = client.post(f"/api/v1/posts/{answer.id}/flags", headers=token_for(users.other),
                          json={"reason": "spam"}).get_json()["id"]
    assert moderator.wait_for("post.flagged", flag_id=flag_id)["target_id"] == answer.id
    client.post(f"{QUEUE}/{flag_id}/resolve", headers=token_for(users.moderator),
                json={"outcome": "dismissed"})

    assert moderator.wait_for("flag.resolved", outcome="dismissed")["flag_ids"] == [flag_id]
    assert not [e for e in member.events() if e[0] in ("post.flagged", "flag.resolved")]

