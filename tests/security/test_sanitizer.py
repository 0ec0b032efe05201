"""Every XSS vector and naughty string goes through the real renderer and is checked with a parser.

The corpora live in ../shared/corpora/security (README there): 8,485 XSS payloads and the 515
"big list of naughty strings". Each corpus is one test per markdown shape (raw, link target,
image source, fenced code) that loops and collects failures, instead of thousands of tests.
`html_problems` is also used by test_naughty_strings.py for the HTML the API stores.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from html.parser import HTMLParser

import pytest

from community.render import LINK_REL, render_markdown
from tests.conftest import SHARED, require

CORPORA = SHARED / "corpora" / "security"
XSS_FILE = CORPORA / "xss_vectors_combined.jsonl"
BLNS_FILE = CORPORA / "blns.json"

FORBIDDEN_ELEMENTS = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "form", "input", "button", "textarea", "select", "base", "meta", "link",
})
# Attributes a browser may load or navigate to.
URL_ATTRIBUTES = frozenset({
    "href", "src", "action", "formaction", "xlink:href", "srcset", "background", "poster",
    "data", "lowsrc", "dynsrc", "ping", "cite",
})
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
# Browsers drop ASCII whitespace and C0 controls from URLs; we also drop C1 controls and
# zero-width characters, so "java\tscript:" and "\x01javascript:" are caught.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
SHOWN = 5  # failing inputs quoted in an assertion message


# ---- the checker --------------------------------------------------------------------------

class _Elements(HTMLParser):
    """Every start tag (name, attributes) in document order; html.parser unescapes the values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.markup: list[str] = []  # comments, doctypes, processing instructions

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_comment(self, data):
        self.markup.append(f"<!--{data}-->")

    def handle_decl(self, decl):
        self.markup.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.markup.append(f"<?{data}>")

    def unknown_decl(self, data):
        self.markup.append(f"<![{data}]>")


def parse(markup: str) -> _Elements:
    parser = _Elements()
    parser.feed(markup)
    parser.close()
    return parser


def normalise_url(value: str) -> str:
    """The URL as a browser judges its scheme: no whitespace or controls, lower-case.

    `value` comes from html.parser, which has already HTML-unescaped it exactly once, as a
    browser does (html.unescape even decodes `&#106` without a semicolon). Unescaping a second
    time would judge a different string from the one the browser follows: bleach serialises
    `href="&#0000106avascript:"` (no semicolon, left undecoded) as `&amp;#0000106…`, which a
    browser reads as the harmless relative URL `&#0000106avascript:`.
    """
    return _URL_NOISE.sub("", value).lower()


def _is_dangerous_url(name: str, value: str) -> bool:
    candidates = value.split(",") if name == "srcset" else [value]
    return any(normalise_url(c).startswith(DANGEROUS_SCHEMES) for c in candidates)


def element_problems(tag: str, attrs, *, forbidden=FORBIDDEN_ELEMENTS,
                     user_html: bool = True) -> list[str]:
    """What is unsafe about one element. A whole page (user_html=False) has our own forms,
    links and site script, so it passes its own `forbidden`; there <a> needs no rel."""
    problems = []
    if tag in forbidden:
        problems.append(f"<{tag}> element")
    for name, value in attrs:
        value = value or ""
        if name.startswith("on"):
            problems.append(f"<{tag} {name}=…> event handler")
        if user_html and name == "style":
            problems.append(f"<{tag} style=…> inline style")
        if name in URL_ATTRIBUTES and _is_dangerous_url(name, value):
            problems.append(f"<{tag} {name}={value!r}> dangerous URL")
    if user_html and tag == "a":
        rels = [v for n, v in attrs if n == "rel"]
        if rels != [LINK_REL]:
            problems.append(f"<a> with rel {rels!r}, not [{LINK_REL!r}]")
    if user_html and tag == "img":
        for name, value in attrs:
            if name == "src" and not normalise_url(value or "").startswith(("http://", "https://")):
                problems.append(f"<img src={value!r}> is not http(s)")
    return problems


def html_problems(markup: str) -> list[str]:
    """Everything in a piece of user HTML (render_markdown output) that breaks the allow-list."""
    parsed = parse(markup)
    problems = [p for tag, attrs in parsed.elements for p in element_problems(tag, attrs)]
    problems += [f"markup {m[:40]!r}" for m in parsed.markup]
    return problems


# ---- the corpora --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _read_xss() -> tuple[tuple[str, str], ...]:
    rows = []
    with XSS_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                rows.append((row["payload"], row["source"]))
    return tuple(rows)


@lru_cache(maxsize=None)
def _read_blns() -> tuple[str, ...]:
    return tuple(json.loads(BLNS_FILE.read_text(encoding="utf-8")))


def xss_vectors() -> tuple[tuple[str, str], ...]:
    """(payload, source list) pairs; skips locally, fails in CI, when ../shared is absent."""
    require(XSS_FILE.is_file(), f"XSS corpus not found at {XSS_FILE} (../shared is absent)")
    rows = _read_xss()
    assert len(rows) > 8000, f"XSS corpus looks truncated: {len(rows)} payloads"
    return rows


def naughty_strings() -> tuple[str, ...]:
    """The big list of naughty strings; skips locally, fails in CI, when ../shared is absent."""
    require(BLNS_FILE.is_file(), f"naughty strings not found at {BLNS_FILE} (../shared is absent)")
    strings = _read_blns()
    assert len(strings) > 500, f"naughty strings look truncated: {len(strings)}"
    return strings


# ---- markdown shapes --------------------------------------------------------------------

SHAPES = {
    "raw": lambda v: v,
    "link": lambda v: f"[x]({v})",
    "image": lambda v: f"![x]({v})",
}
_FENCED = re.compile(r"\A<pre><code>(.*)</code></pre>\Z", re.S)
_C0 = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def fenced(source: str) -> str:
    """Wrap in a backtick fence longer than any backtick run inside, so it cannot close early."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{source}\n{fence}"


def _as_code_text(source: str) -> str:
    """What a code block shows for `source`: Python-Markdown drops STX/ETX (its own placeholder
    markers), expands tabs and empties blank lines; bleach turns other C0 controls into '?'."""
    text = source.replace("\x02", "").replace("\x03", "")
    text = _C0.sub("?", text.replace("\r\n", "\n").replace("\r", "\n")).expandtabs(4)
    return "\n".join("" if not line.strip(" ") else line for line in text.split("\n")) + "\n"


def fenced_problems(source: str) -> list[str]:
    out = render_markdown(fenced(source))
    match = _FENCED.match(out)
    if not match:
        return [f"not a single <pre><code> block: {out[:120]!r}"]
    problems = html_problems(out)
    inner = parse(match.group(1))
    if inner.elements or inner.markup:
        problems.append(f"markup inside <code>: {[t for t, _ in inner.elements] + inner.markup}")
    shown = html.unescape(match.group(1))
    if shown != _as_code_text(source):
        problems.append(f"code text differs from the source: {shown[:80]!r}")
    return problems


def _failures(inputs, check) -> list[tuple[str, str, list[str]]]:
    failures = []
    for value, label in inputs:
        try:
            problems = check(value)
        except Exception as exc:  # a crash in the renderer is a failure too, not a stopped loop
            problems = [f"raised {exc!r}"]
        if problems:
            failures.append((value, label, problems))
    return failures


def _report(failures, total: int, what: str) -> str:
    lines = [f"{len(failures)} of {total} {what} failed; first {min(SHOWN, len(failures))}:"]
    for value, label, problems in failures[:SHOWN]:
        lines.append(f"  {value[:200]!r} [{label}]: {'; '.join(problems[:3])}")
    return "\n".join(lines)


# ---- the checker itself -----------------------------------------------------------------

@pytest.mark.parametrize("markup", [
    "<script>alert(1)</script>",
    "<p><svg><circle/></svg></p>",
    "<STYLE>p{}</STYLE>",
    "<iframe src=http://x></iframe>",
    "<p onclick=x>hi</p>",
    '<a href="java&#x09;script:alert(1)" rel="nofollow ugc noopener">x</a>',
    '<a href=" &#1;JaVaScRiPt:alert(1)" rel="nofollow ugc noopener">x</a>',
    '<a href="&#106avascript:alert(1)" rel="nofollow ugc noopener">x</a>',
    '<a href="\u200bjavascript:alert(1)" rel="nofollow ugc noopener">x</a>',
    '<a href="http://example.com">no rel</a>',
    '<a href="http://example.com" rel="nofollow">weak rel</a>',
    "<img src=data:image/png;base64,AAAA>",
    "<img src=/local.png>",
    "<img srcset='http://a/1.png 1x, javascript:alert(1) 2x'>",
    '<p style="color:red">styled</p>',
    "<!-- comment -->",
    "<form action=vbscript:x><input></form>",
])
def test_checker_flags_unsafe_html(markup):
    assert html_problems(markup), f"the checker missed {markup!r}"


def test_checker_accepts_what_the_renderer_should_make():
    out = render_markdown("**Hi** [docs](https://example.com/a?b=1&c=2) "
                          "![pic](http://example.com/p.png)"
                          "\n\n```python\nprint('<b>')\n```\n\n| a | b |\n|:-|-:|\n| 1 | 2 |")
    assert html_problems(out) == [], out
    assert fenced_problems("<script>alert(1)</script>\n\tx\x01") == []


# ---- always-run vectors (also where ../shared is absent) --------------------------------

CLASSIC_VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"&#0000106&#0000097vascript:alert(1)\">x</a>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2Zz4=)",
    "![x](//evil.example/p.png)",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "<iframe src=\"http://evil.example\"></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=\"http://evil.example\"><input name=a></form>",
    "<base href=\"http://evil.example/\">",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<a href=\"http://ok.example\" target=\"_blank\" rel=\"opener\" onmouseover=\"alert(1)\">x</a>",
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<!--><script>alert(1)</script>-->",
    "<<script>script>alert(1)<</script>/script>",
    "http://example.com/\"onmouseover=\"alert(1)",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_classic_vectors_render_safely(shape):
    inputs = [(SHAPES[shape](v), "classic") for v in CLASSIC_VECTORS]
    failures = _failures(inputs, lambda s: html_problems(render_markdown(s)))
    assert not failures, _report(failures, len(inputs), f"classic vectors ({shape})")


def test_classic_vectors_in_fenced_code_come_out_escaped():
    failures = _failures([(v, "classic") for v in CLASSIC_VECTORS], fenced_problems)
    assert not failures, _report(failures, len(CLASSIC_VECTORS), "classic vectors (fenced)")


# ---- the corpora ------------------------------------------------------------------------

@pytest.mark.corpus
@pytest.mark.parametrize("shape", SHAPES)
def test_xss_vectors_render_safely(shape):
    vectors = xss_vectors()
    inputs = [(SHAPES[shape](payload), source) for payload, source in vectors]
    failures = _failures(inputs, lambda s: html_problems(render_markdown(s)))
    assert not failures, _report(failures, len(inputs), f"XSS vectors ({shape})")


@pytest.mark.corpus
def test_xss_vectors_in_fenced_code_come_out_escaped():
    vectors = xss_vectors()
    failures = _failures(vectors, fenced_problems)
    assert not failures, _report(failures, len(vectors), "XSS vectors (fenced)")


@pytest.mark.corpus
@pytest.mark.parametrize("shape", SHAPES)
def test_naughty_strings_render_safely(shape):
    strings = naughty_strings()
    inputs = [(SHAPES[shape](s), f"blns #{i}") for i, s in enumerate(strings)]
    failures = _failures(inputs, lambda s: html_problems(render_markdown(s)))
    assert not failures, _report(failures, len(inputs), f"naughty strings ({shape})")


@pytest.mark.corpus
def test_naughty_strings_in_fenced_code_come_out_escaped():
    strings = naughty_strings()
    failures = _failures([(s, f"blns #{i}") for i, s in enumerate(strings)], fenced_problems)
    assert not failures, _report(failures, len(strings), "naughty strings (fenced)")
