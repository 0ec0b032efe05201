"""The after-commit dispatcher: subscribers hear only the events they named, after the commit;
work committed outside the session is announced to the same subscribers."""

from __future__ import annotations

import pytest

from community.extensions import db
from community.services import events, threads
from tests import factories


@pytest.fixture
def heard(app):
    """Events heard by a subscriber that names two events."""
    got: list[str] = []
    subscriber = lambda event: got.append(event.name)  # noqa: E731
    events.subscribe(app, subscriber, names={"answer.created", "inbound.stored"})
    yield got
    events.unsubscribe(app, subscriber)


def test_a_subscriber_hears_only_the_events_it_names_after_the_commit(ctx, heard):
    asker, helper = factories.make_user("asker"), factories.make_user("helper")
    thread = factories.make_thread(asker)  # thread.created: not named
    assert heard == []
    threads.add_answer(helper, thread, "Turn the phone off and on again, then try once more.")
    assert heard == []  # published, not committed
    db.session.commit()
    assert heard == ["answer.created"]


def test_announce_reaches_subscribers_at_once_and_unknown_names_are_refused(app, ctx, heard):
    events.announce("inbound.stored", inbound_ids=[1, 2])
    assert heard == ["inbound.stored"]
    with pytest.raises(ValueError):
        events.announce("inbound.lost")
    with pytest.raises(ValueError):
        events.subscribe(app, heard.append, names={"no.such.event"})


def test_a_batch_subscriber_gets_a_transactions_events_as_one_list_before_the_commit(app, ctx):
    """What lets owed notifications cost one INSERT per commit, however many threads it made."""
    batches: list[list[str]] = []
    subscriber = lambda happened: batches.append([e.name for e in happened])  # noqa: E731
    events.subscribe(app, subscriber, names={"thread.created"}, in_transaction=True, batch=True)
    try:
        asker = factories.make_user("asker")
        threads.create_threads([threads.ThreadDraft(asker.id, f"Question number {n} on roaming",
                                                    "Body.", []) for n in range(3)])
        assert batches == []  # published, not committing yet
        db.session.commit()
        assert batches == [["thread.created"] * 3]
    finally:
        events.unsubscribe(app, subscriber)
    with pytest.raises(ValueError):
        events.subscribe(app, subscriber, batch=True)  # after the commit is one event at a time
