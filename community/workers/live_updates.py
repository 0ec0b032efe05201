"""Live updates: committed domain events become Socket.IO events for the rooms that may see them.

A background worker reads what changed back from the database, checks who may see it
(services/live.py), builds a payload that carries what the page needs (rendered HTML for a new
answer or comment, the new score, the accepted answer...) and emits it to the thread's room, or
to its staff twin when the thread, post or comment is hidden. Several server processes share
emits through SOCKETIO_MESSAGE_QUEUE (Redis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, render_template
from sqlalchemy.orm import joinedload

from community import realtime
from community.extensions import db, socketio
from community.models import Comment, Post, Thread
from community.services import events, live, notifications, permissions
from community.services.links import outside_request, thread_url, user_url
from community.views.api import schemas
from community.workers import live_moderation, live_triage
from community.workers.worker import Worker, running

NAME = "realtime"

Emit = tuple[str, str, dict[str, Any]]  # room, event name, payload


def _post(post_id: int) -> Post | None:
    return db.session.get(Post, post_id, options=[joinedload(Post.author),
                                                  joinedload(Post.thread)])


def _fragment(**context: Any) -> str:
    """A piece of the thread page as a visitor sees it (no forms: nothing user-specific)."""
    return render_template("threads/_live.html", actor=None, my_votes={}, can=permissions.can,
                           action_form=None, comment_form=None, **context)


def _answer_created(data: dict[str, Any]) -> Iterable[Emit]:
    post = _post(data["post_id"])
    if post is None:
        return
    thread = post.thread
    yield live.room_for(thread, post), "answer.created", {
        "thread_id": thread.id, "post_id": post.id, "answer_count": thread.answer_count,
        "status": thread.status, "author": schemas.author(post.author),
        "html": _fragment(post=post, thread=thread, label="Answer")}


def _comment_created(data: dict[str, Any]) -> Iterable[Emit]:
    item = db.session.get(Comment, data["comment_id"], options=[joinedload(Comment.author)])
    if item is None:
        return
    post = item.post
    yield live.room_for(post.thread, post, item), "comment.created", {
        "thread_id": post.thread_id, "post_id": post.id, "comment_id": item.id,
        "html": _fragment(comment=item)}


def _post_voted(data: dict[str, Any]) -> Iterable[Emit]:
    post = _post(data["post_id"])
    if post is None:
        return
    yield live.room_for(post.thread, post), "post.voted", {
        "thread_id": post.thread_id, "post_id": post.id, "score": post.score,
        "thread_score": post.thread.score, "author": schemas.author(post.author)}


def _acceptance(name: str) -> Callable[[dict[str, Any]], Iterable[Emit]]:
    def build(data: dict[str, Any]) -> Iterable[Emit]:
        thread = db.session.get(Thread, data["thread_id"])
        if thread is None:
            return
        touched = [p for p in (db.session.get(Post, data["post_id"]),
                               db.session.get(Post, data.get("previous_post_id") or 0))
                   if p is not None]
        yield live.room_for(thread), name, {
            "thread_id": thread.id, "post_id": data["post_id"],
            "accepted_answer_id": thread.accepted_answer_id, "status": thread.status,
            "authors": [schemas.author(u) for u in {p.author for p in touched} | {thread.author}]}
    return build


def _endorsement(name: str) -> Callable[[dict[str, Any]], Iterable[Emit]]:
    def build(data: dict[str, Any]) -> Iterable[Emit]:
        post = _post(data["post_id"])
        if post is None:
            return
        by = post.endorsed_by
        yield live.room_for(post.thread, post), name, {
            "thread_id": post.thread_id, "post_id": post.id,
            "endorsed": None if by is None else {"by": {"id": by.id, "username": by.username,
                                                         "url": user_url(by)}},
            "author": schemas.author(post.author)}
    return build


def _post_edited(data: dict[str, Any]) -> Iterable[Emit]:
    post = _post(data["post_id"])
    if post is None:
        return
    thread = post.thread
    yield live.room_for(thread, post), "post.edited", {
        "thread_id": thread.id, "post_id": post.id, "body_html": post.body_html,
        "title": thread.title if post.is_question else None,
        "tags": thread.tag_names if post.is_question else None}


def _thread_summary(thread: Thread) -> dict[str, Any]:
    return {"thread_id": thread.id, "title": thread.title, "url": thread_url(thread),
            "status": thread.status, "tags": thread.tag_names, "is_locked": thread.is_locked,
            "author": schemas.author(thread.author)}


def _thread_created(data: dict[str, Any]) -> Iterable[Emit]:
    thread = db.session.get(Thread, data["thread_id"])
    if thread is None:
        return
    summary = _thread_summary(thread)
    if live.audience(thread) == live.PUBLIC:
        yield live.LISTS, "thread.created", summary
    yield live.TRIAGE, "thread.created", summary


def _thread_updated(data: dict[str, Any]) -> Iterable[Emit]:
    thread = db.session.get(Thread, data["thread_id"])
    if thread is None:
        return
    yield live.room_for(thread), "thread.updated", _thread_summary(thread)


def _notification_created(data: dict[str, Any]) -> Iterable[Emit]:
    item = notifications.get(data["notification_id"])
    if item is not None:
        yield live.user_room(item.user_id), "notification.created", {
            "notification_id": item.id, "kind": item.kind, "text": notifications.describe(item),
            "url": notifications.target_url(item),
            "unread_count": notifications.unread_count(item.user)}


BUILDERS: dict[str, Callable[[dict[str, Any]], Iterable[Emit]]] = {
    "thread.created": _thread_created,
    "thread.updated": _thread_updated,
    "answer.created": _answer_created,
    "comment.created": _comment_created,
    "post.edited": _post_edited,
    "post.voted": _post_voted,
    "answer.accepted": _acceptance("answer.accepted"),
    "answer.unaccepted": _acceptance("answer.unaccepted"),
    "answer.endorsed": _endorsement("answer.endorsed"),
    "answer.unendorsed": _endorsement("answer.unendorsed"),
    "notification.created": _notification_created,
    # The bridge's new inbound messages, for the staff triage queue (payload as published).
    "inbound.received": lambda data: [(live.TRIAGE, "inbound.received", dict(data))],
    # Hidden and restored content, the moderation queue.
    **live_moderation.BUILDERS,
    # The staff triage queue: entered, left, claimed, released.
    **live_triage.BUILDERS,
}


def updates_for(event: events.Event) -> list[Emit]:
    """What `event` sends to whom, read back from the database as it is now."""
    builder = BUILDERS.get(event.name)
    if builder is None:
        return []
    with outside_request():  # as a visitor sees it
        return list(builder(event.data))


def _deliver(event: events.Event) -> None:
    for room, name, payload in updates_for(event):
        realtime.emit(room, name, payload)


def flush(timeout: float = 30.0) -> bool:
    """Wait until every committed change has gone out to the sockets (tests, benchmarks)."""
    return running(NAME).flush(timeout)


def failures() -> list[str]:
    return running(NAME).failures


def _anyone_listening(app: Flask) -> bool:
    """False when no socket is open to this process and no other process shares its events:
    then building payloads (rendering answers, reading the thread back) would be for nobody."""
    if app.config["SOCKETIO_MESSAGE_QUEUE"]:
        return True
    server = getattr(socketio, "server", None)
    return server is None or bool(server.eio.sockets)


def subscriber(app: Flask, workers: dict[str, Worker]) -> events.Subscriber:
    worker = workers[NAME] = Worker(app, NAME, _deliver)

    def on_commit(event: events.Event) -> None:
        if _anyone_listening(app):
            worker.submit(event)

    return on_commit
