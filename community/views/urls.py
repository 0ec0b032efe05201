"""Canonical URLs for things, shared by pages, the API and (later) outgoing messages."""

from __future__ import annotations

import re
import unicodedata

from flask import url_for

_NOT_SLUG = re.compile(r"[^\w]+")


def slugify(text: str, limit: int = 60) -> str:
    """A readable URL part in any script: 'Roaming in Dubai?' → 'roaming-in-dubai'."""
    slug = _NOT_SLUG.sub("-", unicodedata.normalize("NFKC", text).casefold()).strip("-_")
    return slug[:limit].rstrip("-") or "thread"


def thread_url(thread, *, anchor: str | None = None, external: bool = False) -> str:
    return url_for("threads.show", thread_id=thread.id, slug=slugify(thread.title),
                   _anchor=anchor, _external=external)


def user_url(user, *, external: bool = False) -> str:
    return url_for("users.show", user_id=user.id, slug=slugify(user.username), _external=external)
