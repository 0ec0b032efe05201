"""Votes on questions and answers: up, down, change, retract."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from community.extensions import db
from community.models import Post, Thread, User, Vote
from community.services import events, permissions, reputation
from community.services.errors import Invalid
from community.services.retry import LostRace, retry_on_conflict


@dataclass(frozen=True)
class VoteResult:
    post_id: int
    thread_id: int
    value: int
    score: int


def current_vote(user: User | None, post: Post) -> int:
    if user is None:
        return 0
    return db.session.scalar(select(Vote.value).where(Vote.user_id == user.id,
                                                      Vote.post_id == post.id)) or 0


def votes_by(user: User | None, posts: list[Post]) -> dict[int, int]:
    """The user's vote on each of `posts` (post id → +1/-1), for drawing vote buttons."""
    if user is None or not posts:
        return {}
    rows = db.session.execute(select(Vote.post_id, Vote.value).where(
        Vote.user_id == user.id, Vote.post_id.in_([p.id for p in posts])))
    return {post_id: value for post_id, value in rows}


@retry_on_conflict
def cast_vote(actor: User, post: Post, value: int) -> VoteResult:
    """Set the actor's vote on a post to +1, -1, or 0 (retract).

    Any active member may upvote; downvoting needs DOWNVOTE_REPUTATION; nobody votes on their
    own posts. Raises Forbidden (`vote.own_post`, `vote.downvote_reputation`, ...) or Invalid.
    Race-free: the vote row changes by compare-and-set and the score by an increment, so a
    concurrent change to the same vote makes this attempt start over (retry_on_conflict).
    """
    if value not in (-1, 0, 1) or isinstance(value, bool):
        raise Invalid("value", "vote.invalid", "A vote is 1, -1 or 0.")
    permissions.require(actor, "post.downvote" if value == -1 else "post.vote", post)
    old = current_vote(actor, post)
    if old == value:
        return VoteResult(post.id, post.thread_id, value, post.score)
    _write_vote(actor.id, post.id, old, value)
    diff = value - old
    db.session.execute(update(Post).where(Post.id == post.id)
                       .values(score=Post.score + diff).execution_options(synchronize_session=False))
    if post.kind == "question":
        db.session.execute(update(Thread).where(Thread.id == post.thread_id)
                           .values(score=Thread.score + diff)
                           .execution_options(synchronize_session=False))
    _move_reputation(actor, post, old, value)
    score = db.session.scalar(select(Post.score).where(Post.id == post.id))
    events.publish("post.voted", thread_id=post.thread_id, post_id=post.id, score=score)
    db.session.commit()
    db.session.expire(post, ["score"])
    return VoteResult(post.id, post.thread_id, value, score)


def _write_vote(user_id: int, post_id: int, old: int, new: int) -> None:
    """Move the vote row from `old` to `new`, or raise LostRace if someone moved it first."""
    where = (Vote.user_id == user_id, Vote.post_id == post_id)
    if old == 0:
        # A concurrent first vote makes this INSERT fail on the unique key: retried.
        db.session.execute(insert(Vote).values(user_id=user_id, post_id=post_id, value=new))
        return
    if new == 0:
        statement = delete(Vote).where(*where, Vote.value == old)
    else:
        statement = update(Vote).where(*where, Vote.value == old).values(value=new)
    if db.session.execute(statement.execution_options(synchronize_session=False)).rowcount != 1:
        raise LostRace()


def _move_reputation(actor: User, post: Post, old: int, new: int) -> None:
    upvoted = (reputation.QUESTION_UPVOTED if post.kind == "question"
               else reputation.ANSWER_UPVOTED)
    if old == 1:
        reputation.reverse(post.author_id, upvoted, post.id, actor.id)
    elif old == -1:
        reputation.reverse(post.author_id, reputation.POST_DOWNVOTED, post.id, actor.id)
        reputation.reverse(actor.id, reputation.DOWNVOTE_CAST, post.id, actor.id)
    if new == 1:
        reputation.record(post.author_id, upvoted, post.id, actor.id)
    elif new == -1:
        reputation.record(post.author_id, reputation.POST_DOWNVOTED, post.id, actor.id)
        if post.kind == "answer":
            reputation.record(actor.id, reputation.DOWNVOTE_CAST, post.id, actor.id)
