"""Look-alike detection for usernames, so nobody can register a copy of a staff member's name.

Every character that Unicode's confusables list says looks like another is mapped to one
representative of its look-alike group; two names with the same "skeleton" look the same to a
reader (compare UTS #39's skeleton). Separators and case are ignored as well.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

_SEPARATORS = str.maketrans("", "", "._- ")


@lru_cache(maxsize=1)
def _representatives() -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(ch: str) -> str:
        while parent.get(ch, ch) != ch:
            ch = parent[ch]
        return ch

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            low, high = sorted((ra, rb))
            parent[high] = low
            parent.setdefault(low, low)

    for char, glyphs in confusables.confusables_data.items():
        if len(char) != 1:
            continue
        parent.setdefault(char, char)
        for glyph in glyphs:
            if len(glyph["c"]) == 1:
                union(char, glyph["c"])
    return {ch: find(ch) for ch in parent}


@lru_cache(maxsize=8192)
def skeleton(name: str) -> str:
    """The look-alike key of a name: each character's look-alike group, case folded."""
    reps = _representatives()
    normal = unicodedata.normalize("NFKC", name).translate(_SEPARATORS)
    # Group first, then fold: capital I and small l share a group, though "i" and "l" do not.
    return "".join(reps.get(folded, folded)
                   for ch in normal for folded in reps.get(ch, ch).casefold())


def looks_like(name: str, other: str) -> bool:
    return skeleton(name) == skeleton(other)
