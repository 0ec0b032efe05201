"""Live thread updates through a real Socket.IO client against the running server (issue 6)."""

from __future__ import annotations

import requests

from community.extensions import db
from tests import factories


def _bearer(token_for, user) -> dict[str, str]:
    return token_for(user)


def _token(token_for, user) -> str:
    return token_for(user)["Authorization"].split(" ", 1)[1]


def test_answer_through_the_api_reaches_a_visitor_in_the_thread_room(
        ctx, users, live_url, connect, token_for):
    thread = factories.make_thread(users.asker, "Voicemail stopped working today")
    thread_id = thread.id
    visitor = connect()
    assert visitor.join(thread=thread_id) == {"ok": True, "rooms": [f"thread:{thread_id}"]}

    response = requests.post(f"{live_url}/api/v1/threads/{thread_id}/answers",
                             json={"body": "Dial **121** and reset the *PIN*."},
                             headers=_bearer(token_for, users.helper), timeout=10)
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]

    data = visitor.wait_for("answer.created", post_id=post_id)
    assert data["thread_id"] == thread_id
    assert data["answer_count"] == 1
    assert data["status"] == "answered"
    assert data["author"]["username"] == "helper"
    assert f'data-post-id="{post_id}"' in data["html"]
    assert "<strong>121</strong>" in data["html"] and "<em>PIN</em>" in data["html"]
    assert "<form" not in data["html"]  # drawn as for a visitor: no one's CSRF token inside



def test_votes_comments_acceptance_and_endorsement_arrive_with_what_the_page_needs(
        ctx, users, connect, token_for, settle):
    from community.services import answers, threads, votes

    thread = factories.make_thread(users.asker, "eSIM swap keeps failing at step 3")
    answer = factories.make_answer(users.helper, thread)
    thread_id, answer_id = thread.id, answer.id
    settle()
    watcher = connect(token=_token(token_for, users.other))
    watcher.join(thread=thread_id)

    votes.cast_vote(users.other, answer, 1)
    voted = watcher.wait_for("post.voted", post_id=answer_id)
    assert voted["score"] == 1 and voted["thread_id"] == thread_id
    assert voted["author"] == {"id": users.helper.id, "username": "helper", "reputation": 11,
                               "rank": "Newcomer"}

    item = threads.comment(users.other, answer, "Worked after a **restart**.")
    commented = watcher.wait_for("comment.created", comment_id=item.id)
    assert commented["post_id"] == answer_id
    assert f'id="comment-{item.id}"' in commented["html"]
    assert "<strong>restart</strong>" in commented["html"]

    answers.accept(users.asker, thread, answer)
    accepted = watcher.wait_for("answer.accepted", post_id=answer_id)
    assert accepted["accepted_answer_id"] == answer_id and accepted["status"] == "solved"
    assert {a["username"]: a["reputation"] for a in accepted["authors"]} == {
        "helper": 26, "asker": 3}

    answers.endorse(users.staff, answer)
    endorsed = watcher.wait_for("answer.endorsed", post_id=answer_id)
    assert endorsed["endorsed"]["by"]["username"] == "kestrel_staff"
    assert endorsed["author"]["reputation"] == 36

    answers.unaccept(users.asker, thread)
    unaccepted = watcher.wait_for("answer.unaccepted", post_id=answer_id)
    assert unaccepted["accepted_answer_id"] is None and unaccepted["status"] == "answered"

    threads.edit_post(users.asker, thread.question, title="eSIM swap fails at step three")
    edited = watcher.wait_for("post.edited", post_id=thread.question.id)
    assert edited["title"] == "eSIM swap fails at step three"


def test_hidden_threads_reach_staff_only(ctx, users, connect, token_for, settle):
    from sqlalchemy import update

    from community.models import Thread
    from community.services import threads as thread_service

    hidden = factories.make_thread(users.asker, "A thread a moderator will hide")
    visible = factories.make_thread(users.other, "A thread everyone can see")
    hidden_id, visible_id = hidden.id, visible.id
    member = connect(token=_token(token_for, users.helper))
    staff = connect(token=_token(token_for, users.moderator))
    visitor = connect()
    for client in (member, visitor):
        assert client.join(thread=hidden_id)["ok"] is True
        assert client.join(thread=visible_id)["ok"] is True
    assert staff.join(thread=hidden_id)["rooms"] == [f"thread:{hidden_id}",
                                                     f"thread:{hidden_id}:staff"]

    db.session.execute(update(Thread).where(Thread.id == hidden_id).values(is_hidden=True))
    db.session.commit()
    secret = thread_service.answer(users.moderator, db.session.get(Thread, hidden_id),
                                   "Moderator note: this is spam.")
    assert staff.wait_for("answer.created", post_id=secret.id)["thread_id"] == hidden_id
    # Events go out in commit order: once the next one arrives, the hidden one never will.
    public = factories.make_answer(users.staff, db.session.get(Thread, visible_id))
    for client in (member, visitor):
        client.wait_for("answer.created", post_id=public.id)
        assert not [e for e in client.events() if e[1].get("thread_id") == hidden_id], client.seen

    # Joining now is refused just as the page is: no such thread, for anyone but staff.
    assert member.join(thread=hidden_id) == {"error": {"code": "thread.not_found",
                                                       "message": "No such thread."}}
    assert visitor.join(thread=hidden_id)["error"]["code"] == "thread.not_found"
    assert staff.join(thread=hidden_id)["ok"] is True


def test_a_hidden_answer_is_sent_to_staff_only(ctx, users, connect, token_for):
    from sqlalchemy import update

    from community.models import Post
    from community.services import threads as thread_service
    from community.services import votes

    thread = factories.make_thread(users.asker, "One answer here will be hidden")
    hidden = factories.make_answer(users.helper, thread, "Buy followers at spam.example")
    shown = factories.make_answer(users.other, thread, "Check the APN settings.")
    thread_id, hidden_id, shown_id = thread.id, hidden.id, shown.id
    member = connect(token=_token(token_for, users.asker))
    staff = connect(token=_token(token_for, users.staff))
    member.join(thread=thread_id)
    staff.join(thread=thread_id)
    db.session.execute(update(Post).where(Post.id == hidden_id).values(is_hidden=True))
    db.session.commit()

    hidden = db.session.get(Post, hidden_id)
    votes.cast_vote(users.staff, hidden, 1)
    thread_service.comment(users.staff, hidden, "Hidden for spam.")
    assert staff.wait_for("post.voted", post_id=hidden_id)["score"] == 1
    assert staff.wait_for("comment.created", post_id=hidden_id)["html"]
    votes.cast_vote(users.staff, db.session.get(Post, shown_id), 1)
    member.wait_for("post.voted", post_id=shown_id)
    assert not [e for e in member.events() if e[1].get("post_id") == hidden_id], member.seen


def test_triage_is_for_staff_and_user_rooms_cannot_be_joined(ctx, users, connect, token_for):
    member = connect(token=_token(token_for, users.helper))
    staff = connect(token=_token(token_for, users.staff))
    visitor = connect()
    assert member.join(room="triage")["error"]["code"] == "staff.required"
    assert visitor.join(room="triage")["error"]["code"] == "staff.required"
    assert staff.join(room="triage") == {"ok": True, "rooms": ["triage"]}
    assert visitor.join(room="lists") == {"ok": True, "rooms": ["lists"]}
    assert member.join(room=f"user:{users.asker.id}")["error"]["code"] == "room.unknown"

    thread = factories.make_thread(users.asker, "New question for the triage queue")
    assert staff.wait_for("thread.created", thread_id=thread.id)["title"] == (
        "New question for the triage queue")
    assert visitor.wait_for("thread.created", thread_id=thread.id)["url"].startswith(
        f"/threads/{thread.id}/")
    member.client.sleep(0.3)
    assert not [e for e in member.events() if e[0] == "thread.created"]


def test_malformed_joins_are_answered_not_crashed_on(ctx, connect):
    visitor = connect()
    for payload in ({"thread": "1"}, {"thread": True}, {"thread": 2**40}, {"thread": -3},
                    {"room": "nowhere"}, {}):
        answer = visitor.client.call("join", payload, timeout=10)
        assert set(answer) == {"error"} and answer["error"]["code"], (payload, answer)
    for payload in (None, [1, 2], "thread"):
        answer = visitor.client.call("join", payload, timeout=10)
        assert answer["error"]["code"] == "join.invalid", payload
    assert visitor.join(thread=999999) == {"error": {"code": "thread.not_found",
                                                     "message": "No such thread."}}
    assert visitor.client.connected


def test_notifications_reach_only_their_user(ctx, users, connect, token_for, live_url):
    asker = connect(token=_token(token_for, users.asker))
    other = connect(cookie=_session_cookie(live_url, "other"))
    thread = factories.make_thread(users.asker, "Who gets told about this answer?")
    answer = factories.make_answer(users.helper, thread)

    bell = asker.wait_for("notification.created")
    assert bell["unread_count"] == 1 and bell["kind"] == "answer"
    assert bell["url"] == f"/threads/{thread.id}/who-gets-told-about-this-answer#post-{answer.id}"
    assert bell["text"] == "helper answered your question “Who gets told about this answer?”"

    notifications_follow(users.other, thread)
    factories.make_answer(users.staff, thread, "Staff answer")
    assert other.wait_for("notification.created")["kind"] == "activity"  # via the session cookie
    assert asker.wait_for("notification.created")["unread_count"] == 2
    assert not [e for e in other.events() if e[0] == "notification.created"]


def notifications_follow(user, thread) -> None:
    from community.services import notifications

    notifications.follow(user, thread)


def _session_cookie(live_url: str, username: str) -> str:
    """Log in through the real form on the live server; the session cookie as a Cookie header."""
    import re

    # By hand: the cookie is Secure, so an HTTP client's cookie jar would not send it back.
    page = requests.get(f"{live_url}/login", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    first = re.search(r"session=([^;]+)", page.headers["Set-Cookie"]).group(1)
    response = requests.post(f"{live_url}/login", allow_redirects=False, timeout=10,
                             headers={"Cookie": f"session={first}"},
                             data={"csrf_token": token, "username": username,
                                   "password": factories.PASSWORD})
    assert response.status_code == 302, response.text
    cookie = re.search(r"session=([^;]+)", response.headers["Set-Cookie"]).group(1)
    return f"session={cookie}"


def test_a_bad_token_is_refused_at_connect(live_url):
    import pytest
    import socketio

    client = socketio.Client(reconnection=False)
    refusals = []
    client.on("connect_error", refusals.append)
    try:
        client.connect(live_url, auth={"token": "not-a-token"}, transports=["polling"],
                       wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        assert refusals == [{"message": "auth.invalid_token"}]
    else:
        client.disconnect()
        pytest.fail("a connection with a bad token was accepted")


def test_after_a_dropped_connection_the_client_reconnects_rejoins_and_catches_up(
        ctx, users, live_url, connect, token_for):
    import socket
    import threading

    thread = factories.make_thread(users.asker, "Signal drops every evening at home")
    thread_id = thread.id
    listener = connect(token=_token(token_for, users.asker), reconnection_delay=0.3,
                       reconnection_delay_max=0.3, randomization_factor=0)
    connects, drops = [], threading.Event()
    listener.client.on("connect", lambda: connects.append(listener.client.sid))
    listener.client.on("disconnect", lambda reason=None: drops.set())
    first_sid = listener.client.sid
    listener.join(thread=thread_id)

    listener.client.eio.ws.sock.shutdown(socket.SHUT_RDWR)  # the network goes away
    assert drops.wait(10), "the client never noticed the drop"
    missed = factories.make_answer(users.helper, thread, "Posted while the socket was down.")
    listener.client.sleep(0)
    deadline = 50
    while not connects and deadline:
        listener.client.sleep(0.1)
        deadline -= 1
    assert connects and connects[0] != first_sid, "the client did not reconnect"

    # A new connection is a new session on the server: rooms are joined again, and what went
    # out meanwhile is read once from the API (live.js does the same with the page).
    assert listener.join(thread=thread_id)["ok"] is True
    caught_up = requests.get(f"{live_url}/api/v1/threads/{thread_id}", timeout=10).json()
    assert [a["id"] for a in caught_up["answers"]] == [missed.id]
    later = factories.make_answer(users.other, db.session.get(type(thread), thread_id),
                                  "Posted after the reconnect.")
    assert listener.wait_for("answer.created", post_id=later.id)["answer_count"] == 2
