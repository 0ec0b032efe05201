"""Absolute links to the site for messages that leave it (social replies, emails).

They are built from BASE_URL and the app's URL map, so they work outside a request too (the
outbox worker, CLI commands) and always point at the public address, not the one a request
happened to use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

from community.models import Thread
from community.services.text import slugify

if TYPE_CHECKING:
    from community.services.threads import NewThread


def absolute(endpoint: str, **values: object) -> str:
    path = current_app.url_map.bind("localhost", url_scheme="https").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def thread_link(thread: Thread | NewThread) -> str:
    return absolute("threads.show", thread_id=thread.id, slug=slugify(thread.title))
