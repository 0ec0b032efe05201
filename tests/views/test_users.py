"""Profiles, the leaderboard, and voting through plain forms (no JavaScript)."""

import re

from community.services import answers, votes
from tests.conftest import csrf_token, login
from tests.factories import grant_reputation, make_answer, make_thread


def test_profile_shows_reputation_rank_badges_and_history(client, users):
    thread = make_thread(users.asker, title="APN settings for the new phone")
    answer = make_answer(users.helper, thread)
    votes.cast_vote(users.other, answer, 1)
    answers.accept(users.asker, thread, answer)
    page = client.get(f"/users/{users.helper.id}").get_data(as_text=True)
    assert "<strong>26</strong> reputation" in page and "Newcomer" in page
    assert "Helping hand" in page and "Problem solver" in page
    assert "Answer accepted" in page and "Answer upvoted" in page and "+15" in page
    assert "APN settings for the new phone" in page


def test_leaderboard_ranks_members_and_lists_staff_apart(client, users):
    thread = make_thread(users.asker)
    answers.accept(users.asker, thread, make_answer(users.helper, thread))
    staff_thread = make_thread(users.other, title="Another question for staff")
    answers.accept(users.other, staff_thread, make_answer(users.staff, staff_thread))
    for period in ("week", "month", "all"):
        page = client.get(f"/leaderboard?period={period}").get_data(as_text=True)
        members, staff = page.split("Kestrel staff</h2>")
        assert members.index(">helper<") < members.index(">asker<")
        assert ">kestrel_staff<" in staff and ">kestrel_staff<" not in members
    assert client.get("/leaderboard?period=decade").status_code == 422


def test_vote_form_without_javascript(client, users):
    thread = make_thread(users.asker)
    answer = make_answer(users.helper, thread)
    login(client, "other")
    path = f"/threads/{thread.id}"
    response = client.post(f"/posts/{answer.id}/vote",
                           data={"csrf_token": csrf_token(client, path), "value": "1"})
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    article = page[page.index(f'id="post-{answer.id}"'):]
    assert re.search(r'value="0" data-vote="1"\s+class="vote-button vote-up" aria-pressed="true"', article)
    assert '<span class="score" data-score>1</span>' in article
    # Own posts can't be voted on, and a bad value is a clean 422.
    response = client.post(f"/posts/{answer.id}/vote",
                           data={"csrf_token": csrf_token(client, path), "value": "7"})
    assert response.status_code == 422


def test_downvote_button_needs_reputation(client, users):
    thread = make_thread(users.asker)
    answer = make_answer(users.helper, thread)
    login(client, "other")
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "vote-up" in page and "vote-down" not in page
    grant_reputation(users.other, 50)
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "vote-down" in page
    response = client.post(f"/posts/{answer.id}/vote",
                           data={"csrf_token": csrf_token(client), "value": "-1"})
    assert response.status_code == 302


def test_members_cannot_endorse_through_the_page(client, users):
    answer = make_answer(users.helper, make_thread(users.asker))
    login(client, "other")
    response = client.post(f"/posts/{answer.id}/endorse", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 403
