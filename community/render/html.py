"""Markdown through Python-Markdown, then a bleach allow-list: the full path to user HTML.

Raw HTML that users type is kept only where the allow-list has it (cleaned like markdown's own
output); any other tag is escaped rather than dropped, so people see what they wrote. Links get
rel="nofollow ugc noopener". Images keep only http(s) sources, and only from the site's image
hosts: any other image becomes a link to it, so that reading a post tells no outside host who
is reading.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from urllib.parse import urlsplit

import bleach
import markdown
from bleach.html5lib_shim import Filter
from bleach.linkifier import URL_RE as BLEACH_URL_RE
from bleach.linkifier import LinkifyFilter

from community.render.tame import tame

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
})
LINK_PROTOCOLS = frozenset({"http", "https", "mailto"})
IMAGE_PROTOCOLS = frozenset({"http", "https"})
LINK_REL = "nofollow ugc noopener"

# bleach's URL pattern may start a match at every "(" of a run and scan the whole run from each
# (quadratic); a match can only begin at the run's first "(" anyway.
URL_RE = re.compile(r"(?<!\()" + BLEACH_URL_RE.pattern, BLEACH_URL_RE.flags)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "a":
        return name in ("href", "title")
    if tag == "img":
        if name == "src":
            # Only absolute http(s) images: no data:, no javascript:, no relative tricks.
            return urlsplit(value.strip()).scheme.lower() in IMAGE_PROTOCOLS
        return name in ("alt", "title")
    if tag == "code":
        # fenced_code marks the language as class="language-xyz"; keep only that shape.
        return name == "class" and value.startswith("language-") and value[9:].replace("-", "").isalnum()
    if tag in ("td", "th"):
        return name == "align" and value in ("left", "right", "center")
    if tag == "abbr":
        return name == "title"
    return False


def _set_rel(attrs: dict, new: bool = False) -> dict:
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


def image_host_allowed(src: str, hosts: frozenset[str]) -> bool:
    """True when an image's address is on one of `hosts` (a host, or `*.example.com` for its
    subdomains too)."""
    try:
        host = (urlsplit(src.strip()).hostname or "").lower()
    except ValueError:
        return False
    return bool(host) and any(host == allowed or (allowed.startswith("*.") and (
        host == allowed[2:] or host.endswith(allowed[1:]))) for allowed in hosts)


class _ImagesToLinks(Filter):
    """Turns each image not on an allowed host into a link to it, labelled with its alt text."""

    hosts: frozenset[str] = frozenset()

    def __iter__(self) -> Iterator[dict]:
        for token in super().__iter__():
            if token["type"] not in ("StartTag", "EmptyTag") or token["name"] != "img":
                yield token
                continue
            attributes = token["data"]
            src = attributes.get((None, "src"))
            if src and image_host_allowed(src, self.hosts):
                yield token
            elif src:
                yield {"type": "StartTag", "name": "a", "namespace": token.get("namespace"),
                       "data": {(None, "href"): src}}
                yield {"type": "Characters", "data": attributes.get((None, "alt")) or src}
                yield {"type": "EndTag", "name": "a", "namespace": token.get("namespace")}


def _new_cleaner(hosts: frozenset[str]) -> bleach.Cleaner:
    images = type("ImagesToLinks", (_ImagesToLinks,), {"hosts": hosts})
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=LINK_PROTOCOLS,
        strip=False,
        strip_comments=True,
        filters=[images, partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"},
                                 url_re=URL_RE)],
    )


_EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


# Neither a Markdown instance nor a bleach Cleaner is thread-safe (both keep parser state), and
# building them costs as much as a short conversion: one of each per thread (a cleaner per set
# of image hosts, which is one set per site).
_PER_THREAD = threading.local()


def render_html(source: str, image_hosts: frozenset[str] = frozenset()) -> str:
    """Sanitized HTML for a markdown source, the whole way (no shortcut for plain text)."""
    converter = getattr(_PER_THREAD, "converter", None)
    if converter is None:
        converter = _PER_THREAD.converter = markdown.Markdown(extensions=_EXTENSIONS,
                                                              output_format="html")
        _PER_THREAD.cleaners = {}
    cleaner = _PER_THREAD.cleaners.get(image_hosts)
    if cleaner is None:
        cleaner = _PER_THREAD.cleaners[image_hosts] = _new_cleaner(image_hosts)
    try:
        html = converter.convert(tame(source))
    finally:
        converter.reset()
    return cleaner.clean(html)
