"""A hidden thread shows nowhere to non-staff (issue 14, item 2): not on its page or in the API,
not in lists or search, and not by title in the profiles of its author and answerer (their
reputation history keeps the change, without the title) or in notifications written before it
was hidden. Staff still see it, to review it."""

from __future__ import annotations

import pytest

from community.extensions import db
from community.services import answers, events, votes
from community.workers import notifications as notification_workers
from tests.conftest import login
from tests.factories import make_answer, make_thread

TITLE = "Refund for the double charge on my bill"


@pytest.fixture
def hidden(client, users, indexed):
    """A thread the asker accepted an answer on and then deleted on their channel."""
    thread = make_thread(users.asker, title=TITLE, body="Charged twice in November.")
    answer = make_answer(users.helper, thread, "Billing refunds it within five days.")
    answers.accept(users.asker, thread, answer)
    votes.cast_vote(users.other, answer, 1)
    assert notification_workers.flush()
    thread.is_hidden = thread.question.is_hidden = True  # as the bridge's intake of a deletion
    events.publish("thread.updated", thread_id=thread.id)
    db.session.commit()
    indexed()
    assert notification_workers.flush()
    return thread, answer


def _pages(client, users, thread, answer) -> dict[str, str]:
    return {
        "asker profile": client.get(f"/users/{users.asker.id}").get_data(as_text=True),
        "answerer profile": client.get(f"/users/{users.helper.id}").get_data(as_text=True),
        "home": client.get("/").get_data(as_text=True),
        "newest": client.get("/newest").get_data(as_text=True),
        "search": client.get("/search?q=refund+double+charge").get_data(as_text=True),
        "api list": client.get("/api/v1/threads").get_data(as_text=True),
        "api search": client.get("/api/v1/search?q=refund").get_data(as_text=True),
    }


def test_no_public_surface_shows_a_hidden_thread_to_visitors(client, users, hidden):
    thread, answer = hidden
    assert client.get(f"/threads/{thread.id}").status_code == 404
    assert client.get(f"/api/v1/threads/{thread.id}").status_code == 404
    assert client.get(f"/api/v1/posts/{answer.id}").status_code == 404
    for surface, html in _pages(client, users, thread, answer).items():
        assert TITLE not in html, f"the hidden thread's title shows on the {surface}"
    # The reputation change itself stays in the history, only its title goes.
    helper_page = client.get(f"/users/{users.helper.id}").get_data(as_text=True)
    assert "+15" in helper_page


def test_members_do_not_see_it_either_not_even_in_notifications_written_before(
        client, users, hidden):
    login(client, "helper")
    for surface, html in _pages(client, users, *hidden).items():
        assert TITLE not in html, f"the hidden thread's title shows on the {surface}"
    assert TITLE not in client.get("/notifications").get_data(as_text=True)
    login(client, "asker")
    assert TITLE not in client.get("/notifications").get_data(as_text=True)
    listed = client.get("/api/v1/notifications").get_json()
    assert all(item["thread_id"] != hidden[0].id for item in listed["items"])


def test_staff_still_see_it_to_review_it(client, users, hidden):
    login(client, users.staff.username)
    assert client.get(f"/threads/{hidden[0].id}").status_code == 200
    assert TITLE in client.get(f"/users/{users.helper.id}").get_data(as_text=True)
