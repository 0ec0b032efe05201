"""Text for social replies: HTML to plain text, channel length measures, and fitting to a limit.

A reply is cut on a word boundary and never inside a grapheme cluster (an emoji sequence, a
letter with its marks), so no channel shows a broken character; the thread link goes on a line
of its own, so right-to-left text before it cannot reorder it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

import regex

ELLIPSIS = "…"
URL_RE = re.compile(r"https?://\S+")
_GRAPHEME = regex.compile(r"\X")
# Bidirectional controls that must not dangle at a cut (they would reorder what follows).
_BIDI_CONTROLS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def count_chars(text: str) -> int:
    return len(text)


def count_utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def count_utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _x_weight(char: str) -> int:
    code = ord(char)
    light = (code <= 0x10FF or 0x2000 <= code <= 0x200D or 0x2010 <= code <= 0x201F
             or 0x2032 <= code <= 0x2037)
    return 1 if light else 2


def x_weighted_length(text: str) -> int:
    """X's count: a URL is 23, an emoji sequence 2, CJK and most non-Latin scripts 2 each."""
    total = 0
    position = 0
    for match in URL_RE.finditer(text):
        total += _weighted_run(text[position:match.start()]) + 23
        position = match.end()
    return total + _weighted_run(text[position:])


def _weighted_run(text: str) -> int:
    total = 0
    for cluster in _GRAPHEME.findall(text):
        if regex.match(r"\p{Extended_Pictographic}", cluster):
            total += 2
        else:
            total += sum(_x_weight(char) for char in cluster)
    return total


def links_as_23(text: str) -> int:
    """Mastodon's count: characters, with every URL counted as 23."""
    return len(URL_RE.sub("x" * 23, text))


class _TextExtractor(HTMLParser):
    """Sanitised post HTML → readable plain text: paragraphs, list bullets, link targets."""

    BLOCKS = frozenset({"p", "div", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
                        "ul", "ol", "table", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: list[str | None] = []
        self._link_text: list[int] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            self._href.append(dict(attrs).get("href"))
            self._link_text.append(len(self.parts))
        elif tag == "img":
            src = dict(attrs).get("src")
            if src:
                self.parts.append(f" {src} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self._href:
            href, start = self._href.pop(), self._link_text.pop()
            shown = "".join(self.parts[start:]).strip()
            if href and href.startswith(("http://", "https://")) and href != shown:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(markup: str) -> str:
    """Plain text from (sanitised) HTML, such as a post's body or a Mastodon status."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def fit(text: str, limit: int, measure: Callable[[str], int] = count_chars,
        link: str | None = None) -> str:
    """`text`, then `link` on its own line, within `limit` as `measure` counts.

    When the text is too long it is cut after the last whole word that fits (or the last whole
    grapheme, for a single long word) and marked with an ellipsis. The link is never cut; if
    even the link alone does not fit, the text is returned cut without it.
    """
    text = text.strip()
    tail = f"\n{link}" if link else ""
    if measure(text + tail) <= limit:
        return text + tail
    if link and measure(ELLIPSIS + tail) > limit:
        return fit(text, limit, measure)
    clusters = _GRAPHEME.findall(text)
    # The longest prefix (in whole graphemes) that fits with the ellipsis and the link.
    low, high = 0, len(clusters)
    while low < high:
        middle = (low + high + 1) // 2
        if measure("".join(clusters[:middle]).rstrip() + ELLIPSIS + tail) <= limit:
            low = middle
        else:
            high = middle - 1
    cut = clusters[:low]
    # Back up to a word boundary when there is one in the kept part.
    for index in range(len(cut) - 1, 0, -1):
        if cut[index].isspace():
            if index > len(cut) // 3:
                cut = cut[:index]
            break
    kept = "".join(cut).rstrip().rstrip(_BIDI_CONTROLS).rstrip()
    return kept + ELLIPSIS + tail
