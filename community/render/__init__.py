"""Markdown to safe HTML: the only producer of user HTML in the product.

Markdown is rendered once on write, then cleaned by a bleach allow-list (html.py). Plain text,
which neither would change, takes a shortcut (plain.py). Short sources render in the caller's
thread, after the shapes that would cost quadratic time are rewritten (tame.py); long ones in a
child process under a time limit (limited.py), so one message cannot hold a request or the
bridge's intake for long: past the limit, the text is shown escaped, exactly as typed.
"""

from __future__ import annotations

from collections.abc import Iterable

from community.render.html import ALLOWED_TAGS, LINK_REL, image_host_allowed, render_html
from community.render.limited import render_limited
from community.render.plain import render_escaped, render_plain

__all__ = ["ALLOWED_TAGS", "LINK_REL", "image_host_allowed", "render_html", "render_markdown",
           "render_plain"]

# Sources up to this many characters render in the calling thread: even the worst shapes left
# after taming cost a few milliseconds there, and a child's round trip would cost as much.
INLINE_MAX = 1000
TIME_LIMIT = 2.0  # seconds, for a longer source in the child


def render_markdown(source: str, image_hosts: Iterable[str] = (),
                    time_limit: float = TIME_LIMIT) -> str:
    """Sanitized HTML for a markdown source; images show inline only from `image_hosts`."""
    plain = render_plain(source)
    if plain is not None:
        return plain
    hosts = frozenset(host.lower() for host in image_hosts)
    if len(source) <= INLINE_MAX:
        return render_html(source, hosts)
    rendered = render_limited(source, hosts, time_limit)
    return rendered if rendered is not None else render_escaped(source)
