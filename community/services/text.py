"""Normalising text that users send, before any rule looks at it."""

from __future__ import annotations

import re
import unicodedata

from flask import current_app

from community.render import render_markdown

# C0 controls other than tab, newline and carriage return; PostgreSQL refuses NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_encodable(text: str) -> bool:
    """False for strings holding lone surrogates (possible from JSON "\\ud800"), which no database stores."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str) -> str:
    """Strip the ends, drop control characters and replace lone surrogates with U+FFFD."""
    if not is_encodable(text):
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return _CONTROL.sub("", text).strip()


def to_html(source: str) -> str:
    """A post's or comment's HTML under this site's settings: images inline only from
    IMAGE_HOSTS, a long source rendered within RENDER_TIME_LIMIT_SECONDS."""
    config = current_app.config
    return render_markdown(source, config["IMAGE_HOSTS"], config["RENDER_TIME_LIMIT_SECONDS"])


_NOT_SLUG = re.compile(r"[^\w]+")


def slugify(text: str, limit: int = 60) -> str:
    """A readable URL part in any script: 'Roaming in Dubai?' → 'roaming-in-dubai'."""
    slug = _NOT_SLUG.sub("-", unicodedata.normalize("NFKC", text).casefold()).strip("-_")
    return slug[:limit].rstrip("-") or "thread"
