"""Highlighted snippets for the hits on one page of results, without re-analysing whole posts.

Whoosh's highlighter runs the field's analyzer over the entire stored text of every hit (and
expands prefix terms again for each one). Here one regular expression finds the words that could
be matches (those starting like a searched term), only those go through the analyzer's
normalisation to confirm them, and the best one or two stretches of text around them are kept:
escaped, with <mark> around the matched words.
"""

from __future__ import annotations

import html
import re

from community.search.analysis import STOP_WORDS, TOKEN, by_script

MAXCHARS = 220       # a fragment, at most (matches plus context)
SURROUND = 60        # context kept on each side of the matches
TOP = 2              # fragments per snippet
_TOKEN = re.compile(TOKEN)
_PATTERNS: dict[frozenset, re.Pattern | None] = {}


def _candidates(words: frozenset[str]) -> re.Pattern | None:
    """A pattern for the words that could analyse to one of `words` (or None: any word could)."""
    pattern = _PATTERNS.get(words, False)
    if pattern is not False:
        return pattern
    heads = set()
    for word in words:
        if not word.isascii():
            pattern = None  # Arabic normalisation changes letters anywhere in a word
            break
        # Porter stems are prefixes of the word, but for at most the last three letters
        # ("batteri" ← battery, "possibl" ← possibly, "activ" ← activity).
        heads.add(re.escape(word[:max(2, len(word) - 3)]))
    else:
        pattern = re.compile(r"(?<![^\W_])(?=(?:%s))%s" % ("|".join(sorted(heads)), TOKEN),
                             re.IGNORECASE) if heads else None
    if len(_PATTERNS) > 4096:
        _PATTERNS.clear()
    _PATTERNS[words] = pattern
    return pattern


def _matches(text: str, words: frozenset[str], prefixes: tuple[str, ...]) -> list[tuple[int, int]]:
    pattern = _candidates(words | frozenset(prefixes)) if words or prefixes else None
    if pattern is None and not words and not prefixes:
        return []
    found = []
    for match in (pattern or _TOKEN).finditer(text):
        token = match.group().lower()
        if token in STOP_WORDS:
            continue
        if by_script(token) in words or (prefixes and token.startswith(prefixes)):
            found.append(match.span())
    return found


def highlight(text: str, words: frozenset[str], prefixes: tuple[str, ...] = ()) -> str | None:
    """Up to TOP fragments of `text` around the analysed `words` (or words starting with one of
    `prefixes`), HTML-escaped with <mark> around each match; None when nothing matches."""
    spans = _matches(text, words, prefixes)
    if not spans:
        return None
    # Group matches that fit in one fragment, score groups by how many matches they hold.
    groups: list[list[tuple[int, int]]] = []
    for span in spans:
        if groups and span[1] - groups[-1][0][0] <= MAXCHARS - 2 * SURROUND:
            groups[-1].append(span)
        else:
            groups.append([span])
    best = sorted(sorted(range(len(groups)), key=lambda i: (-len(groups[i]), i))[:TOP])
    fragments = []
    for i in best:
        group = groups[i]
        # The rest of MAXCHARS as context, shared between both sides (at least SURROUND each
        # when the matches leave room), more on one side where the other meets the text's edge.
        spare = max(2 * SURROUND, MAXCHARS - (group[-1][1] - group[0][0]))
        start = max(0, group[0][0] - spare // 2)
        end = min(len(text), group[-1][1] + spare - (group[0][0] - start))
        start = max(0, min(start, group[0][0] - (spare - (end - group[-1][1]))))
        # Start and end on whole words.
        if start > 0:
            space = text.find(" ", start, group[0][0])
            start = space + 1 if space != -1 else group[0][0]
        if end < len(text):
            space = text.rfind(" ", group[-1][1], end)
            end = space if space != -1 else group[-1][1]
        out, at = [], start
        for left, right in group:
            out.append(html.escape(text[at:left], quote=False))
            out.append("<mark>" + html.escape(text[left:right], quote=False) + "</mark>")
            at = right
        out.append(html.escape(text[at:end], quote=False))
        fragments.append("".join(out).strip())
    return "...".join(fragments)
