"""Claims: a staff member says "I am on it" for a thread in the queue. One holder per thread
(the primary key guards the race), lapsing after TRIAGE_CLAIM_MINUTES; a claim never hides the
thread from anyone."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from community.extensions import db
from community.models import Thread, TriageClaim, User
from community.models.base import MAX_ID, utcnow
from community.services import events, permissions
from community.services.errors import Conflict, Forbidden, NotFound
from community.services.retry import retry_on_conflict
from community.services.triage.queue import claim_cutoff


def _thread(thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id) if 0 < thread_id <= MAX_ID else None
    if thread is None:
        raise NotFound("thread.not_found", "No such thread.")
    return thread


def holder(thread_id: int) -> TriageClaim | None:
    """The claim on a thread that has not lapsed, if any."""
    return db.session.scalar(select(TriageClaim).where(
        TriageClaim.thread_id == thread_id, TriageClaim.claimed_at >= claim_cutoff(utcnow())))


@retry_on_conflict
def claim(actor: User | None, thread_id: int) -> TriageClaim:
    """Claim a thread (again: renew one's own). Raises Unauthorized, Forbidden, NotFound,
    Conflict `triage.claimed` while someone else holds it."""
    permissions.require(actor, "triage.claim")
    _thread(thread_id)
    now = utcnow()
    # Compare-and-set: take a lapsed claim, or renew one's own.
    taken = db.session.execute(
        update(TriageClaim).where(TriageClaim.thread_id == thread_id,
                                  (TriageClaim.user_id == actor.id)
                                  | (TriageClaim.claimed_at < claim_cutoff(now)))
        .values(user_id=actor.id, claimed_at=now).execution_options(synchronize_session=False))
    if not taken.rowcount:
        try:
            with db.session.begin_nested():
                db.session.add(TriageClaim(thread_id=thread_id, user_id=actor.id, claimed_at=now))
        except IntegrityError:
            current = holder(thread_id)
            if current is None:
                raise  # lapsed in between: run again (retry_on_conflict)
            db.session.rollback()
            raise Conflict("triage.claimed",
                           f"{current.user.username} is already on this thread.") from None
    events.publish("triage.changed", thread_id=thread_id, change="claimed", user_id=actor.id)
    db.session.commit()
    return db.session.get(TriageClaim, thread_id)


def release(actor: User | None, thread_id: int) -> None:
    """Give up one's claim (moderators and admins may release anyone's). Nothing to release is
    fine. Raises Unauthorized, Forbidden, NotFound."""
    permissions.require(actor, "triage.claim")
    _thread(thread_id)
    current = holder(thread_id)
    if current is not None and current.user_id != actor.id \
            and actor.role not in permissions.MODERATOR_ROLES:
        raise Forbidden("triage.not_holder", f"{current.user.username} holds this claim.")
    gone = db.session.execute(delete(TriageClaim).where(TriageClaim.thread_id == thread_id))
    if gone.rowcount:
        events.publish("triage.changed", thread_id=thread_id, change="released",
                       user_id=actor.id)
    db.session.commit()
