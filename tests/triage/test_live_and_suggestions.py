"""The `triage` room hears items enter, get claimed and leave; items carry suggested answers."""

from __future__ import annotations

from community.services import answers
from tests.factories import make_answer, make_thread
from tests.triage.conftest import complaint


def test_triage_room_hears_new_items_claims_and_leaving(ctx, users, connect, token_for, client):
    staff = connect(token=token_for(users.moderator)["Authorization"].split(" ", 1)[1])
    assert staff.join(room="triage") == {"ok": True, "rooms": ["triage"]}
    thread = complaint(users.asker, "My parcel was lost")
    assert staff.wait_for("triage.entered", thread_id=thread.id)["title"] == "My parcel was lost"
    client.post(f"/api/v1/staff/triage/{thread.id}/claim", headers=token_for(users.staff))
    claimed = staff.wait_for("triage.claimed", thread_id=thread.id)
    assert claimed["claimed_by"]["username"] == users.staff.username
    make_answer(users.staff, thread, "Found it; it arrives tomorrow.")
    assert staff.wait_for("triage.left", thread_id=thread.id)["thread_id"] == thread.id


def test_items_suggest_best_answers_of_similar_solved_threads(users, listed, indexed):
    solved = make_thread(users.helper, "Roaming does not work abroad",
                         "My roaming does not work in Spain.")
    best = make_answer(users.other, solved, "Turn on data roaming in settings, then restart.")
    answers.accept(users.helper, solved, best)
    thread = complaint(users.asker, "Roaming does not work in France, help")
    indexed()
    suggestions = listed()[thread.id]["suggestions"]
    assert [(s["thread_id"], s["post_id"]) for s in suggestions] == [(solved.id, best.id)]
    assert suggestions[0]["title"] == "Roaming does not work abroad"
    assert suggestions[0]["excerpt"].startswith("Turn on data roaming")
