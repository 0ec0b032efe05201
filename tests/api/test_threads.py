"""JSON API contract: list, create, read and edit threads, answer them, accept an answer."""

from __future__ import annotations

import base64
import json
import re

import pytest

from community.extensions import db
from community.services import answers, threads, votes
from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread
from tests.api.contract import POST_KEYS, assert_author, assert_error, parse_time

THREAD_KEYS = {"id", "title", "url", "tags", "status", "score", "answer_count",
               "accepted_answer_id", "author", "created_at", "last_activity_at", "source"}
SORTS = ("active", "newest", "votes")
STATUSES = (None, "unanswered", "answered", "solved")


def assert_thread(item: dict) -> None:
    """Every key DESIGN.md promises for a thread, with the right types."""
    assert THREAD_KEYS <= set(item), THREAD_KEYS - set(item)
    assert isinstance(item["id"], int)
    assert isinstance(item["title"], str) and item["title"]
    assert re.match(rf"^http://localhost/threads/{item['id']}(/|$)", item["url"]), item["url"]
    assert isinstance(item["tags"], list) and all(isinstance(t, str) for t in item["tags"])
    assert item["status"] in ("unanswered", "answered", "solved")
    assert isinstance(item["score"], int)
    assert isinstance(item["answer_count"], int)
    assert item["accepted_answer_id"] is None or isinstance(item["accepted_answer_id"], int)
    assert {"id", "username", "rank"} <= set(item["author"])
    parse_time(item["created_at"])
    assert parse_time(item["last_activity_at"]) >= parse_time(item["created_at"])
    assert item["source"] is None or {"channel", "external_url"} <= set(item["source"])


def assert_post(item: dict) -> None:
    assert POST_KEYS <= set(item), POST_KEYS - set(item)
    assert item["kind"] in ("question", "answer")
    assert isinstance(item["score"], int)
    assert isinstance(item["accepted"], bool)
    assert item["endorsed"] is None or {"by", "at"} <= set(item["endorsed"])
    parse_time(item["created_at"])
    assert item["edited_at"] is None or parse_time(item["edited_at"])
    assert isinstance(item["comments"], list)


def ask_payload(**changes) -> dict:
    return {"title": "Roaming stopped working in Spain", "body": "Since Monday, no data.",
            "tags": ["roaming", "spain"], **changes}


@pytest.fixture
def asker_headers(users, token_for):
    return token_for(users.asker)


# ---- POST /threads --------------------------------------------------------------------------

def test_asking_answers_201_with_the_full_thread(client, users, asker_headers):
    response = client.post("/api/v1/threads", headers=asker_headers, json=ask_payload(
        title="  Roaming   stopped working in Spain ", body="Since **Monday**, no data.",
        tags=["Spain", "roaming", "spain"]))

    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert_thread(data)
    assert data["title"] == "Roaming stopped working in Spain"  # whitespace collapsed
    assert sorted(data["tags"]) == ["roaming", "spain"]  # lower-cased, de-duplicated
    assert data["status"] == "unanswered"
    assert data["score"] == 0
    assert data["answer_count"] == 0
    assert data["accepted_answer_id"] is None
    assert data["best_answer_id"] is None
    assert data["source"] is None
    assert_author(data["author"], users.asker)
    assert data["created_at"] == data["last_activity_at"]
    question = data["question"]
    assert_post(question)
    assert question["kind"] == "question"
    assert question["thread_id"] == data["id"]
    assert question["body"] == "Since **Monday**, no data."
    assert "<strong>Monday</strong>" in question["body_html"]
    assert question["accepted"] is False and question["endorsed"] is None
    assert data["answers"] == []

    # The thread is now readable by anyone, exactly as it was returned.
    assert client.get(f"/api/v1/threads/{data['id']}").get_json() == data


def test_tags_may_be_one_comma_or_space_separated_string(client, users, asker_headers):
    response = client.post("/api/v1/threads", headers=asker_headers,
                           json=ask_payload(tags="billing, roaming esim"))
    assert response.status_code == 201
    assert sorted(response.get_json()["tags"]) == ["billing", "esim", "roaming"]


def test_the_limits_themselves_are_allowed(client, users, asker_headers):
    response = client.post("/api/v1/threads", headers=asker_headers, json=ask_payload(
        title="T" * 8, body="b" * 30_000, tags=["a", "b", "c", "d", "t" * 35]))
    assert response.status_code == 201, response.get_json()
    response = client.post("/api/v1/threads", headers=asker_headers,
                           json=ask_payload(title="T" * 200))
    assert response.status_code == 201, response.get_json()


INVALID_THREAD_FIELDS = [
    ({"title": "Roaming"}, "title.too_short", "title"),
    ({"title": "        x       "}, "title.too_short", "title"),
    ({"title": "T" * 201}, "title.too_long", "title"),
    ({"body": ""}, "body.empty", "body"),
    ({"body": " \n\t "}, "body.empty", "body"),
    ({"body": "b" * 30_001}, "body.too_long", "body"),
    ({"tags": []}, "tags.missing", "tags"),
    ({"tags": ""}, "tags.missing", "tags"),
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags.too_many", "tags"),
    ({"tags": ["no spaces allowed"]}, "tags.invalid", "tags"),
    ({"tags": ["#hash"]}, "tags.invalid", "tags"),
    ({"tags": ["t" * 36]}, "tags.invalid", "tags"),
    ({"tags": ["<script>"]}, "tags.invalid", "tags"),
    ({"title": 12345678}, "title.type", "title"),
    ({"body": ["a list"]}, "body.type", "body"),
    ({"tags": [1, 2]}, "tags.type", "tags"),
    ({"tags": {"roaming": True}}, "tags.type", "tags"),
]
INVALID_THREAD_IDS = ["title-7-chars", "title-only-spaces", "title-201-chars", "body-empty",
                      "body-whitespace", "body-30001-chars", "no-tags", "empty-tag-string",
                      "six-tags", "tag-with-spaces", "tag-leading-hash", "tag-36-chars",
                      "tag-markup", "title-not-string", "body-not-string", "tags-not-strings",
                      "tags-an-object"]


@pytest.mark.parametrize("changes, code, field", INVALID_THREAD_FIELDS, ids=INVALID_THREAD_IDS)
def test_asking_with_a_bad_field_is_422(client, users, asker_headers, changes, code, field):
    response = client.post("/api/v1/threads", headers=asker_headers, json=ask_payload(**changes))
    assert_error(response, 422, code, field=field)


@pytest.mark.parametrize("missing", ["title", "body", "tags"])
def test_asking_without_a_required_field_is_422(client, users, asker_headers, missing):
    payload = ask_payload()
    del payload[missing]
    response = client.post("/api/v1/threads", headers=asker_headers, json=payload)
    assert_error(response, 422, f"{missing}.required", field=missing)


@pytest.mark.parametrize("data", ["{not json", "", "[]", '"text"', "null", "[" * 100_000],
                         ids=["broken-json", "empty", "array", "string", "null", "deeply-nested"])
def test_asking_with_a_body_that_is_not_a_json_object_is_400(client, users, asker_headers, data):
    response = client.post("/api/v1/threads", headers=asker_headers, data=data,
                           content_type="application/json")
    assert_error(response, 400, "request.invalid_json")


def test_asking_with_a_body_over_one_mebibyte_is_413(client, users, asker_headers):
    response = client.post("/api/v1/threads", headers=asker_headers,
                           json=ask_payload(body="b" * (1024 * 1024)))
    assert_error(response, 413, "request.too_large")


def test_asking_without_a_token_is_401(client, users):
    assert_error(client.post("/api/v1/threads", json=ask_payload()), 401, "auth.required")


def test_asking_with_a_bad_token_is_401(client, users):
    response = client.post("/api/v1/threads", json=ask_payload(),
                           headers={"Authorization": "Bearer cm_forged"})
    assert_error(response, 401, "auth.invalid_token")


def test_asking_is_rate_limited_with_429(app, client, users, asker_headers, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_POST", "2 per minute")
    for n in range(2):
        response = client.post("/api/v1/threads", headers=asker_headers,
                               json=ask_payload(title=f"Roaming question number {n}"))
        assert response.status_code == 201

    response = client.post("/api/v1/threads", headers=asker_headers, json=ask_payload())
    assert_error(response, 429, "rate_limited")


# ---- session authentication on the API ------------------------------------------------------

def test_a_browser_session_must_send_the_csrf_header_to_write(client, users):
    login(client, "asker")

    response = client.post("/api/v1/threads", json=ask_payload())

    assert_error(response, 400, "csrf.invalid")
    assert client.get("/api/v1/threads").get_json()["items"] == []


def test_a_browser_session_with_the_csrf_header_may_write(client, users):
    login(client, "asker")
    token = csrf_token(client, "/ask")

    response = client.post("/api/v1/threads", json=ask_payload(), headers={"X-CSRFToken": token})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["author"]["username"] == "asker"


def test_a_browser_session_with_a_wrong_csrf_header_is_refused(client, users):
    login(client, "asker")
    response = client.post("/api/v1/threads", json=ask_payload(), headers={"X-CSRFToken": "forged"})
    assert_error(response, 400, "csrf.invalid")


# ---- GET /threads/<id> ----------------------------------------------------------------------

def test_a_thread_shows_its_question_answers_endorsements_and_comments(client, users, token_for):
    thread = make_thread(users.asker, title="Bill charged twice this month")
    first = make_answer(users.helper, thread, "Call billing.")
    second = make_answer(users.other, thread, "Check the app under *Payments*.")
    votes.cast_vote(users.asker, second, 1)
    answers.endorse(users.staff, first)
    threads.comment(users.asker, thread.question, "It happened in May too.")
    threads.comment(users.staff, first, "Billing is open 9 to 5.")

    data = client.get(f"/api/v1/threads/{thread.id}").get_json()

    assert_thread(data)
    assert data["status"] == "answered"
    assert data["answer_count"] == 2
    assert data["accepted_answer_id"] is None
    assert data["best_answer_id"] == first.id  # no accepted answer: the endorsed one
    assert [c["body"] for c in data["question"]["comments"]] == ["It happened in May too."]
    assert [a["id"] for a in data["answers"]] == [second.id, first.id]  # higher score first
    by_id = {a["id"]: a for a in data["answers"]}
    for item in data["answers"]:
        assert_post(item)
        assert item["kind"] == "answer" and item["thread_id"] == thread.id
    assert by_id[second.id]["score"] == 1
    assert "<em>Payments</em>" in by_id[second.id]["body_html"]
    assert by_id[first.id]["endorsed"]["by"]["username"] == "kestrel_staff"
    parse_time(by_id[first.id]["endorsed"]["at"])
    assert by_id[second.id]["endorsed"] is None
    comment = by_id[first.id]["comments"][0]
    assert {"id", "post_id", "author", "body", "body_html", "created_at"} <= set(comment)
    assert comment["post_id"] == first.id
    assert_author(comment["author"], users.staff)

    answers.accept(users.asker, thread, second)
    data = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert data["best_answer_id"] == second.id
    assert data["accepted_answer_id"] == second.id


def test_an_unknown_thread_is_404(client, ctx):
    assert_error(client.get("/api/v1/threads/4242"), 404, "thread.not_found")


def test_a_hidden_thread_is_404_except_for_staff_and_its_asker(client, users, token_for):
    thread = make_thread(users.asker)
    thread.is_hidden, thread.hidden_reason = True, "Spam"
    db.session.commit()

    assert_error(client.get(f"/api/v1/threads/{thread.id}"), 404, "thread.not_found")
    assert_error(client.get(f"/api/v1/threads/{thread.id}", headers=token_for(users.other)),
                 404, "thread.not_found")
    # Its asker still reads it, with the moderator's reason (issue 15).
    mine = client.get(f"/api/v1/threads/{thread.id}", headers=token_for(users.asker))
    assert mine.status_code == 200 and mine.get_json()["hidden"] == {"reason": "Spam"}
    assert client.get("/api/v1/threads").get_json()["items"] == []
    staff = token_for(users.moderator)
    assert client.get(f"/api/v1/threads/{thread.id}", headers=staff).status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/threads/{id}"),
    ("PATCH", "/api/v1/threads/{id}"),
    ("POST", "/api/v1/threads/{id}/answers"),
    ("POST", "/api/v1/threads/{id}/accept"),
    ("DELETE", "/api/v1/threads/{id}/accept"),
    ("GET", "/api/v1/posts/{id}"),
    ("PATCH", "/api/v1/posts/{id}"),
    ("GET", "/api/v1/posts/{id}/revisions"),
    ("POST", "/api/v1/posts/{id}/comments"),
    ("POST", "/api/v1/posts/{id}/endorse"),
], ids=lambda value: value if value in ("GET", "PATCH", "POST", "DELETE") else value[8:])
def test_an_id_too_large_for_the_database_is_404_not_500(client, users, asker_headers, method,
                                                         path):
    response = client.open(path.format(id=2**64), method=method, headers=asker_headers,
                           json={"body": "An answer", "post_id": 1})
    assert response.status_code == 404, response.get_data(as_text=True)
    assert set(response.get_json()["error"]) == {"code", "message"}


# ---- PATCH /threads/<id> --------------------------------------------------------------------

def test_the_asker_edits_title_tags_and_body(client, users, asker_headers):
    thread = make_thread(users.asker, title="Roaming in Spain", tags=["roaming"])

    response = client.patch(f"/api/v1/threads/{thread.id}", headers=asker_headers, json={
        "title": "Roaming in Spain and Portugal", "tags": ["roaming", "portugal"],
        "body": "Both countries, since Monday.", "summary": "more detail"})

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert_thread(data)
    assert data["title"] == "Roaming in Spain and Portugal"
    assert sorted(data["tags"]) == ["portugal", "roaming"]
    assert data["question"]["body"] == "Both countries, since Monday."
    assert data["question"]["edited_at"] is not None
    revisions = client.get(f"/api/v1/posts/{thread.question.id}/revisions").get_json()["items"]
    assert [r["number"] for r in revisions] == [2, 1]
    assert revisions[0]["title"] == "Roaming in Spain and Portugal"
    assert revisions[0]["summary"] == "more detail"
    assert revisions[1]["title"] == "Roaming in Spain"


def test_a_patch_that_changes_nothing_keeps_no_revision(client, users, asker_headers):
    thread = make_thread(users.asker, title="Roaming in Spain", body="No data.", tags=["roaming"])
    before = client.get(f"/api/v1/threads/{thread.id}").get_json()

    for payload in ({}, {"title": " Roaming  in Spain "}, {"body": "No data.\n"},
                    {"tags": ["Roaming"]}, {"tags": "roaming"}):
        response = client.patch(f"/api/v1/threads/{thread.id}", headers=asker_headers, json=payload)
        assert response.status_code == 200, (payload, response.get_json())

    revisions = client.get(f"/api/v1/posts/{thread.question.id}/revisions").get_json()["items"]
    assert [r["number"] for r in revisions] == [1]
    after = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert after["last_activity_at"] == before["last_activity_at"]
    assert after["question"]["edited_at"] is None


def test_sending_the_same_tags_in_another_order_keeps_no_revision(client, users, asker_headers):
    """Tags are a set: the thread lists them by name, so their order is not an edit."""
    created = client.post("/api/v1/threads", headers=asker_headers,
                          json=ask_payload(tags=["spain", "roaming"])).get_json()

    response = client.patch(f"/api/v1/threads/{created['id']}", headers=asker_headers,
                            json={"tags": ["spain", "roaming"]})

    assert response.status_code == 200
    revisions = client.get(f"/api/v1/posts/{created['question']['id']}/revisions").get_json()
    assert [r["number"] for r in revisions["items"]] == [1]


def test_another_member_may_not_edit_the_thread(client, users, token_for):
    thread = make_thread(users.asker)
    response = client.patch(f"/api/v1/threads/{thread.id}", headers=token_for(users.other),
                            json={"title": "Something else entirely"})
    assert_error(response, 403, "post.not_author")
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["title"] == thread.title


@pytest.mark.parametrize("changes, code, field", INVALID_THREAD_FIELDS, ids=INVALID_THREAD_IDS)
def test_editing_a_thread_with_a_bad_field_is_422(client, users, asker_headers, changes, code,
                                                   field):
    thread = make_thread(users.asker)
    response = client.patch(f"/api/v1/threads/{thread.id}", headers=asker_headers, json=changes)
    assert_error(response, 422, code, field=field)


def test_editing_a_thread_with_a_summary_that_is_not_text_is_422(client, users, asker_headers):
    thread = make_thread(users.asker)
    response = client.patch(f"/api/v1/threads/{thread.id}", headers=asker_headers,
                            json={"body": "New body", "summary": 5})
    assert_error(response, 422, "summary.type", field="summary")


def test_editing_a_thread_errors(client, users, asker_headers):
    thread = make_thread(users.asker)
    assert_error(client.patch(f"/api/v1/threads/{thread.id}", json={"title": "A new title here"}),
                 401, "auth.required")
    assert_error(client.patch(f"/api/v1/threads/{thread.id}", headers=asker_headers, data="[1]",
                              content_type="application/json"), 400, "request.invalid_json")
    assert_error(client.patch(f"/api/v1/threads/{thread.id}", headers=asker_headers, data="{",
                              content_type="application/json"), 400, "request.invalid_json")
    assert_error(client.patch(f"/api/v1/threads/{thread.id}", headers=asker_headers,
                              json={"body": "b" * (1024 * 1024)}), 413, "request.too_large")
    assert_error(client.patch("/api/v1/threads/4242", headers=asker_headers,
                              json={"title": "A new title here"}), 404, "thread.not_found")


# ---- POST /threads/<id>/answers -------------------------------------------------------------

def test_answering_answers_201_with_the_post_and_updates_the_thread(client, users, token_for):
    thread = make_thread(users.asker)

    response = client.post(f"/api/v1/threads/{thread.id}/answers", headers=token_for(users.helper),
                           json={"body": "Dial `*100#`."})

    assert response.status_code == 201, response.get_json()
    post = response.get_json()
    assert_post(post)
    assert post["kind"] == "answer"
    assert post["thread_id"] == thread.id
    assert_author(post["author"], users.helper)
    assert post["body"] == "Dial `*100#`."
    assert "<code>*100#</code>" in post["body_html"]
    assert post["score"] == 0 and post["accepted"] is False and post["endorsed"] is None
    assert post["edited_at"] is None and post["comments"] == []
    data = client.get(f"/api/v1/threads/{thread.id}").get_json()
    assert data["status"] == "answered"
    assert data["answer_count"] == 1
    assert [a["id"] for a in data["answers"]] == [post["id"]]
    assert data["last_activity_at"] == post["created_at"]


def test_answer_html_is_sanitised(client, users, token_for):
    thread = make_thread(users.asker)
    body = 'Try <script>alert(1)</script><a href="javascript:x()">this</a>'
    response = client.post(f"/api/v1/threads/{thread.id}/answers", headers=token_for(users.helper),
                           json={"body": body})
    assert response.status_code == 201
    html = response.get_json()["body_html"]
    assert "<script" not in html and "javascript:" not in html


@pytest.mark.parametrize("payload, status, code, field", [
    ({}, 422, "body.required", "body"),
    ({"body": ""}, 422, "body.empty", "body"),
    ({"body": "b" * 30_001}, 422, "body.too_long", "body"),
    ({"body": 42}, 422, "body.type", "body"),
    ({"body": "b" * (1024 * 1024)}, 413, "request.too_large", None),
], ids=["no-body", "empty-body", "body-30001-chars", "body-not-string", "over-one-mebibyte"])
def test_answering_with_a_bad_body(client, users, token_for, payload, status, code, field):
    thread = make_thread(users.asker)
    response = client.post(f"/api/v1/threads/{thread.id}/answers", headers=token_for(users.helper),
                           json=payload)
    assert_error(response, status, code, field=field)


def test_answering_errors(client, users, token_for):
    thread = make_thread(users.asker)
    headers = token_for(users.helper)
    assert_error(client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": "Hi"}),
                 401, "auth.required")
    assert_error(client.post(f"/api/v1/threads/{thread.id}/answers", headers=headers, data="nope",
                             content_type="application/json"), 400, "request.invalid_json")
    assert_error(client.post("/api/v1/threads/4242/answers", headers=headers, json={"body": "Hi"}),
                 404, "thread.not_found")


def test_answering_is_rate_limited_with_429(app, client, users, token_for, monkeypatch):
    thread = make_thread(users.asker)
    headers = token_for(users.helper)
    monkeypatch.setitem(app.config, "RATELIMIT_POST", "2 per minute")
    for n in range(2):
        assert client.post(f"/api/v1/threads/{thread.id}/answers", headers=headers,
                           json={"body": f"Answer {n}"}).status_code == 201

    response = client.post(f"/api/v1/threads/{thread.id}/answers", headers=headers,
                           json={"body": "One more"})
    assert_error(response, 429, "rate_limited")


# ---- POST/DELETE /threads/<id>/accept -------------------------------------------------------

@pytest.fixture
def answered(users):
    thread = make_thread(users.asker)
    return thread, make_answer(users.helper, thread), make_answer(users.other, thread, "Restart.")


def test_the_asker_accepts_an_answer(client, users, asker_headers, answered):
    thread, first, second = answered

    response = client.post(f"/api/v1/threads/{thread.id}/accept", headers=asker_headers,
                           json={"post_id": second.id})

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert_thread(data)
    assert data["status"] == "solved"
    assert data["accepted_answer_id"] == second.id
    assert data["best_answer_id"] == second.id
    assert [a["id"] for a in data["answers"]] == [second.id, first.id]  # accepted pinned first
    assert [a["accepted"] for a in data["answers"]] == [True, False]

    again = client.post(f"/api/v1/threads/{thread.id}/accept", headers=asker_headers,
                        json={"post_id": second.id})
    assert again.status_code == 200
    assert again.get_json()["accepted_answer_id"] == second.id

    other = client.post(f"/api/v1/threads/{thread.id}/accept", headers=asker_headers,
                        json={"post_id": first.id})
    assert other.status_code == 200
    assert other.get_json()["accepted_answer_id"] == first.id


def test_the_asker_withdraws_the_acceptance(client, users, asker_headers, answered):
    thread, first, _ = answered
    answers.accept(users.asker, thread, first)

    response = client.delete(f"/api/v1/threads/{thread.id}/accept", headers=asker_headers)

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["status"] == "answered"
    assert data["accepted_answer_id"] is None
    assert data["best_answer_id"] is None
    assert all(a["accepted"] is False for a in data["answers"])
    # Withdrawing again is harmless.
    again = client.delete(f"/api/v1/threads/{thread.id}/accept", headers=asker_headers)
    assert again.status_code == 200


def test_another_member_may_not_accept_or_withdraw(client, users, token_for, answered):
    thread, first, _ = answered
    headers = token_for(users.helper)
    assert_error(client.post(f"/api/v1/threads/{thread.id}/accept", headers=headers,
                             json={"post_id": first.id}), 403, "accept.not_asker")
    answers.accept(users.asker, thread, first)
    assert_error(client.delete(f"/api/v1/threads/{thread.id}/accept", headers=headers),
                 403, "accept.not_asker")
    assert client.get(f"/api/v1/threads/{thread.id}").get_json()["accepted_answer_id"] == first.id


@pytest.mark.parametrize("post_id, code", [
    (None, "post_id.required"),
    ("1", "post_id.type"),
    (True, "post_id.type"),
    (1.5, "post_id.type"),
    ([1], "post_id.type"),
], ids=["missing", "string", "boolean", "float", "list"])
def test_accepting_with_a_post_id_that_is_not_an_integer_is_422(client, users, asker_headers,
                                                                answered, post_id, code):
    thread = answered[0]
    payload = {} if post_id is None else {"post_id": post_id}
    response = client.post(f"/api/v1/threads/{thread.id}/accept", headers=asker_headers,
                           json=payload)
    assert_error(response, 422, code, field="post_id")


def test_accepting_something_that_is_not_an_answer_of_this_thread_is_422(client, users,
                                                                         asker_headers, answered):
    thread = answered[0]
    elsewhere = make_answer(users.helper, make_thread(users.other, title="Another question here"))
    for post_id in (thread.question.id, elsewhere.id):
        response = client.post(f"/api/v1/threads/{thread.id}/accept", headers=asker_headers,
                               json={"post_id": post_id})
        assert_error(response, 422, "accept.not_an_answer", field="post_id")


def test_accepting_errors(client, users, asker_headers, answered):
    thread, first, _ = answered
    url = f"/api/v1/threads/{thread.id}/accept"
    assert_error(client.post(url, json={"post_id": first.id}), 401, "auth.required")
    assert_error(client.delete(url), 401, "auth.required")
    assert_error(client.post(url, headers=asker_headers, data="{",
                             content_type="application/json"), 400, "request.invalid_json")
    for post_id in (4242, -1, 2**64, -(2**64)):
        assert_error(client.post(url, headers=asker_headers, json={"post_id": post_id}),
                     404, "post.not_found")
    assert_error(client.post("/api/v1/threads/4242/accept", headers=asker_headers,
                             json={"post_id": first.id}), 404, "thread.not_found")
    assert_error(client.delete("/api/v1/threads/4242/accept", headers=asker_headers),
                 404, "thread.not_found")


# ---- GET /threads: filters, limits, cursors -------------------------------------------------

def test_the_list_is_items_and_next_cursor_of_thread_summaries(client, users):
    thread = make_thread(users.asker, tags=["billing"])

    response = client.get("/api/v1/threads")

    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"items", "next_cursor"}
    assert data["next_cursor"] is None
    [item] = data["items"]
    assert_thread(item)
    assert item["id"] == thread.id
    assert item["tags"] == ["billing"]
    assert_author(item["author"], users.asker)
    assert "question" not in item and "answers" not in item


def test_an_empty_list(client, ctx):
    assert client.get("/api/v1/threads").get_json() == {"items": [], "next_cursor": None}


def test_filter_by_tag_and_author(client, users):
    billing = make_thread(users.asker, title="Charged twice for May", tags=["billing"])
    roaming = make_thread(users.other, title="No roaming in Spain", tags=["roaming", "spain"])

    def ids(query):
        response = client.get(f"/api/v1/threads?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("tag=billing") == [billing.id]
    assert ids("tag=SPAIN") == [roaming.id]
    assert ids("tag=unknown") == []
    assert ids(f"author={users.other.id}") == [roaming.id]
    assert ids(f"author={users.other.id}&tag=billing") == []
    assert ids("author=nobody") == []


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "\u00b2", "\u0663"],
                         ids=["zero", "over-100", "negative", "word", "decimal", "empty",
                              "superscript-two", "arabic-indic-three"])
def test_a_bad_limit_is_400(client, ctx, limit):
    assert_error(client.get("/api/v1/threads", query_string={"limit": limit}), 400, "limit.invalid")


def test_the_largest_limit_is_100(client, ctx):
    assert client.get("/api/v1/threads?limit=100").status_code == 200


@pytest.mark.parametrize("author", ["\u00b2", str(2**64)], ids=["superscript-two", "huge"])
def test_an_author_filter_that_no_user_can_match_is_an_empty_list(client, ctx, author):
    response = client.get("/api/v1/threads", query_string={"author": author})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("query, code, field", [
    ("status=open", "status.invalid", "status"),
    ("status=SOLVED", "status.invalid", "status"),
    ("sort=oldest", "sort.invalid", "sort"),
    ("sort=", "sort.invalid", "sort"),
], ids=["unknown-status", "status-wrong-case", "unknown-sort", "empty-sort"])
def test_a_bad_status_or_sort_is_422(client, ctx, query, code, field):
    assert_error(client.get(f"/api/v1/threads?{query}"), 422, code, field=field)


def _cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("sort, cursor", [
    ("active", "not a cursor"),
    ("active", "%%%"),
    ("active", "bm90IGpzb24"),  # base64 of "not json"
    ("active", _cursor("active", 5)),
    ("newest", base64.urlsafe_b64encode(b'{"a": 1, "b": 2, "c": 3}').decode()),
    ("active", _cursor("active", 1700000000, 1)),
    ("active", _cursor("active", {"t": "2024-01-01T00:00:00"}, 1)),
    ("active", _cursor("active", {"t": "yesterday"}, 1)),
    ("newest", _cursor("newest", {"t": "2024-01-01T00:00:00+00:00"}, 2**64)),
    ("newest", _cursor("newest", {"t": "2024-01-01T00:00:00+00:00"}, "1")),
    ("votes", _cursor("votes", 2**64, 1)),
    ("votes", _cursor("votes", {"t": "2024-01-01T00:00:00+00:00"}, 1)),
    ("votes", _cursor("votes", 1.5, 1)),
    ("votes", _cursor("votes", True, 1)),
], ids=["spaces", "percent-signs", "not-json", "two-parts", "object", "number-for-a-time",
        "naive-time", "not-a-time", "huge-id", "string-id", "huge-score", "time-for-a-score",
        "float-score", "boolean-score"])
def test_a_garbage_or_forged_cursor_is_400(client, ctx, sort, cursor):
    response = client.get("/api/v1/threads", query_string={"sort": sort, "cursor": cursor})
    assert_error(response, 400, "cursor.invalid")


def _build_threads(users, *, votes_too: bool = True) -> dict[str, list[tuple[int, str]]]:
    """Twelve threads, four of each status, with scores and activity in a known mixed order.

    Returns, for each sort, the (id, status) pairs in the order the list must give them,
    worked out here from what was done rather than read back from the database. Votes are cast
    only when `votes_too`, so the other orders do not depend on whether a vote is "activity".
    """
    scores = [2, 0, -1, 3, 0, 1, 5, 0, 2, -2, 1, 0] if votes_too else [0] * 12
    upvoters = [users.helper, users.other, users.staff, users.moderator, users.admin]
    downvoters = [users.staff, users.moderator, users.admin]
    created, touched, status = [], [], {}
    for n in range(12):
        thread = make_thread(users.asker, title=f"Question number {n} about roaming")
        created.append(thread)
        touched.append(thread.id)
        status[thread.id] = "unanswered"
    # Answer (and for some, accept) in an order unlike creation, so "active" differs from "newest".
    for n in (7, 2, 10, 4, 1, 8, 5, 11):
        thread = created[n]
        post = make_answer(users.helper, thread)
        status[thread.id] = "answered"
        if n % 3 == 2:
            answers.accept(users.asker, thread, post)
            status[thread.id] = "solved"
        touched.remove(thread.id)
        touched.append(thread.id)
    for thread, score in zip(created, scores):
        voters = upvoters[:score] if score > 0 else downvoters[:-score]
        for voter in voters:
            votes.cast_vote(voter, thread.question, 1 if score > 0 else -1)
    by_votes = sorted(zip(scores, [t.id for t in created]), key=lambda pair: pair, reverse=True)
    return {
        "newest": [(t.id, status[t.id]) for t in reversed(created)],
        "active": [(tid, status[tid]) for tid in reversed(touched)],
        "votes": [(tid, status[tid]) for _, tid in by_votes],
    }


@pytest.mark.parametrize("status", STATUSES, ids=lambda s: s or "all")
@pytest.mark.parametrize("sort", SORTS)
def test_paging_with_cursors_gives_every_thread_once_in_order(client, users, sort, status):
    built = _build_threads(users, votes_too=sort == "votes")
    expected = [tid for tid, st in built[sort] if status in (None, st)]
    query = {"sort": sort, "limit": 3, **({"status": status} if status else {})}

    seen, cursor, pages = [], None, 0
    while True:
        response = client.get("/api/v1/threads",
                              query_string={**query, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        pages += 1
        assert pages <= 5, "the cursor never ran out"
        assert 1 <= len(page["items"]) <= 3
        for item in page["items"]:
            assert_thread(item)
            assert status in (None, item["status"])
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and len(page["items"]) == 3

    assert seen == expected
    assert len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // 3)


def test_the_default_list_is_by_activity_in_one_page(client, users):
    expected = [tid for tid, _ in _build_threads(users, votes_too=False)["active"]]
    data = client.get("/api/v1/threads").get_json()
    assert [item["id"] for item in data["items"]] == expected
    assert data["next_cursor"] is None


@pytest.mark.parametrize("made_for, used_with", [
    ("newest", "votes"), ("newest", "active"), ("active", "newest"), ("votes", "active"),
], ids=lambda s: s)
def test_a_cursor_made_for_one_sort_is_400_with_another(client, users, made_for, used_with):
    for n in range(3):
        make_thread(users.asker, title=f"Question number {n} about roaming")
    cursor = client.get(f"/api/v1/threads?sort={made_for}&limit=1").get_json()["next_cursor"]
    assert cursor

    assert client.get(f"/api/v1/threads?sort={made_for}&limit=1&cursor={cursor}").status_code == 200
    response = client.get(f"/api/v1/threads?sort={used_with}&limit=1&cursor={cursor}")
    assert_error(response, 400, "cursor.invalid")
