"""Who is told what (issue 6): answers and comments on your posts, your answer accepted or
endorsed, @mentions, activity on followed threads; never your own actions; hidden things to
staff only. Everything goes through the real services and the after-commit worker."""

from __future__ import annotations

from sqlalchemy import event, select, update

from community.extensions import db
from community.models import Notification, Subscription, Thread
from community.services import answers, events, notifications, threads
from community.workers import notifications as notifications_worker
from community.workers.worker import workers_of
from tests import factories


def told(user) -> list[tuple[str, int | None]]:
    """(kind, actor id) of a user's notifications, oldest first."""
    db.session.expire_all()
    return [(n.kind, n.actor_id) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))]


def followers(thread) -> set[int]:
    return set(db.session.scalars(select(Subscription.user_id)
                                  .where(Subscription.thread_id == thread.id)))


def test_an_answer_tells_the_asker_and_the_followers_and_makes_the_answerer_follow(
        ctx, users, settle):
    thread = factories.make_thread(users.asker)
    settle()
    assert followers(thread) == {users.asker.id}
    notifications.follow(users.other, thread)

    factories.make_answer(users.helper, thread)
    settle()

    assert told(users.asker) == [("answer", users.helper.id)]
    assert told(users.other) == [("activity", users.helper.id)]
    assert told(users.helper) == []  # not about their own answer
    assert followers(thread) == {users.asker.id, users.other.id, users.helper.id}


def test_comments_tell_the_post_author_and_the_asker_once_each(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    answer = factories.make_answer(users.helper, thread)
    settle()
    threads.comment(users.other, answer, "Did that work on iOS too?")
    settle()
    assert told(users.helper) == [("comment", users.other.id)]
    assert told(users.asker)[-1] == ("comment", users.other.id)

    threads.comment(users.asker, answer, "Yes, thanks!")  # the asker comments: not told
    settle()
    assert told(users.asker) == [("answer", users.helper.id), ("comment", users.other.id)]
    assert told(users.helper)[-1] == ("comment", users.asker.id)


def test_mentions_win_over_activity_and_unknown_names_are_ignored(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    answer = factories.make_answer(users.helper, thread)
    settle()
    notifications.follow(users.other, thread)
    threads.comment(users.helper, answer,
                    "@OTHER have a look; @nobody_here and email@example.com are not names.")
    settle()
    assert told(users.other) == [("mention", users.helper.id)]
    assert told(users.asker)[-1] == ("comment", users.helper.id)


def test_a_burst_of_new_threads_looks_up_the_names_they_mention_once(ctx, users, settle):
    """A burst of social complaints names the brand in nearly every one: the batch's @names are
    looked up in one query, not one per thread, and each thread still tells whom it names."""
    made = [factories.make_thread(users.asker, f"Question number {n} about roaming",
                                  f"@{users.helper.username} and @{users.other.username}, "
                                  f"and @nobody_{n}: see this.") for n in range(5)]
    answer = factories.make_answer(users.other, made[0], f"@{users.helper.username} knows.")
    settle()
    for item in db.session.scalars(select(Notification)):
        db.session.delete(item)
    db.session.commit()
    lookups = []

    def count(conn, cursor, statement, *args):
        if "FROM users" in statement and "username_key IN" in statement:
            lookups.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        notifications.record([("thread.created", {"thread_id": thread.id}) for thread in made]
                             + [("answer.created", {"thread_id": made[0].id,
                                                    "post_id": answer.id})])
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(lookups) == 1
    assert told(users.helper) == [("mention", users.asker.id)] * 5 + [("mention", users.other.id)]
    assert told(users.other) == [("mention", users.asker.id)] * 5


def test_accepted_and_endorsed_tell_the_answerer(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    answer = factories.make_answer(users.helper, thread)
    answers.accept(users.asker, thread, answer)
    answers.endorse(users.staff, answer)
    settle()
    assert told(users.helper) == [("accepted", users.asker.id), ("endorsed", users.staff.id)]


def test_self_accepting_tells_nobody(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    own = factories.make_answer(users.asker, thread, "I fixed it myself: restart twice.")
    answers.accept(users.asker, thread, own)
    settle()
    assert told(users.asker) == []


def test_a_hidden_thread_is_told_to_staff_only(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    settle()
    notifications.follow(users.moderator, thread)
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(is_hidden=True))
    db.session.commit()

    factories.make_answer(users.staff, thread, "Staff note on a hidden thread, @helper.")
    settle()
    assert told(users.asker) == [] and told(users.helper) == []
    assert told(users.moderator) == [("activity", users.staff.id)]


def test_follow_and_unfollow_are_idempotent(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    settle()
    for _ in range(2):
        assert notifications.follow(users.other, thread) is True
    assert notifications.is_following(users.other, thread)
    for _ in range(2):
        assert notifications.unfollow(users.other, thread) is False
    assert not notifications.is_following(users.other, thread)
    assert followers(thread) == {users.asker.id}


def test_a_burst_of_events_is_written_together_and_a_bad_one_costs_only_its_own(
        app, ctx, users, settle):
    """The worker takes the events that arrive close together as one batch; when the batch fails
    (here: an event missing its post id), each event is written alone and the failure is kept.
    The bad event stays owed, claimed until its lease ends, to be tried again then."""
    thread = factories.make_thread(users.asker)
    settle()
    worker = workers_of(app)[notifications_worker.RECORDER]
    first = factories.make_answer(users.helper, thread)
    second = factories.make_answer(users.other, thread)
    notifications.owe([events.Event("answer.created", {"thread_id": thread.id})])  # no post_id
    db.session.commit()
    assert notifications_worker.flush()

    assert told(users.asker) == [("answer", users.helper.id), ("answer", users.other.id)]
    assert [n.post_id for n in db.session.scalars(select(Notification).where(
        Notification.user_id == users.asker.id).order_by(Notification.id))] == [first.id, second.id]
    assert len(notifications_worker.failures()) == 1
    assert "KeyError" in notifications_worker.failures()[0]
    assert notifications.count_owed() == 1
    worker.failures.clear()
