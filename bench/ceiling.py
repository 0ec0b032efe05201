"""The framework ceiling: a bare Flask app with one route that renders a Jinja template from
memory (no database, no extensions), producing a page of BENCH_CEILING_BYTES bytes: the size of
the thread page being measured. Served by the same gunicorn settings, it shows what Flask +
Jinja + gunicorn + the loopback can do at best for a page that size on this machine.

gunicorn --pythonpath bench ceiling:app
"""

from __future__ import annotations

import os

from flask import Flask, render_template
from jinja2 import DictLoader

TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }} · Ceiling</title>
<link rel="stylesheet" href="/static/css/site.css"></head>
<body>
<header class="site-header"><a class="brand" href="/">Ceiling</a></header>
<main id="main" class="wrap">
<h1>{{ title }}</h1>
{% for post in posts %}
<article class="post" id="post-{{ post.id }}">
  <span class="score">{{ post.score }}</span>
  <div class="post-body" dir="auto">{{ post.body|safe }}</div>
  <footer>answered by <a href="/users/{{ post.id }}">{{ post.author }}</a></footer>
</article>
{% endfor %}
<div class="filler">{{ filler }}</div>
</main>
</body>
</html>
"""

POSTS = [{"id": i, "score": i * 3, "author": f"user{i}",
          "body": "<p>Toggle flight mode, then reset the <strong>APN</strong> to default.</p>"}
         for i in range(1, 6)]
TARGET_BYTES = int(os.environ.get("BENCH_CEILING_BYTES", "20000"))

app = Flask(__name__, static_folder=None)
app.jinja_loader = DictLoader({"page.html": TEMPLATE})


def _page(filler: str) -> str:
    return render_template("page.html", title="A page the size of a thread page", posts=POSTS,
                           filler=filler)


@app.get("/")
def page():
    return _page(FILLER)


# Pad the page once, at import, to exactly TARGET_BYTES (the filler is plain ASCII).
with app.test_request_context():
    _base = len(_page("").encode())
FILLER = "x" * max(0, TARGET_BYTES - _base)
with app.test_request_context():
    PAGE_BYTES = len(_page(FILLER).encode())
