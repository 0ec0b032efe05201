"""The moderation queue: one item per flagged post or comment, oldest first, for staff.

An item is named by the id of its first flag in the list (`open` or `resolved`), which is also
its place in the order: the cursor is that id, so a page costs the same at any depth (the
`ix_flags_status_created` and per-target indexes answer it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from community.extensions import db
from community.models import AuditEntry, Comment, Flag, Post, User
from community.services import permissions
from community.services.errors import Invalid
from community.services.pagination import Page, decode_cursor, encode_cursor

STATUSES = ("open", "resolved")


@dataclass
class History:
    """What the author did before: flags moderators agreed with, suspensions."""

    agreed_flags: int = 0
    suspensions: int = 0
    suspended_until: datetime | None = None


@dataclass
class QueueItem:
    id: int  # the first flag's id
    status: str
    target: Post | Comment
    flags: list[Flag] = field(default_factory=list)
    history: History = field(default_factory=History)

    @property
    def kind(self) -> str:
        return "post" if isinstance(self.target, Post) else "comment"

    @property
    def thread(self):
        return self.target.thread if isinstance(self.target, Post) else self.target.post.thread

    @property
    def reasons(self) -> dict[str, int]:
        return dict(Counter(flag.reason for flag in self.flags).most_common())

    @property
    def outcome(self) -> str | None:
        return self.flags[-1].outcome if self.flags else None


def _targets(status: str, after: int | None, limit: int) -> list[tuple[int | None, int | None, int]]:
    """(post id, comment id, first flag id) of the next `limit + 1` targets after `after`, in
    the order of their first flag in this list. Flags are read in id order a chunk at a time
    (index on status, id); a target counts where the flag read is its first one (an earlier one
    means an earlier page showed it), so no request aggregates the whole list."""
    found: list[tuple[int | None, int | None, int]] = []
    seen: set[tuple[int | None, int | None]] = set()
    position, chunk = after or 0, 4 * (limit + 1)
    while len(found) <= limit:
        rows = db.session.execute(
            select(Flag.id, Flag.post_id, Flag.comment_id)
            .where(Flag.status == status, Flag.id > position).order_by(Flag.id).limit(chunk)).all()
        if not rows:
            break
        position = rows[-1].id
        fresh: dict[tuple[int | None, int | None], int] = {}
        for flag_id, post_id, comment_id in rows:
            key = (post_id, comment_id)
            if key not in seen and key not in fresh:
                fresh[key] = flag_id
        seen.update(fresh)
        firsts = _first_flags(status, fresh)
        found += [(*key, flag_id) for key, flag_id in fresh.items() if firsts.get(key) == flag_id]
    return found[:limit + 1]


def _first_flags(status: str, targets) -> dict[tuple[int | None, int | None], int]:
    """Each target's first flag id in the list (per-target indexes)."""
    firsts: dict[tuple[int | None, int | None], int] = {}
    for column, position in ((Flag.post_id, 0), (Flag.comment_id, 1)):
        ids = [key[position] for key in targets if key[position] is not None]
        if not ids:
            continue
        for target_id, first in db.session.execute(
                select(column, func.min(Flag.id)).where(column.in_(ids), Flag.status == status)
                .group_by(column)):
            firsts[(target_id, None) if position == 0 else (None, target_id)] = first
    return firsts


def _history(authors: set[int]) -> dict[int, History]:
    found = {author_id: History() for author_id in authors}
    if not authors:
        return found
    for column, model in ((Flag.post_id, Post), (Flag.comment_id, Comment)):
        rows = db.session.execute(
            select(model.author_id, func.count(Flag.id)).join(model, model.id == column)
            .where(Flag.status == "resolved", Flag.outcome == "agreed",
                   model.author_id.in_(authors))
            .group_by(model.author_id))
        for author_id, count in rows:
            found[author_id].agreed_flags += count
    for user_id, count in db.session.execute(
            select(AuditEntry.target_id, func.count(AuditEntry.id))
            .where(AuditEntry.target_kind == "user", AuditEntry.action == "user.suspend",
                   AuditEntry.target_id.in_(authors)).group_by(AuditEntry.target_id)):
        found[user_id].suspensions = count
    for user in db.session.scalars(select(User).where(User.id.in_(authors))):
        found[user.id].suspended_until = user.suspended_until if user.is_suspended else None
    return found


def queue(viewer: User | None, *, status: str = "open", cursor: str | None = None,
          limit: int = 30) -> Page[QueueItem]:
    """Flagged posts and comments with their flags, content and authors' history, oldest
    first. Staff, moderators and admins. Raises Unauthorized, Forbidden, Invalid (status),
    BadRequest (cursor)."""
    permissions.require(viewer, "moderation.read")
    if status not in STATUSES:
        raise Invalid("status", "status.invalid", "status is open or resolved.")
    sort = f"moderation-{status}"
    after = decode_cursor(cursor, sort, int)[1] if cursor else None
    rows = _targets(status, after, limit)
    more, rows = len(rows) > limit, rows[:limit]
    post_ids = [post_id for post_id, _, _ in rows if post_id is not None]
    comment_ids = [comment_id for _, comment_id, _ in rows if comment_id is not None]
    posts = {p.id: p for p in db.session.scalars(select(Post).where(Post.id.in_(post_ids)).options(
        joinedload(Post.author), joinedload(Post.thread)))} if post_ids else {}
    comments = {c.id: c for c in db.session.scalars(
        select(Comment).where(Comment.id.in_(comment_ids)).options(
            joinedload(Comment.author), joinedload(Comment.post).joinedload(Post.thread)))
    } if comment_ids else {}
    flags: list[Flag] = []
    for column, ids in ((Flag.post_id, post_ids), (Flag.comment_id, comment_ids)):
        if ids:  # one statement per kind: each uses its target's index
            flags += db.session.scalars(
                select(Flag).where(column.in_(ids), Flag.status == status)
                .options(selectinload(Flag.flagger), selectinload(Flag.duplicate_of)))
    flags.sort(key=lambda flag: flag.id)
    items = []
    for post_id, comment_id, first in rows:
        target = posts.get(post_id) if post_id is not None else comments.get(comment_id)
        if target is None:
            continue
        mine = [f for f in flags if (f.post_id, f.comment_id) == (post_id, comment_id)]
        items.append(QueueItem(first, status, target, mine))
    history = _history({item.target.author_id for item in items})
    for item in items:
        item.history = history[item.target.author_id]
    next_cursor = encode_cursor(sort, rows[-1][2], rows[-1][2]) if more else None
    return Page(items, next_cursor)
