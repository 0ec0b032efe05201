"""Links to the site: canonical URLs for pages, the API and messages that leave the site.

In a request, links follow the request (a path, or with `external` the address it came to);
anything built off a request (the workers, the CLI) and every message that leaves the site (a
reply on a social channel, an email, a channel's webhook address) is absolute and built from
BASE_URL and the app's URL map, so it always points at the public address.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import current_app, has_request_context, url_for

from community.services.text import slugify

if TYPE_CHECKING:
    from community.models import Thread, User
    from community.services.threads import NewThread


def absolute(endpoint: str, *, anchor: str | None = None, **values: object) -> str:
    """The public address of `endpoint` with `values`, from BASE_URL."""
    path = current_app.url_map.bind("localhost", url_scheme="https").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path + (f"#{anchor}" if anchor else "")


def link(endpoint: str, *, external: bool = False, anchor: str | None = None,
         **values: object) -> str:
    """In a request, a path (or with `external`, the full address the request came to); off a
    request, the address from BASE_URL."""
    if not has_request_context():
        return absolute(endpoint, anchor=anchor, **values)
    return url_for(endpoint, _anchor=anchor, _external=external, **values)


def thread_url(thread: Thread | NewThread, *, anchor: str | None = None,
               external: bool = False) -> str:
    return link("threads.show", thread_id=thread.id, slug=slugify(thread.title), anchor=anchor,
                external=external)


def user_url(user: User, *, external: bool = False) -> str:
    return link("users.show", user_id=user.id, slug=slugify(user.username), external=external)


def thread_link(thread: Thread | NewThread) -> str:
    """A thread's public address from BASE_URL, for messages that leave the site."""
    return absolute("threads.show", thread_id=thread.id, slug=slugify(thread.title))


@contextmanager
def outside_request() -> Iterator[None]:
    """Render templates and build links off a request (the workers), as a visitor at BASE_URL
    would see them: templates call `url_for`, which needs a request to resolve paths."""
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        yield
