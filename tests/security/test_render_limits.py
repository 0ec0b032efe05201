"""What one post can cost the renderer, and where its images may load from.

Markdown shapes that cost Python-Markdown quadratic time (a paragraph of `[a](` took 20 s at the
length limit) are rewritten before parsing without changing what the post shows; long sources
render in a child process under a time limit, past which the text is shown as typed. Images
show inline only from the site's IMAGE_HOSTS; others become links, and the CSP agrees.
"""

from __future__ import annotations

import html
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import community.render.html as render_html_module
from community.render import INLINE_MAX, LINK_REL, render_html, render_markdown
from community.render.tame import TOLERATED, tame
from tests.factories import make_thread
from tests.security.test_sanitizer import html_problems

BODY_MAX = 30_000
# Units that, repeated, cost some markdown or HTML parser more than linear time, or nest deep.
TRICKY_UNITS = ["[", "![", "[a](", "(", "[a][", "<a ", "<http://a", ">", "&", "**a", "[](",
                "[a](<", "<b>", "```\n", "`a", "<x@", "[![", "> ", "- ", "\\", "<!--", "&#"]
MARKUP = "[]()<>!`*_&\\#-|~ a\n"


@st.composite
def crowded_sources(draw) -> str:
    """A unit of markup repeated up to the length limit, sometimes after ordinary text."""
    unit = draw(st.one_of(st.sampled_from(TRICKY_UNITS),
                          st.text(alphabet=MARKUP, min_size=1, max_size=6)))
    length = draw(st.integers(min_value=INLINE_MAX // 2, max_value=BODY_MAX))
    prefix = draw(st.sampled_from(["", "Any news? ", "Steps:\n\n1. reboot\n\n"]))
    return (prefix + unit * (length // len(unit) + 1))[:length]


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(crowded_sources())
def test_no_source_up_to_the_limit_holds_the_renderer(source):
    limit = 0.5
    started = time.perf_counter()
    rendered = render_markdown(source, time_limit=limit)
    elapsed = time.perf_counter() - started
    # The child is killed at the limit; what is left is the round trip and the escaped text.
    assert elapsed < limit + 1.0, (source[:40], len(source), elapsed)
    assert html_problems(rendered) == []


@pytest.mark.parametrize("unit", ["[a](", "[](", "<a ", "[a](<", "<http://a"])
def test_quadratic_shapes_render_whole_at_the_length_limit(unit):
    source = unit * (BODY_MAX // len(unit))
    rendered = render_markdown(source, time_limit=30.0)
    # Rendered by the parser (not the escaped fallback): every character is still shown.
    assert html.unescape(rendered.replace("<p>", "").replace("</p>", "")).strip() \
        == source.strip()


PARAGRAPH_PIECES = ["[a](", "[b](x)", "(", ")", "<", ">", "<b>", "</b>", "`<`", "`[a](`", "a",
                    " ", "\n", "\\(", "\\<", "<https://e.com>", "**x**", "&lt;", "](", "``a(``"]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PARAGRAPH_PIECES), min_size=60, max_size=300))
def test_taming_never_changes_what_a_post_shows(monkeypatch_module, pieces):
    source = "".join(pieces)
    tamed = render_html(source)
    with monkeypatch_module.context() as patch:
        patch.setattr(render_html_module, "tame", lambda text: text)
        untamed = render_html(source)
    assert tamed == untamed, source


def test_taming_rewrites_only_crowded_paragraphs_and_never_code():
    crowded = "[a](" * (TOLERATED + 1)
    assert tame(crowded) == "[a]\\(" * (TOLERATED + 1)
    assert tame("[a](" * TOLERATED) == "[a](" * TOLERATED
    assert tame("<a " * (TOLERATED + 1)) == "&lt;a " * (TOLERATED + 1)
    fenced = "```\n" + crowded + "\n```\n"
    assert tame(fenced + "\n" + crowded) == fenced + "\n" + tame(crowded)
    assert tame("`" + crowded + "` " + crowded) == "`" + crowded + "` " + tame(crowded)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_a_long_source_past_the_time_limit_is_shown_as_typed_and_the_next_renders():
    source = "**bold** and <b>tags</b> here. " * (INLINE_MAX // 20)
    assert len(source) > INLINE_MAX
    timed_out = render_markdown(source, time_limit=0.000001)
    assert "<strong>" not in timed_out and "**bold** and &lt;b&gt;tags&lt;/b&gt;" in timed_out
    assert html_problems(timed_out) == []
    rendered = render_markdown(source)  # a new child replaces the killed one
    assert "<strong>bold</strong>" in rendered


def test_a_pathological_answer_posts_through_the_api(client, users, token_for):
    thread = make_thread(users.asker, title="Roaming in Spain", body="No data since Monday.")
    body = "[a](" * (BODY_MAX // 4)
    response = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": body},
                           headers=token_for(users.helper))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["body"] == body
    assert html.unescape(response.get_json()["body_html"]).count("[a](") == BODY_MAX // 4


# ---- images ---------------------------------------------------------------------------------

def test_images_from_other_hosts_become_links_by_default():
    rendered = render_markdown("See ![the bill](https://tracker.example/bill.png?u=1) please")
    assert "<img" not in rendered
    assert (f'<a href="https://tracker.example/bill.png?u=1" rel="{LINK_REL}">the bill</a>'
            in rendered)


def test_images_show_inline_from_the_image_hosts_and_their_wildcards():
    hosts = ["images.example.com", "*.cdn.example"]
    source = ("![a](https://images.example.com/a.png) ![b](https://eu.cdn.example/b.png) "
              "![c](https://cdn.example/c.png) ![d](https://evil.example/images.example.com.png) "
              "![e](https://images.example.com.evil.example/e.png)")
    rendered = render_markdown(source, image_hosts=hosts)
    assert '<img alt="a" src="https://images.example.com/a.png">' in rendered
    assert '<img alt="b" src="https://eu.cdn.example/b.png">' in rendered
    assert '<img alt="c" src="https://cdn.example/c.png">' in rendered
    assert rendered.count("<img") == 3
    assert '<a href="https://evil.example/images.example.com.png"' in rendered
    assert '<a href="https://images.example.com.evil.example/e.png"' in rendered


def test_posted_images_follow_the_image_hosts_setting(app, client, users, token_for,
                                                       monkeypatch):
    thread = make_thread(users.asker, title="Roaming in Spain", body="No data since Monday.")
    body = "![inside](https://img.example.org/in.png) ![outside](https://spy.example/out.png)"
    monkeypatch.setitem(app.config, "IMAGE_HOSTS", ["img.example.org"])
    response = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": body},
                           headers=token_for(users.helper))
    assert response.status_code == 201
    rendered = response.get_json()["body_html"]
    assert 'src="https://img.example.org/in.png"' in rendered
    assert "spy.example" not in rendered.split("<a ")[0]
    assert '<a href="https://spy.example/out.png"' in rendered


def test_the_csp_lets_images_load_only_from_the_site_and_its_image_hosts(app, client,
                                                                          monkeypatch):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "img-src 'self';" in policy
    monkeypatch.setitem(app.config, "IMAGE_HOSTS", ["img.example.org", "*.cdn.example"])
    policy = client.get("/").headers["Content-Security-Policy"]
    assert ("img-src 'self' https://img.example.org http://img.example.org "
            "https://*.cdn.example http://*.cdn.example;") in policy
