"""Who may see the triage queue and claim, and bad input (always 4xx with the error shape)."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.triage.conftest import complaint


@pytest.mark.parametrize("role, status", [("asker", 403), ("staff", 200), ("moderator", 200),
                                          ("admin", 200)])
def test_queue_by_role(client, users, token_for, role, status):
    response = client.get("/api/v1/staff/triage", headers=token_for(getattr(users, role)))
    assert response.status_code == status
    claim = client.post(f"/api/v1/staff/triage/{complaint(users.other).id}/claim",
                        headers=token_for(getattr(users, role)))
    assert claim.status_code == (403 if status == 403 else 201)


def test_visitors_get_401_and_members_a_403_page(client, users):
    assert client.get("/api/v1/staff/triage").status_code == 401
    assert client.post("/api/v1/staff/triage/1/claim").status_code == 401
    login(client, users.asker.username)
    assert client.get("/staff/triage").status_code == 403


@pytest.mark.parametrize("query, status, code", [
    ({"limit": "0"}, 400, "limit.invalid"), ({"limit": "abc"}, 400, "limit.invalid"),
    ({"cursor": "not-a-cursor"}, 400, "cursor.invalid"),
    ({"claimed": "perhaps"}, 422, "claimed.invalid"), ({"channel": "fax"}, 422, "channel.invalid"),
])
def test_bad_input(client, users, token_for, query, status, code):
    response = client.get("/api/v1/staff/triage", query_string=query,
                          headers=token_for(users.staff))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_unknown_thread(client, users, token_for):
    headers = token_for(users.staff)
    for path in ("/api/v1/staff/triage/999999/claim", "/api/v1/staff/triage/99999999999/claim"):
        assert client.post(path, headers=headers).status_code == 404
        assert client.delete(path, headers=headers).status_code == 404


def test_cursor_pages_through_without_repeats(client, users, token_for):
    ids = {complaint(users.asker, f"Cancelled flight {n}, stolen bag {n}").id for n in range(5)}
    headers, seen, cursor = token_for(users.staff), [], None
    while True:
        body = client.get("/api/v1/staff/triage", headers=headers,
                          query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [item["thread"]["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
