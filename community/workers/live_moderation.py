"""Live updates for moderation: hidden content leaves open thread pages, restored content comes
back, and the moderation queue hears of new flags and decisions (room `moderation`).

The builders read the change back from the database, as workers/live_updates.py does (which
merges them into its BUILDERS). A hidden post or comment goes to the thread's public room with
ids only, never its text: visitors' pages remove it, staff pages mark it (static/js/live.js).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import render_template
from sqlalchemy.orm import joinedload

from community.extensions import db
from community.models import Comment, Post, Thread
from community.services import live, permissions

Emit = tuple[str, str, dict[str, Any]]


def _fragment(**context: Any) -> str:
    """A restored answer or comment as a visitor sees it (no forms)."""
    return render_template("threads/_live.html", actor=None, my_votes={}, can=permissions.can,
                           action_form=None, comment_form=None, **context)


def _post(data: dict[str, Any]) -> Post | None:
    return db.session.get(Post, data["post_id"], options=[joinedload(Post.thread)])


def _post_hidden(data: dict[str, Any]) -> Iterable[Emit]:
    post = _post(data)
    if post is not None and post.is_hidden:
        yield live.thread_room(post.thread_id), "post.hidden", {
            "thread_id": post.thread_id, "post_id": post.id,
            "answer_count": post.thread.answer_count, "status": post.thread.status}


def _post_restored(data: dict[str, Any]) -> Iterable[Emit]:
    post = _post(data)
    if post is not None and live.audience(post.thread, post) == live.PUBLIC:
        yield live.thread_room(post.thread_id), "post.restored", {
            "thread_id": post.thread_id, "post_id": post.id,
            "answer_count": post.thread.answer_count, "status": post.thread.status,
            "html": _fragment(post=post, thread=post.thread, label="Answer")}


def _comment(data: dict[str, Any]) -> Comment | None:
    return db.session.get(Comment, data["comment_id"], options=[joinedload(Comment.post)])


def _comment_hidden(data: dict[str, Any]) -> Iterable[Emit]:
    item = _comment(data)
    if item is not None and item.is_hidden:
        yield live.thread_room(item.post.thread_id), "comment.hidden", {
            "thread_id": item.post.thread_id, "post_id": item.post_id, "comment_id": item.id}


def _comment_restored(data: dict[str, Any]) -> Iterable[Emit]:
    item = _comment(data)
    if item is not None and live.audience(item.post.thread, item.post, item) == live.PUBLIC:
        yield live.thread_room(item.post.thread_id), "comment.restored", {
            "thread_id": item.post.thread_id, "post_id": item.post_id, "comment_id": item.id,
            "html": _fragment(comment=item)}


def _thread_hidden(data: dict[str, Any]) -> Iterable[Emit]:
    thread = db.session.get(Thread, data["thread_id"])
    if thread is not None and thread.is_hidden:
        yield live.thread_room(thread.id), "thread.hidden", {"thread_id": thread.id}


def _to_queue(name: str) -> Callable[[dict[str, Any]], Iterable[Emit]]:
    """New flags and decisions, as published (ids, reasons, outcome: no content)."""
    return lambda data: [(live.MODERATION, name, dict(data))]


BUILDERS: dict[str, Callable[[dict[str, Any]], Iterable[Emit]]] = {
    "post.hidden": _post_hidden,
    "post.restored": _post_restored,
    "comment.hidden": _comment_hidden,
    "comment.restored": _comment_restored,
    "thread.hidden": _thread_hidden,
    "post.flagged": _to_queue("post.flagged"),
    "flag.resolved": _to_queue("flag.resolved"),
}
