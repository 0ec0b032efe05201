"""Socket.IO: connect/join/leave handlers and emit(room, event, data).

A client connects with the site's session cookie (or `auth={"token": <API token>}`), and emits
`join`/`leave` with `{"thread": id}`, `{"room": "lists"}` or `{"room": "triage"}`; the answer
(an acknowledgement) is `{"ok": true, "rooms": [...]}` or `{"error": {"code", "message"}}`.
Logged-in users are put in their own room for notifications on connect.

What is emitted after a commit is built by the live-updates worker (workers/live_updates.py).
Several server processes share emits through SOCKETIO_MESSAGE_QUEUE (Redis).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room, leave_room

from community.extensions import db, socketio
from community.models import User
from community.services import accounts, live
from community.services.errors import DomainError


def emit(room: str, event: str, data: dict[str, Any]) -> None:
    """Send one event to everyone in `room`, in this process and (through the message queue)
    in every other. Call it only after the change it describes has been committed."""
    socketio.emit(event, data, to=room)


# ---- handlers ---------------------------------------------------------------------------------

def _viewer() -> User | None:
    data = socketio.server.get_session(request.sid, namespace=request.namespace)
    user_id = data.get("user_id")
    user = db.session.get(User, user_id) if user_id else None
    return user if user is not None and not user.is_suspended else None


def on_connect(auth: Any = None) -> None:
    """Who is connecting: a token in `auth`, else the session cookie's user, else a visitor."""
    user = None
    if isinstance(auth, dict) and auth.get("token") is not None:
        token = auth["token"]
        user = accounts.user_for_token(token) if isinstance(token, str) else None
        if user is None:
            raise ConnectionRefusedError("auth.invalid_token")
    elif current_user.is_authenticated:
        user = current_user._get_current_object()
    socketio.server.save_session(request.sid, {"user_id": user.id if user else None},
                                 namespace=request.namespace)
    if user is not None:
        join_room(live.user_room(user.id))
    db.session.remove()


def _rooms_handler(action: Callable[[str], None]) -> Callable[[Any], dict[str, Any]]:
    def handler(data: Any = None) -> dict[str, Any]:
        try:
            rooms = live.rooms_to_join(_viewer(), data)
            for room in rooms:
                action(room)
        except DomainError as exc:
            return {"error": {"code": exc.code, "message": exc.message}}
        except (KeyError, ValueError):
            # The client went away while we were checking (a page navigating on): nobody to
            # answer, and nothing to clean up.
            return {"error": {"code": "socket.gone", "message": "Disconnected."}}
        finally:
            db.session.remove()
        return {"ok": True, "rooms": rooms}
    return handler


on_join = _rooms_handler(join_room)
on_leave = _rooms_handler(leave_room)


def init_app(app: Flask) -> None:
    socketio.on_event("connect", on_connect)
    socketio.on_event("join", on_join)
    socketio.on_event("leave", on_leave)
