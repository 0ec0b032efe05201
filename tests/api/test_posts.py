"""JSON API contract: read and edit a post, its revisions, comments, endorsement and votes."""

from __future__ import annotations


import pytest

from community.extensions import db
from community.services import answers
from tests.factories import make_answer, make_thread
from tests.api.contract import POST_KEYS, assert_author, assert_error, parse_time

REVISION_KEYS = {"number", "editor", "title", "tags", "body", "summary", "created_at"}
COMMENT_KEYS = {"id", "post_id", "author", "body", "body_html", "created_at"}


@pytest.fixture
def thread(users):
    return make_thread(users.asker, title="Roaming in Spain", body="No data since Monday.",
                       tags=["roaming"])


@pytest.fixture
def answer(users, thread):
    return make_answer(users.helper, thread, "Turn on *data roaming*.")


def revision_numbers(client, post_id: int) -> list[int]:
    response = client.get(f"/api/v1/posts/{post_id}/revisions")
    assert response.status_code == 200
    return [item["number"] for item in response.get_json()["items"]]


# ---- GET /posts/<id> ------------------------------------------------------------------------

def test_a_post_has_every_documented_key(client, users, thread, answer):
    data = client.get(f"/api/v1/posts/{answer.id}").get_json()

    assert POST_KEYS <= set(data), POST_KEYS - set(data)
    assert data["id"] == answer.id
    assert data["thread_id"] == thread.id
    assert data["kind"] == "answer"
    assert_author(data["author"], users.helper)
    assert data["body"] == "Turn on *data roaming*."
    assert "<em>data roaming</em>" in data["body_html"]
    assert (data["score"], data["accepted"], data["endorsed"]) == (0, False, None)
    assert data["edited_at"] is None
    assert data["comments"] == []
    parse_time(data["created_at"])

    question = client.get(f"/api/v1/posts/{thread.question.id}").get_json()
    assert question["kind"] == "question"


def test_an_unknown_post_is_404(client, ctx):
    assert_error(client.get("/api/v1/posts/4242"), 404, "post.not_found")


def test_a_post_in_a_hidden_thread_is_404_except_for_staff(client, users, thread, answer,
                                                           token_for):
    thread.is_hidden = True
    db.session.commit()
    assert_error(client.get(f"/api/v1/posts/{answer.id}"), 404, "post.not_found")
    assert_error(client.get(f"/api/v1/posts/{answer.id}/revisions"), 404, "post.not_found")
    response = client.get(f"/api/v1/posts/{answer.id}", headers=token_for(users.staff))
    assert response.status_code == 200


# ---- PATCH /posts/<id> and revisions --------------------------------------------------------

def test_the_author_edits_an_answer_and_a_revision_is_kept(client, users, answer, token_for):
    response = client.patch(f"/api/v1/posts/{answer.id}", headers=token_for(users.helper),
                            json={"body": "Turn on data roaming, then restart.",
                                  "summary": "added restart"})

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert POST_KEYS <= set(data)
    assert data["body"] == "Turn on data roaming, then restart."
    assert parse_time(data["edited_at"]) >= parse_time(data["created_at"])

    revisions = client.get(f"/api/v1/posts/{answer.id}/revisions").get_json()
    assert set(revisions) == {"items", "next_cursor"}
    assert revisions["next_cursor"] is None
    newest, original = revisions["items"]
    assert (newest["number"], original["number"]) == (2, 1)  # newest first
    for item in revisions["items"]:
        assert REVISION_KEYS <= set(item), REVISION_KEYS - set(item)
        assert_author(item["editor"], users.helper)
        assert item["title"] is None and item["tags"] is None  # answers have neither
        parse_time(item["created_at"])
    assert newest["body"] == "Turn on data roaming, then restart."
    assert newest["summary"] == "added restart"
    assert original["body"] == "Turn on *data roaming*."


def test_a_question_revision_keeps_the_title_and_tags(client, users, thread, token_for):
    question_id = thread.question.id
    response = client.patch(f"/api/v1/posts/{question_id}", headers=token_for(users.asker),
                            json={"title": "Roaming in Spain and France",
                                  "tags": ["roaming", "france"]})
    assert response.status_code == 200, response.get_json()

    newest, original = client.get(f"/api/v1/posts/{question_id}/revisions").get_json()["items"]
    assert (newest["number"], newest["title"], sorted(newest["tags"])) == (
        2, "Roaming in Spain and France", ["france", "roaming"])
    assert (original["number"], original["title"], original["tags"]) == (
        1, "Roaming in Spain", ["roaming"])
    shown = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert shown["title"] == "Roaming in Spain and France"


def test_every_edit_adds_the_next_revision_number(client, users, answer, token_for):
    headers = token_for(users.helper)
    for n in range(2, 5):
        assert client.patch(f"/api/v1/posts/{answer.id}", headers=headers,
                            json={"body": f"Version {n}"}).status_code == 200
    assert revision_numbers(client, answer.id) == [4, 3, 2, 1]


def test_a_patch_that_changes_nothing_adds_no_revision(client, users, answer, token_for):
    headers = token_for(users.helper)
    for payload in ({}, {"body": "Turn on *data roaming*."},
                    {"body": "  Turn on *data roaming*.\n"}, {"summary": "nothing really"}):
        response = client.patch(f"/api/v1/posts/{answer.id}", headers=headers, json=payload)
        assert response.status_code == 200, (payload, response.get_json())
        assert response.get_json()["edited_at"] is None

    assert revision_numbers(client, answer.id) == [1]


@pytest.mark.parametrize("editor", ["staff", "moderator", "admin"])
def test_staff_edit_anyones_post_and_are_the_revisions_editor(client, users, answer, token_for,
                                                              editor):
    user = getattr(users, editor)
    response = client.patch(f"/api/v1/posts/{answer.id}", headers=token_for(user),
                            json={"body": "Clarified by staff."})
    assert response.status_code == 200, response.get_json()
    newest = client.get(f"/api/v1/posts/{answer.id}/revisions").get_json()["items"][0]
    assert_author(newest["editor"], user)
    assert_author(response.get_json()["author"], users.helper)  # still the helper's answer


def test_a_member_editing_someone_elses_post_is_403(client, users, answer, token_for):
    response = client.patch(f"/api/v1/posts/{answer.id}", headers=token_for(users.other),
                            json={"body": "Vandalised."})
    assert_error(response, 403, "post.not_author")
    assert client.get(f"/api/v1/posts/{answer.id}").get_json()["body"] == "Turn on *data roaming*."
    assert revision_numbers(client, answer.id) == [1]


@pytest.mark.parametrize("payload, code, field", [
    ({"body": ""}, "body.empty", "body"),
    ({"body": "   "}, "body.empty", "body"),
    ({"body": "b" * 30_001}, "body.too_long", "body"),
    ({"body": 5}, "body.type", "body"),
    ({"body": "New", "summary": ["x"]}, "summary.type", "summary"),
    ({"title": "A title for an answer"}, "edit.answer_title", "title"),
    ({"tags": ["roaming"]}, "edit.answer_title", "title"),
    ({"title": 5}, "title.type", "title"),
    ({"tags": [5]}, "tags.type", "tags"),
], ids=["empty-body", "blank-body", "body-30001-chars", "body-not-string", "summary-not-string",
        "title-on-an-answer", "tags-on-an-answer", "title-not-string", "tags-not-strings"])
def test_editing_an_answer_with_a_bad_field_is_422(client, users, answer, token_for, payload,
                                                   code, field):
    response = client.patch(f"/api/v1/posts/{answer.id}", headers=token_for(users.helper),
                            json=payload)
    assert_error(response, 422, code, field=field)
    assert revision_numbers(client, answer.id) == [1]


def test_editing_a_post_errors(client, users, answer, token_for):
    headers = token_for(users.helper)
    url = f"/api/v1/posts/{answer.id}"
    assert_error(client.patch(url, json={"body": "New"}), 401, "auth.required")
    assert_error(client.patch(url, json={"body": "New"}, headers={"Authorization": "Bearer x"}),
                 401, "auth.invalid_token")
    assert_error(client.patch(url, headers=headers, data="{", content_type="application/json"),
                 400, "request.invalid_json")
    assert_error(client.patch(url, headers=headers, data='["body"]',
                              content_type="application/json"), 400, "request.invalid_json")
    assert_error(client.patch(url, headers=headers, json={"body": "b" * (1024 * 1024)}),
                 413, "request.too_large")
    assert_error(client.patch("/api/v1/posts/4242", headers=headers, json={"body": "New"}),
                 404, "post.not_found")


def test_revisions_of_an_unknown_post_are_404(client, ctx):
    assert_error(client.get("/api/v1/posts/4242/revisions"), 404, "post.not_found")


# ---- POST /posts/<id>/comments --------------------------------------------------------------

def test_commenting_answers_201_with_the_comment(client, users, thread, answer, token_for):
    response = client.post(f"/api/v1/posts/{answer.id}/comments", headers=token_for(users.asker),
                           json={"body": "Did that, still **nothing**."})

    assert response.status_code == 201, response.get_json()
    comment = response.get_json()
    assert COMMENT_KEYS <= set(comment), COMMENT_KEYS - set(comment)
    assert comment["post_id"] == answer.id
    assert_author(comment["author"], users.asker)
    assert comment["body"] == "Did that, still **nothing**."
    assert "<strong>nothing</strong>" in comment["body_html"]
    parse_time(comment["created_at"])
    shown = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert [c["id"] for c in shown["answers"][0]["comments"]] == [comment["id"]]
    assert shown["last_activity_at"] == comment["created_at"]
    assert client.get(f"/api/v1/posts/{answer.id}").get_json()["comments"] == [comment]


def test_comments_may_go_on_the_question_too(client, users, thread, token_for):
    response = client.post(f"/api/v1/posts/{thread.question.id}/comments",
                           headers=token_for(users.helper), json={"body": "Which phone?"})
    assert response.status_code == 201
    assert response.get_json()["post_id"] == thread.question.id


@pytest.mark.parametrize("payload, status, code, field", [
    ({}, 422, "body.required", "body"),
    ({"body": ""}, 422, "body.empty", "body"),
    ({"body": "c" * 2_001}, 422, "body.too_long", "body"),
    ({"body": ["c"]}, 422, "body.type", "body"),
    ({"body": "c" * (1024 * 1024)}, 413, "request.too_large", None),
], ids=["no-body", "empty-body", "body-2001-chars", "body-not-string", "over-one-mebibyte"])
def test_commenting_with_a_bad_body(client, users, answer, token_for, payload, status, code, field):
    response = client.post(f"/api/v1/posts/{answer.id}/comments", headers=token_for(users.asker),
                           json=payload)
    assert_error(response, status, code, field=field)


def test_a_comment_of_exactly_2000_characters_is_allowed(client, users, answer, token_for):
    response = client.post(f"/api/v1/posts/{answer.id}/comments", headers=token_for(users.asker),
                           json={"body": "c" * 2_000})
    assert response.status_code == 201


def test_commenting_errors(client, users, answer, token_for):
    headers = token_for(users.asker)
    url = f"/api/v1/posts/{answer.id}/comments"
    assert_error(client.post(url, json={"body": "Hi"}), 401, "auth.required")
    assert_error(client.post(url, headers=headers, data="nope", content_type="application/json"),
                 400, "request.invalid_json")
    assert_error(client.post("/api/v1/posts/4242/comments", headers=headers, json={"body": "Hi"}),
                 404, "post.not_found")


def test_commenting_is_rate_limited_with_429(app, client, users, answer, token_for, monkeypatch):
    headers = token_for(users.asker)
    monkeypatch.setitem(app.config, "RATELIMIT_POST", "2 per minute")
    for n in range(2):
        assert client.post(f"/api/v1/posts/{answer.id}/comments", headers=headers,
                           json={"body": f"Comment {n}"}).status_code == 201

    response = client.post(f"/api/v1/posts/{answer.id}/comments", headers=headers,
                           json={"body": "One more"})
    assert_error(response, 429, "rate_limited")


# ---- POST/DELETE /posts/<id>/endorse --------------------------------------------------------

def test_staff_endorse_and_withdraw(client, users, thread, answer, token_for):
    headers = token_for(users.staff)

    response = client.post(f"/api/v1/posts/{answer.id}/endorse", headers=headers)

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert POST_KEYS <= set(data)
    assert_author(data["endorsed"]["by"], users.staff)
    parse_time(data["endorsed"]["at"])
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["best_answer_id"] == answer.id
    # Endorsing twice changes nothing.
    again = client.post(f"/api/v1/posts/{answer.id}/endorse", headers=token_for(users.admin))
    assert again.status_code == 200
    assert_author(again.get_json()["endorsed"]["by"], users.staff)

    response = client.delete(f"/api/v1/posts/{answer.id}/endorse", headers=headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["endorsed"] is None
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["best_answer_id"] is None
    assert client.delete(f"/api/v1/posts/{answer.id}/endorse", headers=headers).status_code == 200


def test_members_may_not_endorse_or_withdraw(client, users, answer, token_for):
    headers = token_for(users.asker)
    assert_error(client.post(f"/api/v1/posts/{answer.id}/endorse", headers=headers),
                 403, "staff.required")
    answers.endorse(users.staff, answer)
    assert_error(client.delete(f"/api/v1/posts/{answer.id}/endorse", headers=headers),
                 403, "staff.required")
    assert client.get(f"/api/v1/posts/{answer.id}").get_json()["endorsed"] is not None


def test_staff_may_not_endorse_their_own_answer(client, users, thread, token_for):
    own = make_answer(users.staff, thread, "Staff here: reset the network settings.")
    response = client.post(f"/api/v1/posts/{own.id}/endorse", headers=token_for(users.staff))
    assert_error(response, 403, "endorse.own_post")


def test_endorsing_a_question_is_422(client, users, thread, token_for):
    response = client.post(f"/api/v1/posts/{thread.question.id}/endorse",
                           headers=token_for(users.staff))
    assert_error(response, 422, "endorse.not_an_answer", field="post_id")


def test_endorsing_errors(client, users, answer, token_for):
    headers = token_for(users.staff)
    for method in ("POST", "DELETE"):
        assert_error(client.open(f"/api/v1/posts/{answer.id}/endorse", method=method),
                     401, "auth.required")
        assert_error(client.open("/api/v1/posts/4242/endorse", method=method, headers=headers),
                     404, "post.not_found")


# ---- PUT /posts/<id>/vote -------------------------------------------------------------------

def test_voting_up_changing_and_retracting(client, users, thread, answer, token_for):
    headers = token_for(users.staff)  # staff may downvote without the reputation for it
    url = f"/api/v1/posts/{answer.id}/vote"

    response = client.put(url, headers=headers, json={"value": 1})

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert {"post_id", "thread_id", "value", "score", "author"} <= set(data)
    assert (data["post_id"], data["thread_id"], data["value"], data["score"]) == (
        answer.id, thread.id, 1, 1)
    assert_author(data["author"], users.helper)
    again = client.put(url, headers=headers, json={"value": 1})  # the same vote again: no change
    assert again.get_json()["score"] == 1
    assert client.put(url, headers=headers, json={"value": -1}).get_json()["score"] == -1
    assert client.put(url, headers=headers, json={"value": 0}).get_json()["score"] == 0
    assert client.get(f"/api/v1/posts/{answer.id}").get_json()["score"] == 0


def test_a_vote_on_the_question_moves_the_threads_score(client, users, thread, token_for):
    response = client.put(f"/api/v1/posts/{thread.question.id}/vote",
                          headers=token_for(users.helper), json={"value": 1})
    assert response.status_code == 200, response.get_json()
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["score"] == 1


@pytest.mark.parametrize("payload, code", [
    ({}, "value.required"),
    ({"value": "1"}, "value.type"),
    ({"value": True}, "value.type"),
    ({"value": 1.0}, "value.type"),
    ({"value": 2}, "vote.invalid"),
    ({"value": -2}, "vote.invalid"),
], ids=["missing", "string", "boolean", "float", "two", "minus-two"])
def test_a_vote_that_is_not_1_0_or_minus_1_is_422(client, users, answer, token_for, payload, code):
    response = client.put(f"/api/v1/posts/{answer.id}/vote", headers=token_for(users.asker),
                          json=payload)
    assert_error(response, 422, code, field="value")


def test_voting_refusals(client, users, thread, answer, token_for):
    url = f"/api/v1/posts/{answer.id}/vote"
    assert_error(client.put(url, headers=token_for(users.helper), json={"value": 1}),
                 403, "vote.own_post")
    assert_error(client.put(url, headers=token_for(users.asker), json={"value": -1}),
                 403, "vote.downvote_reputation")
    thread.is_locked = True
    db.session.commit()
    assert_error(client.put(url, headers=token_for(users.other), json={"value": 1}),
                 403, "thread.locked")
    assert client.get(f"/api/v1/posts/{answer.id}").get_json()["score"] == 0


def test_voting_errors(client, users, answer, token_for):
    headers = token_for(users.asker)
    url = f"/api/v1/posts/{answer.id}/vote"
    assert_error(client.put(url, json={"value": 1}), 401, "auth.required")
    assert_error(client.put(url, headers=headers, data="1", content_type="application/json"),
                 400, "request.invalid_json")
    assert_error(client.put("/api/v1/posts/4242/vote", headers=headers, json={"value": 1}),
                 404, "post.not_found")
    assert_error(client.put(url, headers=headers, json={"value": 1, "pad": "x" * (1024 * 1024)}),
                 413, "request.too_large")
