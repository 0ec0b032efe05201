"""What the worst posts cost the markdown renderer, for `make bench`.

Each shape below, repeated to the body length limit (30,000 characters), once through the
parser in this thread (`render_html`: taming, Python-Markdown, the cleaner) and once the way a
post is rendered (`render_markdown`: a long source goes to the child process under its time
limit). Before taming, the worst of these took 20-24 s in the parser alone.

    .venv/bin/python bench/render_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from community.render import TIME_LIMIT, render_html, render_markdown  # noqa: E402

LENGTH = 30_000
SHAPES = ["[", "![", "[a](", "(", "[a][", "<a ", "<http://a", ">", "&", "**a", "[](", "[a](<",
          "<b>", "```\n", "`a", "<x@", "[![", "> ", "<", "\\", "<!--", "&#", "*a ", "|"]


def _seconds(render, source: str) -> float:
    started = time.perf_counter()
    render(source)
    return time.perf_counter() - started


def measure(say=print) -> dict:
    render_markdown("warm the child up " * 100 + "*now*")
    inline, full = {}, {}
    for unit in SHAPES:
        source = (unit * (LENGTH // len(unit) + 1))[:LENGTH]
        inline[unit] = _seconds(render_html, source)
        full[unit] = _seconds(render_markdown, source)
    worst_inline = max(inline, key=inline.get)
    worst_full = max(full, key=full.get)
    say(f"render: worst of {len(SHAPES)} shapes at {LENGTH:,} characters: parser "
        f"{inline[worst_inline] * 1000:.0f} ms ({worst_inline!r}), as posted "
        f"{full[worst_full] * 1000:.0f} ms ({worst_full!r}; time limit {TIME_LIMIT} s)")
    return {"render_worst_inline_ms": round(inline[worst_inline] * 1000, 1),
            "render_worst_posted_ms": round(full[worst_full] * 1000, 1),
            "render_time_limit_s": TIME_LIMIT,
            "render_shapes_ms": {unit: [round(inline[unit] * 1000, 1), round(full[unit] * 1000, 1)]
                                 for unit in SHAPES}}


if __name__ == "__main__":
    for shape, (inline_ms, posted_ms) in measure()["render_shapes_ms"].items():
        print(f"  {shape!r:14} parser {inline_ms:8.1f} ms   as posted {posted_ms:8.1f} ms")
