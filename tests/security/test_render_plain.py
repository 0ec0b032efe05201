"""Plain text skips the markdown and cleaner parses (community.render.render_plain); what it makes
must be exactly what the full path makes, for any text it accepts. Checked on real customer
tweets, the naughty strings, and text generated to sit on every edge of "plain"."""

from __future__ import annotations

import csv
import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from community.render import render_html, render_markdown, render_plain
from tests.bridge.test_twcs_import import CSV_PATH
from tests.conftest import require
from tests.security.test_sanitizer import naughty_strings

# Words that are plain, and words on the edge of plain: markup, block openings, links and
# near-links, entities, controls and invisible characters, right-to-left text.
WORDS = [
    "no", "signal", "since", "Monday", "2", "24h", "07700", "100%", "(why)", "ok/no?", "it's",
    '"quoted"', "—", "😀", "👍🏽", "مرحبا،", "الإشارة", "؟", "שלום", "日本語", "ü", "e\u0301",
    "#help", "@support", "@Some_Brand", "*", "**bold**", "_x_", "`code`", "[a](b)", "<b>",
    "<script>", "&amp;", "&", "a|b", "~~~", "```", "\\", "> quote", "- item", "+ item", "1.",
    "2)", "===", "---", "foo.com", "www.example.org", "http://t.co/x", "mailto:a@b.c",
    "a.b", "end.", "v1.2", "e.g.", ".com", "\t", "\r", "\x00", "\x0c", "\u200f", "\u00a0",
    "\u2028", "\ufeff", "\U0001f600\u200d",
]
SEPARATORS = [" ", "  ", "\n", "\n\n", "\n\n\n", " \n", "\n ", "\n    "]


@st.composite
def texts(draw) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
    text = words[0]
    for word in words[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + word
    return draw(st.sampled_from(["", "\n", " "])) + text + draw(st.sampled_from(["", "\n", " "]))


@settings(max_examples=1500, deadline=None)
@given(texts())
def test_plain_text_renders_as_the_full_path_does(text):
    plain = render_plain(text)
    assert plain is None or plain == render_html(text), text


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_any_text_renders_as_the_full_path_does(text):
    plain = render_plain(text)
    assert plain is None or plain == render_html(text), text


@pytest.mark.parametrize("text, html_out", [
    ("My line has had no signal since this morning. Is there an outage?",
     "<p>My line has had no signal since this morning. Is there an outage?</p>"),
    ("\nFirst line\nsecond line\n\n\nNext paragraph 😀\n",
     "<p>First line\nsecond line</p>\n<p>Next paragraph 😀</p>"),
    ("مرحبا، لا توجد إشارة منذ الصباح؟", "<p>مرحبا، لا توجد إشارة منذ الصباح؟</p>"),
])
def test_plain_text_takes_the_short_path(text, html_out):
    assert render_plain(text) == html_out
    assert render_markdown(text) == html_out


@pytest.mark.parametrize("text", [
    "see foo.com", "**bold**", "a <b>tag</b>", "AT&T", "# heading", "1. first", "- item",
    "line  \nbreak", "    code", "tab\there", "rtl\u200fmark", "",
])
def test_text_with_anything_to_act_on_takes_the_full_path(text):
    assert render_plain(text) is None


@pytest.mark.corpus
def test_real_tweets_and_naughty_strings_render_as_the_full_path_does():
    require(CSV_PATH.is_file(), f"the customer-support corpus is missing at {CSV_PATH}")
    with CSV_PATH.open(newline="", encoding="utf-8") as handle:
        tweets = [html.unescape(row["text"]) for row in csv.DictReader(handle)]
    corpus = tweets + list(naughty_strings())
    short = [text for text in corpus if render_plain(text) is not None]
    differ = [text for text in short if render_plain(text) != render_html(text)]
    assert differ == []
    # Most real tweets are plain (3,277 of 5,000 at the time of writing): the short path is
    # the one customers' messages take, so it is the one this test holds to the full path.
    assert len(short) > len(tweets) / 2
