"""The explained triage score: what in a thread raises it, as points and a sentence each.

A pure function of what the thread says, how long it has waited and what the customer did:
never of who they are (followers, reputation, rank are not inputs). Weights, expectations and
word lists are settings (community/config.py, TRIAGE_*); docs/TRIAGE.md explains them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from community.search.analysis import TOKEN, normalize_arabic

_ARABIC = re.compile("[\u0600-\u06ff]")
_TOKEN = re.compile(TOKEN)
ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "messenger": "Messenger", "x": "X",
                 "instagram": "Instagram", "mastodon": "Mastodon", "telegram": "Telegram",
                 "generic": "partner", "web": "forum", "api": "API"}


@dataclass(frozen=True)
class Signals:
    """What the score is computed from."""

    source: str  # the thread's source_kind
    kind: str  # why it waits (models/triage.py TRIAGE_KINDS)
    text: str  # the title, the question and the customer's latest words
    waiting_since: datetime
    needs_staff: bool = False
    recent_messages: int = 1  # by the same customer within TRIAGE_REPEAT_HOURS, this included


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    points: float

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "points": self.points}


def _fold(word: str) -> str:
    return normalize_arabic(word) if _ARABIC.search(word) else word.lower()


def _words(text: str) -> list[str]:
    return [_fold(word) for word in _TOKEN.findall(text)]


@functools.lru_cache(maxsize=64)
def _phrases(terms: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Each term with its folded form, padded for whole-word matching."""
    return tuple((term, f" {' '.join(_words(term))} ") for term in terms if _words(term))


def matches(text: str, terms: Iterable[str]) -> list[str]:
    """The terms (words or phrases, English or Arabic) that `text` contains, as whole words."""
    folded = f" {' '.join(_words(text))} "
    return [term for term, phrase in _phrases(tuple(terms)) if phrase in folded]


@functools.lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    return SentimentIntensityAnalyzer()


def sentiment(text: str, arabic_negative: Iterable[str]) -> tuple[float, list[str]]:
    """A compound in [-1, 1]: VADER's for English, and for Arabic words a negative lexicon's
    (-0.35 a word); the lower of the two, with the Arabic words found."""
    latin = _ARABIC.sub(" ", text)
    compound = _vader().polarity_scores(latin)["compound"] if latin.strip() else 0.0
    found = matches(text, arabic_negative) if _ARABIC.search(text) else []
    return min(compound, -min(1.0, 0.35 * len(found)) if found else 0.0), found


def duration(minutes: float) -> str:
    minutes = int(minutes)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _waiting(signals: Signals, now: datetime, expectations: Mapping[str, int],
             weight: float) -> Reason | None:
    minutes = max(0.0, (now - signals.waiting_since).total_seconds() / 60)
    if minutes < 1:
        return None
    expected = expectations.get(signals.source, expectations.get("generic", 240))
    ratio = minutes / expected
    who = CHANNEL_NAMES.get(signals.source, signals.source)
    if ratio >= 1:
        text = (f"waiting {duration(minutes)}; {who} customers expect an answer within "
                f"{duration(expected)}")
    else:
        text = f"waiting {duration(minutes)} of the {duration(expected)} {who} customers expect"
    # Linear up to the expectation, then steeper past it; capped so words still count.
    points = ratio if ratio <= 1 else 1 + 1.5 * (ratio - 1)
    return Reason("waiting", text, round(weight * min(points, 6.0), 2))


def score(signals: Signals, now: datetime, settings: Mapping[str, Any]) -> tuple[float, list[Reason]]:
    """The score and its reasons, largest first. `settings` is the app config (TRIAGE_*)."""
    weights = settings["TRIAGE_WEIGHTS"]
    reasons: list[Reason] = []
    waited = _waiting(signals, now, settings["TRIAGE_EXPECTATIONS"], weights.get("waiting", 1))
    if waited:
        reasons.append(waited)
    urgent = matches(signals.text, settings["TRIAGE_URGENT_WORDS"])
    if urgent:
        reasons.append(Reason("urgent", f"mentions {', '.join(urgent[:4])}",
                              round(weights.get("urgent", 0) * min(1 + 0.5 * (len(urgent) - 1), 2), 2)))
    compound, arabic = sentiment(signals.text, settings["TRIAGE_NEGATIVE_WORDS_AR"])
    if compound <= -0.05:
        words = f" ({', '.join(arabic[:3])})" if arabic else ""
        reasons.append(Reason("negative", f"negative tone: {compound:.2f}{words}",
                              round(weights.get("negative", 0) * -compound, 2)))
    if signals.recent_messages >= 2:
        nth = ORDINALS.get(signals.recent_messages, f"{signals.recent_messages}th")
        hours = settings["TRIAGE_REPEAT_HOURS"]
        reasons.append(Reason("repeat", f"{nth} message from this customer in {hours} h",
                              round(weights.get("repeat", 0) * min(signals.recent_messages - 1, 4), 2)))
    if signals.needs_staff:
        reasons.append(Reason("needs_staff", "a member flagged it as needing staff",
                              weights.get("needs_staff", 0)))
    distress = matches(signals.text, settings["TRIAGE_VULNERABLE_WORDS"])
    if distress:
        reasons.append(Reason("vulnerable", f"words of distress: {', '.join(distress[:3])}",
                              weights.get("vulnerable", 0)))
    if signals.kind == "follow_up":
        reasons.append(Reason("follow_up", "the customer wrote again after the last answer",
                              weights.get("follow_up", 0)))
    elif signals.kind == "reopened":
        reasons.append(Reason("reopened", "the asker took back the accepted answer",
                              weights.get("reopened", 0)))
    reasons.sort(key=lambda reason: -reason.points)
    return round(sum(reason.points for reason in reasons), 2), reasons
