"""Owed notifications (issue 14, item 5): a change's transaction keeps what it owes as rows, and
claims under a lease let several workers and processes take them up with each event notifying
exactly once, even when a worker dies between its claim and its write."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, update

from community.extensions import db
from community.models import Notification, OwedNotification
from community.models.base import utcnow
from community.services import notifications, threads, votes
from community.services.notifications import owed
from tests import factories


def statements_into_owed(action) -> list[str]:
    """The INSERT statements into owed_notifications that `action()` runs."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO OWED_NOTIFICATIONS"):
            seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return seen


def left_behind(name: str, data: dict, *, minutes_ago: int = 5, **columns) -> int:
    """An owed row as a process that died before its worker got to it leaves it."""
    row = OwedNotification(event=name, data=data, created_at=utcnow() - timedelta(
        minutes=minutes_ago), **columns)
    db.session.add(row)
    db.session.commit()
    return row.id


def told(post_id: int) -> list[tuple[int, str]]:
    db.session.rollback()
    return [(n.user_id, n.kind) for n in db.session.scalars(
        select(Notification).where(Notification.post_id == post_id).order_by(Notification.id))]


def test_a_change_owes_one_row_in_its_own_transaction_and_a_vote_owes_none(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    answer = None

    def post_answer():
        nonlocal answer
        answer = factories.make_answer(users.helper, thread)

    assert len(statements_into_owed(post_answer)) == 1
    assert statements_into_owed(lambda: votes.cast_vote(users.other, answer, 1)) == []
    # A burst of threads made in one transaction (the bridge's intake) owes them in one INSERT.
    drafts = [threads.ThreadDraft(users.asker.id, f"Question number {n} on roaming", "Body.", [])
              for n in range(5)]
    assert len(statements_into_owed(lambda: (threads.create_threads(drafts),
                                             db.session.commit()))) == 1
    settle()
    assert told(answer.id) == [(users.asker.id, "answer")]
    assert notifications.count_owed() == 0


def test_a_rolled_back_change_owes_nothing(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    settle()
    threads.add_answer(users.helper, thread, "Never committed.")
    db.session.rollback()
    assert notifications.count_owed() == 0


def test_rows_left_by_a_dead_process_are_written_once_by_a_later_round(ctx, users, settle):
    thread = factories.make_thread(users.asker)
    answer = factories.make_answer(users.helper, thread, f"@{users.other.username} see this")
    settle()
    db.session.execute(Notification.__table__.delete())  # as if the process died first
    db.session.commit()
    left_behind("answer.created", {"thread_id": thread.id, "post_id": answer.id})
    fresh = left_behind("answer.created", {"thread_id": thread.id, "post_id": answer.id},
                        minutes_ago=0)

    assert notifications.recover_owed(timedelta(minutes=1)) == 1
    assert told(answer.id) == [(users.other.id, "mention"), (users.asker.id, "answer")]
    # The fresh row is its own process's to write, at once; a round leaves it alone.
    assert db.session.scalars(select(OwedNotification.id)).all() == [fresh]
    assert notifications.recover_owed(timedelta(minutes=1)) == 0


def test_a_claim_keeps_other_workers_off_until_its_lease_runs_out(app, ctx, users, settle):
    thread = factories.make_thread(users.asker)
    answer = factories.make_answer(users.helper, thread)
    settle()
    db.session.execute(Notification.__table__.delete())
    db.session.commit()
    row_id = left_behind("answer.created", {"thread_id": thread.id, "post_id": answer.id})
    which = OwedNotification.id == row_id

    first = owed.claim(which)
    assert [row.id for row in first.rows] == [row_id] and first.rows[0].attempts == 1
    assert owed.claim(which) is None  # held: a second worker gets nothing
    assert notifications.recover_owed(timedelta(0)) == 0

    # The first worker died mid-write: once its lease has run out, another takes the row...
    db.session.execute(update(OwedNotification).where(which).values(
        claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    second = owed.claim(which)
    assert second is not None and second.rows[0].attempts == 2
    # ...and the first, had it only been slow, writes nothing: the row is no longer its own.
    assert owed.write(first) == 0
    assert told(answer.id) == []
    assert owed.write(second) == 1
    assert told(answer.id) == [(users.asker.id, "answer")]
    assert notifications.count_owed() == 0


def test_a_row_that_keeps_failing_is_left_for_a_person_after_its_attempts(ctx, users):
    thread = factories.make_thread(users.asker)
    row_id = left_behind("answer.created", {"thread_id": thread.id})  # no post_id: KeyError
    for attempt in range(1, owed.ATTEMPTS + 1):
        try:
            notifications.recover_owed(timedelta(0))
        except KeyError:
            pass
        else:
            raise AssertionError(f"attempt {attempt} did not fail")
        db.session.execute(update(OwedNotification).values(claimed_until=utcnow()))
        db.session.commit()  # its lease ends at once
    assert notifications.recover_owed(timedelta(0)) == 0  # not claimed again
    row = db.session.get(OwedNotification, row_id)
    assert row.attempts == owed.ATTEMPTS
