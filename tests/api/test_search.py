"""JSON API contract: GET /search and GET /threads/similar (shapes, errors, cursors).

What they find, and in which order, is tested in tests/search/test_relevance.py.
"""

from __future__ import annotations

import base64
import json

import pytest

from community.services import answers, threads
from tests.api.contract import assert_error
from tests.api.test_threads import assert_thread


@pytest.fixture
def voicemail_threads(users, indexed):
    """Seven voicemail threads, the first one solved."""
    made = [threads.ask(users.asker if n % 2 else users.other, f"Voicemail problem number {n}",
                        f"My voicemail greeting fails, case {n}.", ["voicemail"])
            for n in range(1, 8)]
    post = threads.answer(users.helper, made[0], "Dial *86 and record the voicemail greeting.")
    answers.accept(made[0].author, made[0], post)
    indexed()
    return made


def get(client, path: str, **params):
    return client.get(path, query_string=params)


def test_search_answers_the_documented_shape(client, voicemail_threads):
    response = get(client, "/api/v1/search", q="voicemail greeting", limit=3)

    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert set(data) == {"items", "next_cursor", "total", "suggestion", "corrected"}
    assert len(data["items"]) == 3 and data["total"] == 7
    assert isinstance(data["next_cursor"], str) and data["next_cursor"]
    assert data["suggestion"] is None and data["corrected"] is False
    listed = {item["id"]: item for item in get(client, "/api/v1/threads").get_json()["items"]}
    for item in data["items"]:
        assert_thread(item)
        assert isinstance(item["snippet"], str) and "<mark>" in item["snippet"]
        assert {**item, "snippet": None} == {**listed[item["id"]], "snippet": None}
    assert data["items"][0]["id"] == voicemail_threads[0].id
    assert data["items"][0]["status"] == "solved"


def test_search_without_matches_is_an_empty_page(client, voicemail_threads):
    data = get(client, "/api/v1/search", q="hotspot").get_json()

    assert data == {"items": [], "next_cursor": None, "total": 0, "suggestion": None,
                    "corrected": False}


def test_search_reports_a_correction(client, voicemail_threads):
    data = get(client, "/api/v1/search", q="voicemial").get_json()

    assert data["suggestion"] == "voicemail" and data["corrected"] is True
    assert data["total"] == 7 and len(data["items"]) == 7


def test_search_is_open_to_visitors_and_token_holders(client, users, token_for, voicemail_threads):
    anonymous = get(client, "/api/v1/search", q="voicemail").get_json()
    with_token = client.get("/api/v1/search", query_string={"q": "voicemail"},
                            headers=token_for(users.other)).get_json()

    assert anonymous == with_token
    assert anonymous["total"] == 7


def test_the_cursor_walks_all_pages(client, voicemail_threads):
    seen, cursor = [], None
    for _ in range(5):
        params = {"q": "voicemail", "limit": 3, **({"cursor": cursor} if cursor else {})}
        data = get(client, "/api/v1/search", **params).get_json()
        seen += [item["id"] for item in data["items"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break

    assert cursor is None
    assert sorted(seen) == sorted(thread.id for thread in voicemail_threads)
    assert len(seen) == len(set(seen)) == 7


def _cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("params, status, code, field", [
    ({}, 422, "q.required", "q"),
    ({"q": ""}, 422, "q.required", "q"),
    ({"q": "   "}, 422, "q.required", "q"),
    ({"q": "v" * 201}, 422, "q.too_long", "q"),
    ({"q": "voicemail", "status": "closed"}, 422, "status.invalid", "status"),
    ({"q": "voicemail", "status": "Solved"}, 422, "status.invalid", "status"),
    ({"q": "voicemail", "sort": "oldest"}, 422, "sort.invalid", "sort"),
    ({"q": "voicemail", "sort": ""}, 422, "sort.invalid", "sort"),
    ({"q": "voicemail", "from": "2026-13-01"}, 422, "from.invalid", "from"),
    ({"q": "voicemail", "from": "yesterday"}, 422, "from.invalid", "from"),
    ({"q": "voicemail", "to": "23/11/2026"}, 422, "to.invalid", "to"),
    ({"q": "voicemail", "tag": "no spaces allowed"}, 422, "tags.invalid", "tags"),
    ({"q": "voicemail", "cursor": "not a cursor"}, 400, "cursor.invalid", None),
    ({"q": "voicemail", "cursor": _cursor("search-recent", 3, 0)}, 400, "cursor.invalid", None),
    ({"q": "voicemail", "cursor": _cursor("active", 3, 0)}, 400, "cursor.invalid", None),
    ({"q": "voicemail", "cursor": _cursor("search-relevance", "3", 0)}, 400, "cursor.invalid",
     None),
    ({"q": "voicemail", "cursor": _cursor("search-relevance", 2**40, 0)}, 400, "cursor.invalid",
     None),
    ({"q": "voicemail", "limit": "0"}, 400, "limit.invalid", None),
    ({"q": "voicemail", "limit": "101"}, 400, "limit.invalid", None),
    ({"q": "voicemail", "limit": "ten"}, 400, "limit.invalid", None),
])
def test_bad_search_input_is_refused_with_the_error_shape(client, voicemail_threads, params,
                                                         status, code, field):
    assert_error(get(client, "/api/v1/search", **params), status, code, field)


def test_a_cursor_from_one_order_is_refused_by_the_other(client, voicemail_threads):
    recent = get(client, "/api/v1/search", q="voicemail", sort="recent", limit=2).get_json()

    response = get(client, "/api/v1/search", q="voicemail", cursor=recent["next_cursor"])

    assert_error(response, 400, "cursor.invalid")


def test_a_cursor_past_the_end_is_an_empty_page(client, voicemail_threads):
    data = get(client, "/api/v1/search", q="voicemail",
               cursor=_cursor("search-relevance", 40, 0)).get_json()

    assert data["items"] == [] and data["next_cursor"] is None and data["total"] == 7


# ---- similar questions --------------------------------------------------------------------------

def test_similar_answers_at_most_five_threads_solved_first(client, voicemail_threads):
    response = get(client, "/api/v1/threads/similar", title="Voicemail greeting not working")

    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"items"}
    assert len(data["items"]) == 5
    listed = {item["id"]: item for item in get(client, "/api/v1/threads").get_json()["items"]}
    for item in data["items"]:
        assert_thread(item)
        assert item == listed[item["id"]]  # the same thread shape as every list
    assert data["items"][0]["id"] == voicemail_threads[0].id


@pytest.mark.parametrize("params", [{}, {"title": ""}, {"title": "vo"}, {"title": "   ab   "},
                                    {"title": "x" * 5000}])
def test_similar_to_a_short_or_unknown_title_is_an_empty_list(client, voicemail_threads, params):
    response = get(client, "/api/v1/threads/similar", **params)

    assert response.status_code == 200
    assert response.get_json() == {"items": []}
