"""Reputation: the points table, the ledger, ranks, privileges and badges.

Every change is a `ReputationEvent` row and the user's cached `reputation_total` moves by the
same delta in the same transaction (one UPDATE, no recount). Undoing an effect writes a row with
the exact opposite of what is still standing for that (user, kind, post, actor), so reversals stay
exact even if the points table changed in between. Reputation shown to people is
max(1, 1 + total). The activity kinds and their default points are DEFAULT_POINTS (the
REPUTATION_POINTS setting overrides them), as Apache Answer keeps its activity types and points in one place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from community.extensions import db
from community.models import BadgeAward, Post, ReputationEvent, Thread, User
from community.models.base import insert_rows, utcnow
from community.services import visibility

# kind → default points; override any of them with the REPUTATION_POINTS setting.
QUESTION_UPVOTED = "question.upvoted"
ANSWER_UPVOTED = "answer.upvoted"
POST_DOWNVOTED = "post.downvoted"
DOWNVOTE_CAST = "downvote.cast"
ANSWER_ACCEPTED = "answer.accepted"
ACCEPTED_BY_ASKER = "accept.asker"
ANSWER_ENDORSED = "answer.endorsed"
ADJUSTMENT = "adjustment"
# Moderators agreed a post or comment was spam or abusive (services/moderation/flags.py).
POST_FLAGGED_SPAM = "post.flagged_spam"
COMMENT_FLAGGED_SPAM = "comment.flagged_spam"

DEFAULT_POINTS = {
    QUESTION_UPVOTED: 5,
    ANSWER_UPVOTED: 10,
    POST_DOWNVOTED: -2,
    DOWNVOTE_CAST: -1,
    ANSWER_ACCEPTED: 15,
    ACCEPTED_BY_ASKER: 2,
    ANSWER_ENDORSED: 10,
    POST_FLAGGED_SPAM: -100,
    COMMENT_FLAGGED_SPAM: -100,
}

class Badge(NamedTuple):
    name: str
    description: str


BADGES = {
    "first_question": Badge("Curious", "Asked a first question"),
    "first_answer": Badge("Helping hand", "Posted a first answer"),
    "first_accepted": Badge("Problem solver", "Had an answer accepted"),
    "ten_accepted": Badge("Trusted fixer", "Had ten answers accepted"),
    "quick_solver": Badge("Quick draw", "Answered within 15 minutes, and the answer was accepted"),
    "first_endorsed": Badge("Staff pick", "Had an answer endorsed by Kestrel staff"),
}
QUICK_ANSWER = timedelta(minutes=15)

REASONS = {
    QUESTION_UPVOTED: ("Question upvoted", "Question upvote withdrawn"),
    ANSWER_UPVOTED: ("Answer upvoted", "Answer upvote withdrawn"),
    POST_DOWNVOTED: ("Downvote withdrawn", "Post downvoted"),
    DOWNVOTE_CAST: ("Own downvote withdrawn", "You downvoted an answer"),
    ANSWER_ACCEPTED: ("Answer accepted", "Acceptance withdrawn"),
    ACCEPTED_BY_ASKER: ("Accepted an answer", "Acceptance withdrawn"),
    ANSWER_ENDORSED: ("Answer endorsed by staff", "Endorsement withdrawn"),
    ADJUSTMENT: ("Adjustment", "Adjustment"),
    POST_FLAGGED_SPAM: ("Spam or abuse decision undone", "Post found to be spam or abusive"),
    COMMENT_FLAGGED_SPAM: ("Spam or abuse decision undone",
                           "Comment found to be spam or abusive"),
}


def reason(kind: str, delta: int) -> str:
    """Words for a ledger row in a reputation history."""
    gain, loss = REASONS.get(kind, (kind, kind))
    return gain if delta > 0 else loss


def points(kind: str) -> int:
    overrides = current_app.config.get("REPUTATION_POINTS") or {}
    return int(overrides.get(kind, DEFAULT_POINTS[kind]))


def rank_for(reputation: int) -> str:
    ranks = current_app.config["RANKS"]
    name = ranks[0][1]
    for threshold, rank in ranks:
        if reputation >= threshold:
            name = rank
    return name


# ---- the ledger (helpers: flush, never commit) ----------------------------------------------

def record(user_id: int, kind: str, post_id: int | None, actor_id: int | None,
           delta: int | None = None) -> None:
    """Add one ledger row and move the cached total by the same amount."""
    delta = points(kind) if delta is None else delta
    if delta == 0:
        return
    db.session.add(ReputationEvent(user_id=user_id, kind=kind, delta=delta, post_id=post_id,
                                   actor_id=actor_id))
    db.session.execute(update(User).where(User.id == user_id)
                       .values(reputation_total=User.reputation_total + delta)
                       .execution_options(synchronize_session=False))
    # The UPDATE bypassed the identity map: a loaded user re-reads the total when next asked.
    loaded = db.session.identity_map.get(db.session.identity_key(User, user_id))
    if loaded is not None:
        db.session.expire(loaded, ["reputation_total"])


def standing(user_id: int, kind: str, post_id: int, actor_id: int | None) -> int:
    """What still stands in the ledger for (user, kind, post, actor)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(ReputationEvent.delta), 0)).where(
            ReputationEvent.post_id == post_id, ReputationEvent.kind == kind,
            ReputationEvent.user_id == user_id,
            ReputationEvent.actor_id.is_(None) if actor_id is None
            else ReputationEvent.actor_id == actor_id))


def reverse(user_id: int, kind: str, post_id: int, actor_id: int | None) -> None:
    """Cancel whatever still stands for (user, kind, post, actor): write its exact opposite."""
    standing_now = standing(user_id, kind, post_id, actor_id)
    if standing_now:
        record(user_id, kind, post_id, actor_id, delta=-standing_now)


def grant(user: User, delta: int, actor: User | None = None) -> None:
    """A manual adjustment, kept in the ledger like any other; committed at once. Only the tests
    use it today (to give a user the reputation a privilege needs)."""
    record(user.id, ADJUSTMENT, None, actor.id if actor else None, delta=delta)
    db.session.commit()
    db.session.refresh(user)


# ---- badges ---------------------------------------------------------------------------------

def award(user_id: int, badge: str, post_id: int | None = None) -> bool:
    """Give `badge` to the user unless they have it; True when newly awarded."""
    if db.session.scalar(select(BadgeAward.id).where(BadgeAward.user_id == user_id,
                                                     BadgeAward.badge == badge)):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(BadgeAward(user_id=user_id, badge=badge, post_id=post_id))
    except IntegrityError:  # awarded by a concurrent request a moment ago
        return False
    return True


def award_for_answer(post: Post) -> None:
    if _first_of_their_kind("answer", [(post.author_id, post.id)]):
        award(post.author_id, "first_answer", post.id)


def award_for_question(post: Post) -> None:
    if _first_of_their_kind("question", [(post.author_id, post.id)]):
        award(post.author_id, "first_question", post.id)


def award_for_questions(questions: list[tuple[int, int]]) -> None:
    """`award_for_question` for a batch of new questions, (author id, post id), by different
    authors (the bridge takes in a burst), in three statements. No savepoint: an award made
    concurrently fails the caller's transaction, and the bridge then takes those messages in
    one at a time."""
    first = _first_of_their_kind("question", questions)
    if not first:
        return
    have = set(db.session.scalars(select(BadgeAward.user_id).where(
        BadgeAward.user_id.in_([author_id for author_id, _ in first]),
        BadgeAward.badge == "first_question")))
    insert_rows(db.session.connection(), BadgeAward.__table__, [
        {"user_id": author_id, "badge": "first_question", "post_id": post_id}
        for author_id, post_id in first if author_id not in have])


def award_for_acceptance(thread: Thread, post: Post) -> None:
    accepted = db.session.scalar(select(func.count()).select_from(Thread).join(
        Post, Thread.accepted_answer_id == Post.id).where(Post.author_id == post.author_id))
    if accepted >= 1:
        award(post.author_id, "first_accepted", post.id)
    if accepted >= 10:
        award(post.author_id, "ten_accepted", post.id)
    if post.created_at - thread.created_at <= QUICK_ANSWER:
        award(post.author_id, "quick_solver", post.id)


def award_for_endorsement(post: Post) -> None:
    award(post.author_id, "first_endorsed", post.id)


def _first_of_their_kind(kind: str, posts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The posts, (author id, post id), whose author has no other post of this kind: one index
    probe per author, not a count that grows with a prolific author's history."""
    if not posts:
        return []
    others = select(Post.id).where(Post.author_id == User.id, Post.kind == kind,
                                   Post.id.not_in([post_id for _, post_id in posts]))
    seasoned = set(db.session.scalars(select(User.id).where(
        User.id.in_({author_id for author_id, _ in posts}), others.exists())))
    return [(author_id, post_id) for author_id, post_id in posts if author_id not in seasoned]


def badges_of(user: User) -> list[tuple[Badge, datetime]]:
    awards = db.session.scalars(select(BadgeAward).where(BadgeAward.user_id == user.id)
                                .order_by(BadgeAward.created_at, BadgeAward.id))
    return [(BADGES[a.badge], a.created_at) for a in awards if a.badge in BADGES]


# ---- reading --------------------------------------------------------------------------------

def history(viewer: User | None, user: User,
            limit: int = 30) -> list[tuple[ReputationEvent, Post | None]]:
    """A user's latest ledger rows, each with the post it was for when the viewer may see that
    post (a hidden one's title is not shown, only the change)."""
    events = db.session.scalars(
        select(ReputationEvent).where(ReputationEvent.user_id == user.id)
        .options(joinedload(ReputationEvent.post).joinedload(Post.thread))
        .order_by(ReputationEvent.created_at.desc(), ReputationEvent.id.desc()).limit(limit))
    return [(event, event.post if event.post is not None
             and visibility.can_see(viewer, event.post.thread, event.post) else None)
            for event in events]


def leaderboard(period: str, *, staff: bool, limit: int = 20) -> list[tuple[User, int]]:
    """Users ranked by reputation gained this week, month, or in all (staff or members)."""
    roles = User.role.in_(("staff", "moderator", "admin"))
    who = roles if staff else ~roles
    if period == "all":
        rows = db.session.execute(select(User, User.reputation_total).where(who)
                                  .order_by(User.reputation_total.desc(), User.id).limit(limit))
        return [(user, max(0, total)) for user, total in rows]
    since = utcnow() - {"week": timedelta(days=7), "month": timedelta(days=30)}[period]
    gained = func.sum(ReputationEvent.delta).label("gained")
    sub = (select(ReputationEvent.user_id, gained).where(ReputationEvent.created_at >= since)
           .group_by(ReputationEvent.user_id).subquery())
    rows = db.session.execute(select(User, sub.c.gained).join(sub, sub.c.user_id == User.id)
                              .where(who, sub.c.gained > 0)
                              .order_by(sub.c.gained.desc(), User.id).limit(limit))
    return [(user, gained) for user, gained in rows]


# ---- audit ----------------------------------------------------------------------------------

def differences() -> list[tuple[User, int, int]]:
    """Users whose cached total differs from their ledger: (user, cached, ledger)."""
    ledger = (select(ReputationEvent.user_id, func.sum(ReputationEvent.delta).label("total"))
              .group_by(ReputationEvent.user_id).subquery())
    rows = db.session.execute(
        select(User, func.coalesce(ledger.c.total, 0)).outerjoin(ledger, ledger.c.user_id == User.id)
        .where(User.reputation_total != func.coalesce(ledger.c.total, 0)).order_by(User.id))
    return [(user, user.reputation_total, total) for user, total in rows]


def recompute() -> int:
    """Set every cached total from the ledger; returns how many users were repaired."""
    wrong = differences()
    for user, _cached, total in wrong:
        user.reputation_total = total
    db.session.commit()
    return len(wrong)
