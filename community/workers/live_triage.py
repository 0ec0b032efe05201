"""Live updates for the staff triage queue (room `triage`): a thread entered or left the queue,
was claimed or released. Merged into workers/live_updates.py's BUILDERS; the page
(static/js/live.js) marks claims and items that left, and offers a reload for new ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from community.extensions import db
from community.models import Thread, User
from community.services import live
from community.services.links import thread_url

Emit = tuple[str, str, dict[str, Any]]


def _changed(data: dict[str, Any]) -> Iterable[Emit]:
    thread = db.session.get(Thread, data["thread_id"])
    if thread is None:
        return
    payload: dict[str, Any] = {"thread_id": thread.id, "title": thread.title,
                               "url": thread_url(thread), "channel": thread.source_kind}
    if data.get("change") == "claimed":
        user = db.session.get(User, data.get("user_id") or 0)
        payload["claimed_by"] = {"id": user.id, "username": user.username} if user else None
    yield live.TRIAGE, f"triage.{data.get('change')}", payload


BUILDERS: dict[str, Callable[[dict[str, Any]], Iterable[Emit]]] = {
    "triage.changed": _changed,
}
