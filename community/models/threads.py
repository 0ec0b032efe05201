"""Threads, their posts (question and answers), revisions, comments and tags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from community.models.base import Timestamped, db, utcnow
from community.models.users import User

THREAD_STATUSES = ("unanswered", "answered", "solved")
POST_KINDS = ("question", "answer")

thread_tags = Table(
    "thread_tags",
    db.metadata,
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_thread_tags_tag_id_thread_id", "tag_id", "thread_id"),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(35), unique=True)


class Thread(Timestamped, db.Model):
    __tablename__ = "threads"
    __table_args__ = (
        # Keyset pagination: each list order has an index ending in id.
        Index("ix_threads_active", "last_activity_at", "id"),
        Index("ix_threads_newest", "created_at", "id"),
        Index("ix_threads_votes", "score", "id"),
        Index("ix_threads_status_active", "status", "last_activity_at", "id"),
        Index("ix_threads_status_newest", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="unanswered")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    accepted_answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", use_alter=True, ondelete="SET NULL"))
    # Mirrors the question's score so lists can sort by votes without a join.
    score: Mapped[int] = mapped_column(default=0)
    answer_count: Mapped[int] = mapped_column(default=0)
    # Where the question came from: "web", "api", or a bridge channel slug.
    source_kind: Mapped[str] = mapped_column(String(32), default="web")
    source_url: Mapped[str | None] = mapped_column(String(500))
    is_locked: Mapped[bool] = mapped_column(default=False)
    is_hidden: Mapped[bool] = mapped_column(default=False)
    # Why a moderator hid or locked it (shown to staff and its author, and on a locked page).
    hidden_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    locked_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Closed as a duplicate of another thread, or merged into one (its URL then redirects).
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    tags: Mapped[list[Tag]] = relationship(secondary=thread_tags, order_by=Tag.name)
    posts: Mapped[list[Post]] = relationship(
        back_populates="thread", foreign_keys="Post.thread_id", order_by="Post.id",
        cascade="all, delete-orphan")
    duplicate_of: Mapped[Thread | None] = relationship(remote_side=[id],
                                                       foreign_keys=[duplicate_of_id])

    @property
    def question(self) -> Post:
        return self.posts[0]

    @property
    def answers(self) -> list[Post]:
        return [post for post in self.posts if post.kind == "answer"]

    @property
    def is_solved(self) -> bool:
        return self.accepted_answer_id is not None

    @property
    def tag_names(self) -> list[str]:
        return [tag.name for tag in self.tags]

    @staticmethod
    def status_for(accepted_answer_id: int | None, answer_count: int) -> str:
        """solved with an accepted answer, answered with any visible answer, else unanswered."""
        if accepted_answer_id is not None:
            return "solved"
        return "answered" if answer_count > 0 else "unanswered"

    def refresh_status(self) -> None:
        self.status = Thread.status_for(self.accepted_answer_id, self.answer_count)


class Post(Timestamped, db.Model):
    """The question body of a thread, or one answer to it."""

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_thread_kind", "thread_id", "kind", "id"),
                      Index("ix_posts_author_created", "author_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(default=0)
    is_hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Held for review (the spam checker): seen by its author and staff only until approved.
    is_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    endorsed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    endorsed_at: Mapped[datetime | None]
    edited_at: Mapped[datetime | None]
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    thread: Mapped[Thread] = relationship(back_populates="posts", foreign_keys=[thread_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    endorsed_by: Mapped[User | None] = relationship(foreign_keys=[endorsed_by_id])
    edited_by: Mapped[User | None] = relationship(foreign_keys=[edited_by_id])
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post", order_by="Comment.id", cascade="all, delete-orphan")
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="post", order_by="Revision.number", cascade="all, delete-orphan")

    @property
    def is_question(self) -> bool:
        return self.kind == "question"

    @property
    def is_accepted(self) -> bool:
        return self.thread.accepted_answer_id == self.id


class Revision(db.Model):
    """One saved version of a post; number 1 is the original text."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    number: Mapped[int]
    editor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Question revisions also keep the thread title and tags as they were.
    title: Mapped[str | None] = mapped_column(String(300))
    tags: Mapped[str | None] = mapped_column(String(200))
    body_source: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship(back_populates="revisions")
    editor: Mapped[User] = relationship()

    __table_args__ = (db.UniqueConstraint("post_id", "number"),)


class Comment(Timestamped, db.Model):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    is_hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    post: Mapped[Post] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()
