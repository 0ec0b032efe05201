"""Whole-page caching for visitors, who all see the same page.

A visitor with no session (not logged in, nothing flashed) gets exactly the bytes any other
visitor would, so thread and list pages are rendered once and served from the cache until
something changes. Each cached page belongs to a scope (one thread, or "lists") whose
generation number is bumped after every commit that concerns it (`invalidate`), which
makes every older copy unreachable at once; a timeout (CACHE_DEFAULT_TIMEOUT) bounds how stale
relative times and author ranks can get. Logged-in members always get a fresh page. This is the
anonymous page cache that Stack Exchange and Discourse keep for the same reason: most readers
are visitors, and they read the same popular threads.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

from flask import current_app, make_response, request, session
from flask_login import current_user

from community.extensions import cache
from community.services import events

LISTS = "lists"


def _generation(scope: str) -> int:
    key = f"gen:{scope}"
    generation = cache.get(key)
    if generation is None:
        # Never 0 or any other value an earlier generation had, even if this key was evicted.
        cache.add(key, time.time_ns(), timeout=0)
        generation = cache.get(key)
    return generation


def _bump(scope: str) -> None:
    """A new, never-repeated generation: every copy cached under an older one is unreachable."""
    cache.set(f"gen:{scope}", time.time_ns(), timeout=0)


def visitor_page(scope: Callable[..., str]) -> Callable:
    """Cache a GET view's page for session-less visitors, in the scope `scope(**view_args)`."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**view_args):
            if (not current_app.config["PAGE_CACHE_ENABLED"] or current_user.is_authenticated
                    or session):
                return view(**view_args)
            name = scope(**view_args)
            key = f"page:{name}={_generation(name)}:{request.full_path}"
            body = cache.get(key)
            if body is not None:
                return current_app.response_class(body, mimetype="text/html")
            response = make_response(view(**view_args))
            if response.status_code == 200 and not session.modified:
                cache.set(key, response.get_data())
            return response

        return wrapper

    return decorate


def thread_scope(thread_id: int, **_: object) -> str:
    return f"thread:{thread_id}"


def lists_scope(**_: object) -> str:
    return LISTS


def invalidate(event: events.Event) -> None:
    """After a commit about a thread: its page and the lists are rendered afresh."""
    thread_id = event.data.get("thread_id")
    if thread_id is not None:
        _bump(thread_scope(thread_id))
        _bump(LISTS)
