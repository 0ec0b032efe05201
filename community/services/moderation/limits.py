"""What new accounts may post: a few links, no images, and (views/security.py) fewer posts a
minute. An account is new while both its reputation is below MODERATION_NEW_ACCOUNT_REPUTATION
and it is younger than MODERATION_NEW_ACCOUNT_HOURS; staff never are."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app

from community.models import User
from community.models.base import utcnow
from community.services.errors import Invalid
from community.services.text import to_html

# Counted in the rendered HTML, the one place markdown, raw HTML and bare URLs all end up as
# tags (the renderer links bare URLs and turns images from other hosts into links).
_LINK_RE = re.compile(r"<a\s[^>]*\bhref=", re.IGNORECASE)
_IMG_RE = re.compile(r"<img\b", re.IGNORECASE)
# Images in the source, outside code: those the renderer turned into links are still images.
_CODE_RE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`", re.DOTALL)
_SOURCE_IMAGE_RE = re.compile(r"!\[[^\]\n]*\]\s*[(\[]|<img\b", re.IGNORECASE)


def is_new(user: User | None) -> bool:
    """True for a member whose reputation and age both say they have not earned trust yet."""
    if user is None or not getattr(user, "is_authenticated", False) or user.is_staff:
        return False
    config = current_app.config
    if user.reputation >= config["MODERATION_NEW_ACCOUNT_REPUTATION"]:
        return False
    created = user.created_at or utcnow()
    return utcnow() - created < timedelta(hours=config["MODERATION_NEW_ACCOUNT_HOURS"])


def new_accounts() -> bool:
    """Whether an account made just now, with no reputation yet, counts as new (settings of 0
    hours, or a reputation bar of 1, turn the rules off)."""
    config = current_app.config
    return (config["MODERATION_NEW_ACCOUNT_HOURS"] > 0
            and config["MODERATION_NEW_ACCOUNT_REPUTATION"] > 1)


def count_links(html: str) -> int:
    return len(_LINK_RE.findall(html))


def count_images(source: str, html: str) -> int:
    in_source = len(_SOURCE_IMAGE_RE.findall(_CODE_RE.sub("", source)))
    return max(in_source, len(_IMG_RE.findall(html)))


def check_post(author: User, body: str, html: str | None = None) -> None:
    """Refuse a new account's post with too many links (Invalid `body.too_many_links`) or any
    image (Invalid `body.images_not_allowed`); established accounts pass untouched."""
    if not is_new(author):
        return
    html = to_html(body) if html is None else html
    most = current_app.config["MODERATION_NEW_ACCOUNT_LINKS"]
    if count_images(body, html):
        raise Invalid("body", "body.images_not_allowed",
                      "New accounts cannot post images yet; link to it instead.")
    if count_links(html) > most:
        raise Invalid("body", "body.too_many_links",
                      f"New accounts may put at most {most} links in a post.")
