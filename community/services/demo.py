"""Demo data: a support community for the fictional Kestrel Mobile, loaded through the services."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from community.extensions import db
from community.models import ReputationEvent, User
from community.models.base import utcnow
from community.services import accounts, answers, search, threads, votes

DATA_FILE = Path(__file__).resolve().parent.parent / "demo" / "data.json"
DEMO_PASSWORD = "kestrel-demo"


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def load(path: Path = DATA_FILE) -> dict[str, int]:
    """Create the demo users and threads as if they had happened over the past weeks.

    Everything goes through the same services as real use (so the rules hold); only the
    timestamps are moved back afterwards. Returns counts of what was created.
    """
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    users = {
        spec["username"]: accounts.register(spec["username"], spec["email"], DEMO_PASSWORD,
                                            role=spec["role"], bio=spec.get("bio", ""),
                                            verified=True)
        for spec in data["users"]
    }
    endorser = next(u for u in users.values() if u.role == "staff")
    now = utcnow()
    counts = {"users": len(users), "threads": 0, "answers": 0, "comments": 0, "votes": 0}
    voters = [u for u in users.values() if u.role == "member"]
    for spec in data["threads"]:
        asked_at = now - timedelta(hours=spec["age_hours"])
        thread = threads.ask(users[spec["author"]], spec["title"], spec["body"], spec["tags"])
        moments = [asked_at]
        _backdate(thread.question, asked_at)
        thread.created_at = asked_at
        for comment_spec in spec.get("comments", []):
            moments.append(_comment(users, thread.question, comment_spec, asked_at))
            counts["comments"] += 1
        for answer_spec in spec.get("answers", []):
            answered_at = asked_at + timedelta(hours=answer_spec["after_hours"])
            post = threads.answer(users[answer_spec["author"]], thread, answer_spec["body"])
            _backdate(post, answered_at)
            moments.append(answered_at)
            counts["answers"] += 1
            for comment_spec in answer_spec.get("comments", []):
                moments.append(_comment(users, post, comment_spec, asked_at))
                counts["comments"] += 1
            if answer_spec.get("endorsed"):
                answers.endorse(endorser, post)
                post.endorsed_at = answered_at + timedelta(minutes=30)
            if answer_spec.get("accepted"):
                answers.accept(thread.author, thread, post)
            wanted = 3 if answer_spec.get("accepted") else 2 if answer_spec.get("endorsed") else (
                len(answer_spec["body"]) % 3)
            counts["votes"] += _upvote(voters, post, wanted)
        counts["votes"] += _upvote(voters, thread.question, len(spec["title"]) % 4)
        thread.last_activity_at = max(moments)
        db.session.commit()
        counts["threads"] += 1
    for user in users.values():
        user.created_at = now - timedelta(hours=max(s["age_hours"] for s in data["threads"]) + 24)
    # Reputation was earned when the posts were written, not when the loader ran.
    for event in db.session.scalars(select(ReputationEvent).where(ReputationEvent.post_id.is_not(None))):
        event.created_at = event.post.created_at + timedelta(hours=1)
    db.session.commit()
    search.rebuild()  # the back-dating above bypassed the services, so index the final state
    return counts


def _upvote(voters: list[User], post, wanted: int) -> int:
    """Upvotes from the first `wanted` members who did not write the post (deterministic)."""
    chosen = [u for u in voters if u.id != post.author_id][post.id % 3:][:wanted]
    for voter in chosen:
        votes.cast_vote(voter, post, 1)
    return len(chosen)


def _comment(users: dict[str, User], post, spec: dict[str, Any], asked_at) -> Any:
    at = asked_at + timedelta(hours=spec["after_hours"])
    item = threads.comment(users[spec["author"]], post, spec["body"])
    item.created_at = at
    return at


def _backdate(post, at) -> None:
    post.created_at = at
    for revision in post.revisions:
        revision.created_at = at
