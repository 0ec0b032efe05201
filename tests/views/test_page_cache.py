"""Visitors share cached thread and list pages; every commit that concerns them makes a new copy."""

from community.extensions import db
from community.services import answers, threads, votes
from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread


def test_visitor_pages_set_no_cookie(client, users):
    thread = make_thread(users.asker)
    for path in ["/", "/newest", f"/threads/{thread.id}", "/tags/roaming"]:
        response = client.get(path)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers, path
        assert 'name="csrf-token"' not in response.get_data(as_text=True)


def test_changes_reach_visitors_at_once(app, client, users):
    thread = make_thread(users.asker)
    path = f"/threads/{thread.id}"
    assert "Know the answer?" in client.get(path).get_data(as_text=True)
    client.get("/")
    post = make_answer(users.helper, thread, "Toggle airplane mode off and on.")
    assert "Toggle airplane mode" in client.get(path).get_data(as_text=True)
    assert "status-answered" in client.get("/").get_data(as_text=True)
    votes.cast_vote(users.other, post, 1)
    assert '<span class="score" data-score>1</span>' in client.get(path).get_data(as_text=True)
    answers.accept(users.asker, thread, post)
    assert "status-solved" in client.get(path).get_data(as_text=True)
    threads.edit_post(users.asker, thread.question, title="Roaming fixed by airplane mode")
    assert "Roaming fixed by airplane mode" in client.get("/").get_data(as_text=True)


def test_the_cached_copy_is_really_served(app, client, users):
    """Proves the cache is in use: a change made behind the services' back is not seen."""
    thread = make_thread(users.asker, title="Original title for caching")
    path = f"/threads/{thread.id}"
    client.get(path)
    thread.title = "Changed without an event"
    db.session.commit()
    assert "Original title for caching" in client.get(path).get_data(as_text=True)
    app.config["PAGE_CACHE_ENABLED"] = False
    try:
        assert "Changed without an event" in client.get(path).get_data(as_text=True)
    finally:
        app.config["PAGE_CACHE_ENABLED"] = True


def test_members_and_visitors_with_a_session_get_their_own_page(app, client, users):
    thread = make_thread(users.asker)
    path = f"/threads/{thread.id}"
    app.test_client().get(path)  # a visitor fills the cache
    login(client, "other")
    page = client.get(path).get_data(as_text=True)
    assert "Post your answer" in page and 'name="csrf-token"' in page
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    # Logged out with a flashed message in the session: the message is theirs alone.
    page = client.get(path).get_data(as_text=True)
    assert "You are logged out." in page
    assert "You are logged out." not in app.test_client().get(path).get_data(as_text=True)
