"""Threads: ask, answer, comment, edit with revisions, and the lists visitors browse."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from community.extensions import db
from community.models import Comment, Post, Revision, Tag, Thread, User, thread_tags
from community.models.base import MAX_ID, insert_rows, utcnow
from community.models.threads import THREAD_STATUSES
from community.services import events, permissions, reputation, visibility
from community.services.moderation import limits, spam
from community.services.errors import Invalid, NotFound
from community.services.pagination import Page, keyset_page
from community.services.retry import retry_on_conflict
from community.services.text import clean_text, to_html

TAG_RE = re.compile(r"^[^\W_][\w+#.-]{0,34}$")
SORTS = {
    "active": Thread.last_activity_at,
    "newest": Thread.created_at,
    "votes": Thread.score,
}


# ---- validation -------------------------------------------------------------------------

def _title(raw: str) -> str:
    title = " ".join(clean_text(raw).split())
    low, high = current_app.config["TITLE_MIN"], current_app.config["TITLE_MAX"]
    if len(title) < low:
        raise Invalid("title", "title.too_short", f"Titles need at least {low} characters.")
    if len(title) > high:
        raise Invalid("title", "title.too_long", f"Titles are at most {high} characters.")
    return title


def _body(raw: str, field: str = "body", limit_key: str = "BODY_MAX") -> str:
    body = clean_text(raw)
    limit = current_app.config[limit_key]
    if not body:
        raise Invalid(field, f"{field}.empty", "Write something first.")
    if len(body) > limit:
        raise Invalid(field, f"{field}.too_long", f"At most {limit:,} characters.")
    return body


def normalize_tags(raw: Iterable[str] | str) -> list[str]:
    """Lower-case, de-duplicated, sorted tag names (a thread's tags are a set); 1 to TAGS_MAX."""
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    names: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise Invalid("tags", "tags.invalid", "Tags are short words.")
        name = unicodedata.normalize("NFKC", clean_text(item)).casefold()
        if not TAG_RE.fullmatch(name):
            raise Invalid("tags", "tags.invalid",
                          f"{name[:40]!r} is not a tag: use up to 35 letters, digits or -+#.")
        if name not in names:
            names.append(name)
    limit = current_app.config["TAGS_MAX"]
    if not names:
        raise Invalid("tags", "tags.missing", "Add at least one tag.")
    if len(names) > limit:
        raise Invalid("tags", "tags.too_many", f"Use at most {limit} tags.")
    return sorted(names)


def _tags(names: list[str]) -> list[Tag]:
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in existing:
            # Two askers may create the same new tag at once: the loser reuses the winner's row.
            try:
                with db.session.begin_nested():
                    tag = Tag(name=name)
                    db.session.add(tag)
            except IntegrityError:
                tag = db.session.scalar(select(Tag).where(Tag.name == name))
            existing[name] = tag
    return [existing[name] for name in names]


# ---- shared helpers (flush, never commit) -------------------------------------------------

@dataclass(frozen=True)
class ThreadDraft:
    """A thread to create: already validated, tags already normalized."""

    author_id: int
    title: str
    body: str
    tags: list[str]
    source_kind: str = "web"
    source_url: str | None = None
    body_html: str | None = None  # rendered ahead (the bridge renders before it takes the lock)
    held: bool = False  # held by the spam checker: hidden (as services/moderation/held.py says)


@dataclass(frozen=True)
class NewThread:
    """A thread `create_threads` made, without loading it."""

    id: int
    question_id: int
    title: str


def create_thread(author: User, title: str, body: str, tags: list[str], *,
                  source_kind: str = "web", source_url: str | None = None,
                  held: bool = False) -> Thread:
    """Build a thread with its question post and first revision. Shared with the bridge intake."""
    made = create_threads([ThreadDraft(author.id, title, body, tags, source_kind, source_url,
                                       held=held)])
    return db.session.get(Thread, made[0].id)


def create_threads(drafts: list[ThreadDraft]) -> list[NewThread]:
    """Create threads, each with its question and first revision, in a few statements for the
    whole batch (the bridge takes in a burst of complaints at once; `insert_rows` says why not
    through the ORM). Does not commit."""
    now = utcnow()
    tag_ids = {tag.name: tag.id for tag in _tags(sorted({n for d in drafts for n in d.tags}))}
    connection = db.session.connection()
    thread_ids = insert_rows(connection, Thread.__table__, [
        {"title": draft.title, "author_id": draft.author_id, "source_kind": draft.source_kind,
         "source_url": draft.source_url, "created_at": now, "last_activity_at": now,
         **_held_columns(draft.held)} for draft in drafts])
    question_ids = insert_rows(connection, Post.__table__, [
        {"thread_id": thread_id, "author_id": draft.author_id, "kind": "question",
         "body_source": draft.body, "body_html": draft.body_html or to_html(draft.body),
         "created_at": now, **_held_columns(draft.held), "is_pending": draft.held}
        for draft, thread_id in zip(drafts, thread_ids)])
    insert_rows(connection, Revision.__table__, [
        {"post_id": post_id, "number": 1, "editor_id": draft.author_id, "title": draft.title,
         "tags": " ".join(draft.tags), "body_source": draft.body, "created_at": now}
        for draft, post_id in zip(drafts, question_ids)])
    tagged = [{"thread_id": thread_id, "tag_id": tag_ids[name]}
              for draft, thread_id in zip(drafts, thread_ids) for name in draft.tags]
    if tagged:
        connection.execute(thread_tags.insert(), tagged)
    for draft, thread_id, post_id in zip(drafts, thread_ids, question_ids):
        events.publish("post.held" if draft.held else "thread.created", thread_id=thread_id,
                       post_id=post_id)
    return [NewThread(thread_id, post_id, draft.title)
            for draft, thread_id, post_id in zip(drafts, thread_ids, question_ids)]


def _held_columns(held: bool) -> dict:
    """A post or thread the spam checker holds is hidden, with the reason its author reads."""
    return {"is_hidden": held, "hidden_reason": spam.HELD_REASON if held else ""}


def add_answer(author: User, thread: Thread, text: str, *, held: bool = False) -> Post:
    """Append an answer with its first revision and count it (a held one counts once approved,
    services/moderation/held.py). Shared with the bridge intake."""
    now = utcnow()
    post = Post(thread_id=thread.id, author=author, kind="answer", body_source=text,
                body_html=to_html(text), created_at=now, is_pending=held, **_held_columns(held))
    post.revisions.append(Revision(number=1, editor=author, body_source=text, created_at=now))
    db.session.add(post)
    if held:
        db.session.flush()
        events.publish("post.held", thread_id=thread.id, post_id=post.id)
        return post
    # An increment in SQL, so answers posted at the same moment are all counted.
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(
        answer_count=Thread.answer_count + 1, last_activity_at=now)
        .execution_options(synchronize_session=False))
    db.session.refresh(thread)
    thread.refresh_status()
    db.session.flush()
    reputation.award_for_answer(post)
    events.publish("answer.created", thread_id=thread.id, post_id=post.id)
    return post


def add_comment(author: User, post: Post, text: str) -> Comment:
    """Attach a comment to a post. Shared with the bridge intake (a customer's follow-up)."""
    now = utcnow()
    item = Comment(post=post, author=author, body_source=text, body_html=to_html(text),
                   created_at=now)
    db.session.add(item)
    post.thread.last_activity_at = now
    db.session.flush()
    events.publish("comment.created", thread_id=post.thread_id, post_id=post.id, comment_id=item.id)
    return item


def revise_comment(comment: Comment, text: str) -> None:
    """Replace a comment's text (comments keep no revisions). Shared with the bridge."""
    comment.body_source = text
    comment.body_html = to_html(text)
    db.session.flush()
    events.publish("thread.updated", thread_id=comment.post.thread_id)


def revise(editor: User, post: Post, body: str, *, title: str | None = None,
           tags: list[str] | None = None, summary: str = "") -> None:
    """Store a new version of a post as a revision. Shared with the bridge (a customer's edit)."""
    thread = post.thread
    now = utcnow()
    post.body_source = body
    post.body_html = to_html(body)
    post.edited_at = now
    post.edited_by = editor
    if post.is_question:
        thread.title = title if title is not None else thread.title
        tags = tags if tags is not None else thread.tag_names
        thread.tags = _tags(tags)
    post.revisions.append(Revision(
        number=len(post.revisions) + 1, editor=editor, body_source=body, created_at=now,
        title=thread.title if post.is_question else None,
        tags=" ".join(tags) if post.is_question and tags is not None else None,
        summary=clean_text(summary)[:300]))
    thread.last_activity_at = now
    db.session.flush()
    events.publish("post.edited", thread_id=thread.id, post_id=post.id)


# ---- use-cases ----------------------------------------------------------------------------

def ask(actor: User, title: str, body: str, tags: Iterable[str] | str,
        source_kind: str = "web") -> Thread:
    """Start a thread. Any active member may ask. Raises Forbidden or Invalid."""
    permissions.require(actor, "thread.create")
    title, body, tags = _title(title), _body(body), normalize_tags(tags)
    limits.check_post(actor, body)
    held = spam.screen(actor, body, kind="question", title=title) is not None
    thread = create_thread(actor, title, body, tags, source_kind=source_kind, held=held)
    reputation.award_for_question(thread.question)
    db.session.commit()
    return thread


@retry_on_conflict
def answer(actor: User, thread: Thread, body: str) -> Post:
    """Answer a thread. Active members; not on locked or hidden threads. Raises Forbidden, Invalid."""
    permissions.require(actor, "answer.create", thread)
    body = _body(body)
    limits.check_post(actor, body)
    post = add_answer(actor, thread, body, held=spam.screen(actor, body, kind="answer") is not None)
    db.session.commit()
    return post


def comment(actor: User, post: Post, body: str) -> Comment:
    """Comment on a question or answer. Same rules as answering. Raises Forbidden, Invalid."""
    permissions.require(actor, "comment.create", post.thread)
    item = add_comment(actor, post, _body(body, limit_key="COMMENT_MAX"))
    db.session.commit()
    return item


def edit_post(actor: User, post: Post, *, body: str | None = None, title: str | None = None,
              tags: Iterable[str] | str | None = None, summary: str = "") -> Post:
    """Edit a post (and, for a question, its thread's title and tags), keeping a revision.

    Authors edit their own posts; members with enough reputation and staff edit anyone's.
    Raises Forbidden or Invalid; an edit that changes nothing saves no revision.
    """
    permissions.require(actor, "post.edit", post)
    thread = post.thread
    if not post.is_question and (title is not None or tags is not None):
        raise Invalid("title", "edit.answer_title", "Only questions have a title and tags.")
    new_body = _body(body) if body is not None else post.body_source
    if new_body != post.body_source:
        limits.check_post(actor, new_body)
    new_title = _title(title) if title is not None else thread.title
    new_tags = normalize_tags(tags) if tags is not None else thread.tag_names
    changed = (new_body != post.body_source or
               (post.is_question and (new_title != thread.title or new_tags != thread.tag_names)))
    if not changed:
        return post
    revise(actor, post, new_body, title=new_title, tags=new_tags, summary=summary)
    db.session.commit()
    return post


# ---- reading ------------------------------------------------------------------------------

def _visible_threads(viewer: User | None):
    return select(Thread).where(visibility.visible_threads(viewer))


def list_threads(viewer: User | None, *, sort: str = "active", status: str | None = None,
                 tag: str | None = None, author_id: int | None = None,
                 cursor: str | None = None, limit: int = 30) -> Page[Thread]:
    """A page of threads the viewer may see, newest activity (or creation, or votes) first."""
    if sort not in SORTS:
        raise Invalid("sort", "sort.invalid", f"sort is one of {', '.join(SORTS)}.")
    # A merged thread's address redirects to the thread it was merged into: it is not listed.
    query = _visible_threads(viewer).where(Thread.merged_into_id.is_(None)).options(
        selectinload(Thread.author), selectinload(Thread.tags))
    if status is not None:
        if status not in THREAD_STATUSES:
            raise Invalid("status", "status.invalid",
                          f"status is one of {', '.join(THREAD_STATUSES)}.")
        query = query.where(Thread.status == status)
    if tag is not None:
        # An unknown tag gives tag_id None, which matches no row: an empty page, not an error.
        tag_id = db.session.scalar(select(Tag.id).where(Tag.name == tag.casefold()))
        query = query.join(thread_tags, thread_tags.c.thread_id == Thread.id).where(
            thread_tags.c.tag_id == tag_id)
    if author_id is not None:
        query = query.where(Thread.author_id == author_id)
    return keyset_page(query, sort, SORTS[sort], Thread.id, cursor, limit, db.session)


def get_thread(viewer: User | None, thread_id: int) -> Thread:
    """The thread with its posts, authors and comments loaded; NotFound if missing, or hidden
    from this viewer (a hidden thread is for staff and its asker)."""
    if not 0 < thread_id <= MAX_ID:
        raise NotFound("thread.not_found", "No such thread.")
    thread = db.session.scalar(
        select(Thread).where(visibility.readable_threads(viewer), Thread.id == thread_id).options(
            joinedload(Thread.author), selectinload(Thread.tags),
            selectinload(Thread.posts).options(
                joinedload(Post.author), joinedload(Post.endorsed_by),
                selectinload(Post.comments).joinedload(Comment.author))))
    if thread is None:
        raise NotFound("thread.not_found", "No such thread.")
    return thread


def get_post(viewer: User | None, post_id: int) -> Post:
    """A post in a thread the viewer may see; NotFound otherwise."""
    post = db.session.get(Post, post_id) if 0 < post_id <= MAX_ID else None
    if post is None or not visibility.can_see(viewer, post.thread, post):
        raise NotFound("post.not_found", "No such post.")
    return post


def user_answers(viewer: User | None, user: User, limit: int = 20) -> list[Post]:
    """A user's most recent answers that the viewer may see, for their profile."""
    return list(db.session.scalars(
        select(Post).join(Thread, Post.thread_id == Thread.id)
        .where(Post.author_id == user.id, Post.kind == "answer",
               visibility.visible_posts(viewer))
        .options(selectinload(Post.thread))
        .order_by(Post.created_at.desc()).limit(limit)))
