"""Reputation: ranks and privileges derived from a user's reputation."""

from __future__ import annotations

from flask import current_app

# (threshold, name), lowest first; overridable with the RANKS setting.
DEFAULT_RANKS = ((1, "Newcomer"), (50, "Contributor"), (200, "Helper"), (1000, "Expert"),
                 (5000, "Guru"))


def rank_for(reputation: int) -> str:
    ranks = current_app.config.get("RANKS") or DEFAULT_RANKS
    name = ranks[0][1]
    for threshold, rank in ranks:
        if reputation >= threshold:
            name = rank
    return name
