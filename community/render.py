"""Markdown to safe HTML: the only producer of user HTML in the product.

Markdown is rendered once on write, then cleaned by a bleach allow-list. Raw HTML that users type
is kept only where the allow-list has it (cleaned like markdown's own output); any other tag is
escaped rather than dropped, so people see what they wrote. Links get rel="nofollow ugc noopener";
images keep only http(s) sources. bleach sits behind this one module so it can be swapped (nh3).
Plain text, which neither parser would change, is turned into the same HTML without them.
"""

from __future__ import annotations

import re
import threading
from functools import partial
from urllib.parse import urlsplit

import bleach
import markdown
from bleach.linkifier import URL_RE, LinkifyFilter

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
})
LINK_PROTOCOLS = frozenset({"http", "https", "mailto"})
IMAGE_PROTOCOLS = frozenset({"http", "https"})
LINK_REL = "nofollow ugc noopener"


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


def _new_cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=LINK_PROTOCOLS,
        strip=False,
        strip_comments=True,
        filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"})],
    )


_EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


# Neither a Markdown instance nor a bleach Cleaner is thread-safe (both keep parser state), and
# building them costs as much as a short conversion: one of each per thread.
_PER_THREAD = threading.local()


def render_markdown(source: str) -> str:
    """Return sanitized HTML for a markdown source string."""
    plain = render_plain(source)
    return plain if plain is not None else _render(source)


def _render(source: str) -> str:
    tools = getattr(_PER_THREAD, "tools", None)
    if tools is None:
        tools = _PER_THREAD.tools = (markdown.Markdown(extensions=_EXTENSIONS,
                                                       output_format="html"), _new_cleaner())
    converter, cleaner = tools
    try:
        html = converter.convert(source)
    finally:
        converter.reset()
    return cleaner.clean(html)


# Plain text, which neither markdown nor the cleaner would change: most messages from social
# channels. Conservative on purpose; anything else takes the full path. Markdown gives meaning to
# these characters anywhere in a line, and to these openings of a line (headings, quotes, lists,
# rules, setext underlines, fences, code indents); `.` then a letter may start a link to linkify.
_MARKUP_CHARACTERS = re.compile(r"[\\`*_\[\]<>&|~]")
_BLOCK_OPENING = re.compile(r"^(?:[#>+=-]|\d+[.)])", re.MULTILINE)
_LINE_EDGE_SPACE = re.compile(r"^ | $", re.MULTILINE)
_MAYBE_LINK = re.compile(r"\.\w")
_BLANK_LINES = re.compile(r"\n{2,}")


def render_plain(source: str) -> str | None:
    """The HTML `render_markdown` gives for plain text, made without parsing it; None when the
    source holds anything markdown, the cleaner or linkify might act on (the two parses are most
    of what a social message's intake costs). tests/security/test_render_plain.py holds the two
    paths to the same output."""
    text = source.strip("\n")
    if (not text or not text.replace("\n", "").isprintable()
            or _MARKUP_CHARACTERS.search(text) or _BLOCK_OPENING.search(text)
            or _LINE_EDGE_SPACE.search(text)
            or (_MAYBE_LINK.search(text) and URL_RE.search(text))):
        return None
    return "\n".join(f"<p>{paragraph}</p>" for paragraph in _BLANK_LINES.split(text))
