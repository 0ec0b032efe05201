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


def skeletons(name: str) -> set[str]:
    """The look-alike keys of a name (with and without case folding)."""
    reps = _representatives()
    normal = unicodedata.normalize("NFKC", name).translate(_SEPARATORS)
    return {"".join(reps.get(ch, ch) for ch in variant) for variant in (normal, normal.casefold())}


def looks_like(name: str, other: str) -> bool:
    return bool(skeletons(name) & skeletons(other))
