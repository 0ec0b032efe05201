"""Canonical URLs for things, shared by pages, the API and (later) outgoing messages."""

from __future__ import annotations

from flask import url_for

from community.services.text import slugify


def thread_url(thread, *, anchor: str | None = None, external: bool = False) -> str:
    return url_for("threads.show", thread_id=thread.id, slug=slugify(thread.title),
                   _anchor=anchor, _external=external)


def user_url(user, *, external: bool = False) -> str:
    return url_for("users.show", user_id=user.id, slug=slugify(user.username), _external=external)
