"""Claims through the API and the page: one holder, 409 for the others, lapsing, races."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from community.extensions import db
from community.models import TriageClaim
from community.models.base import utcnow
from tests.conftest import csrf_token, login
from tests.factories import make_user
from tests.triage.conftest import complaint


def test_claim_shows_who_holds_it_and_hides_nothing(client, users, token_for, listed):
    thread = complaint(users.asker)
    mine, theirs = token_for(users.staff), token_for(users.moderator)
    response = client.post(f"/api/v1/staff/triage/{thread.id}/claim", headers=mine)
    assert response.status_code == 201
    assert response.get_json()["claimed_by"]["username"] == users.staff.username
    refused = client.post(f"/api/v1/staff/triage/{thread.id}/claim", headers=theirs)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "triage.claimed"
    item = listed()[thread.id]  # still listed for everyone, with its holder
    assert item["claimed_by"]["username"] == users.staff.username
    assert set(listed(claimed="no")) == set() and set(listed(claimed="yes")) == {thread.id}
    assert client.delete(f"/api/v1/staff/triage/{thread.id}/claim", headers=mine).status_code == 204
    assert listed()[thread.id]["claimed_by"] is None
    assert client.post(f"/api/v1/staff/triage/{thread.id}/claim", headers=theirs).status_code == 201


def test_others_cannot_release_a_claim_but_moderators_can(client, users, token_for):
    thread = complaint(users.asker)
    other_staff = make_user("other_staff", role="staff")
    client.post(f"/api/v1/staff/triage/{thread.id}/claim", headers=token_for(users.staff))
    refused = client.delete(f"/api/v1/staff/triage/{thread.id}/claim",
                            headers=token_for(other_staff))
    assert refused.status_code == 403
    assert client.delete(f"/api/v1/staff/triage/{thread.id}/claim",
                         headers=token_for(users.moderator)).status_code == 204


def test_claim_lapses(client, users, token_for):
    thread = complaint(users.asker)
    client.post(f"/api/v1/staff/triage/{thread.id}/claim", headers=token_for(users.staff))
    db.session.execute(update(TriageClaim).values(claimed_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    taken = client.post(f"/api/v1/staff/triage/{thread.id}/claim",
                        headers=token_for(users.moderator))
    assert taken.status_code == 201
    assert taken.get_json()["claimed_by"]["username"] == users.moderator.username


def test_staff_answer_ends_the_claim(client, users, token_for):
    thread = complaint(users.asker)
    client.post(f"/api/v1/staff/triage/{thread.id}/claim", headers=token_for(users.staff))
    response = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": "Rebooked you."},
                           headers=token_for(users.staff))
    assert response.status_code == 201
    assert db.session.get(TriageClaim, thread.id) is None


def test_two_staff_claiming_at_once_one_wins(app, users, token_for):
    thread = complaint(users.asker)
    staff = [make_user(f"racer{n}", role="staff") for n in range(6)]
    headers = [token_for(user) for user in staff]
    thread_id = thread.id
    db.session.remove()
    start = threading.Barrier(len(headers))
    statuses: list[int] = []

    def claim(h: dict) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(client.post(f"/api/v1/staff/triage/{thread_id}/claim",
                                    headers=h).status_code)

    workers = [threading.Thread(target=claim, args=(h,)) for h in headers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(statuses) == [201] + [409] * (len(headers) - 1)
    assert db.session.get(TriageClaim, thread_id) is not None


def test_page_lists_reasons_and_claims_with_plain_forms(client, users):
    thread = complaint(users.asker, "My phone was stolen and I was charged twice")
    login(client, users.staff.username)
    page = client.get("/staff/triage")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and thread.title in html
    assert 'data-reason="urgent"' in html and "stolen" in html
    token = csrf_token(client, "/staff/triage")
    response = client.post(f"/staff/triage/{thread.id}/claim", data={"csrf_token": token})
    assert response.status_code == 302
    assert f"Claimed by <strong>{users.staff.username}</strong>" in client.get(
        "/staff/triage").get_data(as_text=True)
    assert client.post(f"/staff/triage/{thread.id}/release", data={}).status_code == 400
    assert client.post(f"/staff/triage/{thread.id}/release",
                       data={"csrf_token": token}).status_code == 302
    assert db.session.get(TriageClaim, thread.id) is None
