"""The spam checker: a small interface, a local implementation that needs no network, and the
screen every new account's post passes through (held above MODERATION_SPAM_THRESHOLD).

The checker is chosen by MODERATION_SPAM_CHECKER ("local" or "off"); a hosted service (say,
Akismet) would be one more class with the same `score` method and one more entry in CHECKERS.
Checkers are pure: what they need from the database (the author's recent posts) comes in the
context, so they can be tested, and swapped, without one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from community.extensions import db
from community.models import Post, User
from community.models.base import utcnow
from community.services.moderation.limits import is_new

# What a held post's author (and staff) read as its hidden reason.
HELD_REASON = "Held for review: a moderator will look at it soon."
RECENT = timedelta(hours=24)

_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>()\"'\]]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{7,}\d(?![\w])")
_WORD_RE = re.compile(r"\w+")
SHORTENERS = frozenset({"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly",
                        "cutt.ly", "rebrand.ly", "shorturl.at"})


@dataclass(frozen=True)
class SpamContext:
    """What a checker may know besides the text: where it is going and the author's recent
    posts (their texts, newest first)."""

    kind: str = "post"  # question, answer, bridge
    title: str = ""
    recent_texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


class SpamChecker(Protocol):
    def score(self, text: str, author: User | None, context: SpamContext) -> Verdict: ...


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _host(url: str) -> str:
    try:
        return (urlsplit(url if "://" in url else "http://" + url).hostname or "").lower()
    except ValueError:
        return ""


def _on(host: str, domain: str) -> bool:
    domain = domain.lower().lstrip("*.")
    return host == domain or host.endswith("." + domain)


class LocalChecker:
    """Points for what spam looks like; the weights are rough and the threshold is a setting."""

    def __init__(self, banned_domains=(), banned_words=()) -> None:
        self.banned_domains = tuple(d.lower() for d in banned_domains)
        self.banned_words = frozenset(_normal(w) for w in banned_words)

    def score(self, text: str, author: User | None, context: SpamContext) -> Verdict:
        whole = f"{context.title}\n{text}" if context.title else text
        points: list[tuple[float, str]] = []
        hosts = [_host(url) for url in _URL_RE.findall(whole)]
        if hosts:
            points.append((1.0 + 1.5 * (len(hosts) - 1), f"links:{len(hosts)}"))
        for host in sorted(set(hosts)):
            if any(_on(host, domain) for domain in self.banned_domains):
                points.append((6.0, f"banned_domain:{host}"))
            elif host in SHORTENERS:
                points.append((2.0, f"shortener:{host}"))
            elif re.fullmatch(r"[\d.]+", host):
                points.append((2.0, f"address:{host}"))
        words = {_normal(w) for w in _WORD_RE.findall(whole)}
        for word in sorted(words & self.banned_words):
            points.append((6.0, f"banned_word:{word}"))
        repeats = sum(1 for earlier in context.recent_texts if _normal(earlier) == _normal(text))
        if repeats:
            points.append((3.0 * min(repeats, 2), f"repeated:{repeats}"))
        letters = [c for c in whole if c.isalpha()]
        if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
            points.append((2.0, "capitals"))
        if _PHONE_RE.search(_URL_RE.sub(" ", whole)):
            points.append((2.0, "phone"))
        if _EMAIL_RE.search(whole):
            points.append((2.0, "email"))
        return Verdict(sum(p for p, _ in points), tuple(reason for _, reason in points))


class OffChecker:
    """Scores nothing: no post is ever held."""

    def score(self, text: str, author: User | None, context: SpamContext) -> Verdict:
        return Verdict(0.0)


CHECKERS = {"local": lambda config: LocalChecker(config["MODERATION_BANNED_DOMAINS"],
                                                 config["MODERATION_BANNED_WORDS"]),
            "off": lambda config: OffChecker()}


def checker() -> SpamChecker:
    """The checker MODERATION_SPAM_CHECKER names."""
    config = current_app.config
    name = config["MODERATION_SPAM_CHECKER"]
    if name not in CHECKERS:
        raise RuntimeError(f"MODERATION_SPAM_CHECKER is one of {', '.join(CHECKERS)}, not {name!r}")
    return CHECKERS[name](config)


def recent_texts(author: User | None, *, exclude_post_id: int | None = None) -> tuple[str, ...]:
    """The author's posts of the last day, newest first (a few dozen at most)."""
    if author is None or author.id is None:
        return ()
    query = (select(Post.body_source).where(Post.author_id == author.id,
                                            Post.created_at >= utcnow() - RECENT)
             .order_by(Post.id.desc()).limit(30))
    if exclude_post_id is not None:
        query = query.where(Post.id != exclude_post_id)
    return tuple(db.session.scalars(query))


def assess(author: User | None, text: str, *, kind: str = "post", title: str = "",
           exclude_post_id: int | None = None) -> Verdict:
    """The configured checker's verdict on `text` by `author`."""
    context = SpamContext(kind, title, recent_texts(author, exclude_post_id=exclude_post_id))
    return checker().score(text, author, context)


def screen(author: User | None, text: str, *, kind: str = "post", title: str = "",
           new_author: bool | None = None) -> Verdict | None:
    """The verdict when a new account's post (`new_author`: whether the author is new, if the
    caller knows better, as the bridge does for a shadow user it has just made) scores above
    the threshold, so that it is held; None otherwise."""
    if not (is_new(author) if new_author is None else new_author):
        return None
    verdict = assess(author, text, kind=kind, title=title)
    return verdict if verdict.score > current_app.config["MODERATION_SPAM_THRESHOLD"] else None
