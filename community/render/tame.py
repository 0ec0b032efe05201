"""Markdown shapes that cost Python-Markdown quadratic time, rewritten before it sees them.

Python-Markdown scans to the end of the paragraph from every `](` that no `)` closes (a link
that never ends) and from every `<` that no `>` closes (a tag that never ends), so a paragraph
of thousands of them takes minutes. Such openers render as literal text anyway; written as
`\\(` and `&lt;` they render the same and cost nothing. Only paragraphs with more than a few
of them are touched, and never code (fenced or indented blocks, backtick spans), where those
spellings would show.
"""

from __future__ import annotations

import re

# Unclosed openers a paragraph may hold before they are rewritten: ordinary writing has none,
# and a few cost nothing.
TOLERATED = 16

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_BLANK = re.compile(r"^[ \t]*$")
_BACKTICKS = re.compile(r"`+")


def tame(source: str) -> str:
    """`source` with the unclosed openers of crowded paragraphs written as plain characters."""
    if source.count("](") <= TOLERATED and source.count("<") <= TOLERATED:
        return source  # nearly every post: nothing to look at
    return "".join(_tame_paragraph(chunk) if not is_code else chunk
                   for chunk, is_code in _chunks(source.splitlines(keepends=True)))


def _chunks(lines: list[str]):
    """The source as (paragraph, False) and (code block lines, True), in order."""
    fence: str | None = None
    paragraph: list[str] = []
    for line in lines:
        opening = _FENCE.match(line)
        is_code = fence is not None or bool(opening) or (not paragraph and _INDENTED.match(line))
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip().startswith(fence[0] * len(fence)) \
                and not line.strip().strip(fence[0]):
            fence = None
        if is_code or _BLANK.match(line):
            if paragraph:
                yield "".join(paragraph), False
                paragraph = []
            yield line, True
        else:
            paragraph.append(line)
    if paragraph:
        yield "".join(paragraph), False


def _code_spans(text: str) -> dict[int, int]:
    """Start → end of each backtick code span (a run closed by the next run of the same length)."""
    spans: dict[int, int] = {}
    open_runs: dict[int, int] = {}  # run length → start of the first run of it not yet closed
    for run in _BACKTICKS.finditer(text):
        length = len(run.group())
        if run.start() > 0 and text[run.start() - 1] == "\\":
            continue
        start = open_runs.pop(length, None)
        if start is None:
            open_runs[length] = run.start()
        else:
            spans[start] = run.end()
            open_runs = {k: v for k, v in open_runs.items() if v < start}
    return spans


def _tame_paragraph(text: str) -> str:
    spans = _code_spans(text)
    parentheses: list[int] = []  # "(" not closed yet
    unclosed_angles: list[int] = []
    angle: int | None = None
    index, end = 0, len(text)
    while index < end:
        if index in spans:
            index = spans[index]
            continue
        character = text[index]
        if character == "\\":
            index += 2
            continue
        if character == "(":
            parentheses.append(index)
        elif character == ")" and parentheses:
            parentheses.pop()
        elif character == "<":
            if angle is not None:
                unclosed_angles.append(angle)
            angle = index
        elif character == ">":
            angle = None
        index += 1
    if angle is not None:
        unclosed_angles.append(angle)
    rewrites: dict[int, str] = {}
    links = [at for at in parentheses if at > 0 and text[at - 1] == "]"]
    if len(links) > TOLERATED:
        rewrites.update((at, "\\(") for at in links)
    if len(unclosed_angles) > TOLERATED:
        rewrites.update((at, "&lt;") for at in unclosed_angles)
    if not rewrites:
        return text
    pieces, last = [], 0
    for at in sorted(rewrites):
        pieces += [text[last:at], rewrites[at]]
        last = at + 1
    pieces.append(text[last:])
    return "".join(pieces)
