"""Plain text to HTML without a parser: the shortcut for text markdown would not change, and the
escaped text shown when a source could not be rendered in time."""

from __future__ import annotations

import html
import re

from community.render.html import URL_RE

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


def render_escaped(source: str) -> str:
    """The source's text as paragraphs, every character shown as typed (nothing is markup)."""
    paragraphs = [p for p in _BLANK_LINES.split(source.strip("\n")) if p.strip()]
    return "\n".join(f"<p>{html.escape(paragraph, quote=False)}</p>" for paragraph in paragraphs)
