"""Two people in real Chromium: sign up, ask, answer, accept; keyboard basics; mixed RTL/LTR."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ARABIC_QUESTION = "مرحبا، لا يعمل التجوال في دبي. هل من مساعدة؟"
ARABIC_ANSWER = "جرّب إعادة تشغيل الهاتف بعد تفعيل التجوال."

QUESTION_BODY = f"""Roaming **stopped working** as soon as I landed.

- Phone: Pixel 8
- Plan: Travel 10

I ran `adb shell getprop` and the operator is empty:

```
gsm.operator.alpha=
```

{ARABIC_QUESTION}
"""

# Arabic first, so dir="auto" makes this whole answer right-to-left.
ANSWER_BODY = f"""{ARABIC_ANSWER}

Turn on **Data roaming** under *Settings → Network*, then run `*#21#` to check forwarding."""


def sign_up(page, username: str) -> None:
    """Fill the real sign-up form by its labels; signing up also logs in."""
    from playwright.sync_api import expect

    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    # exact: "Password" alone would also match "Repeat password".
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text(f"Welcome, {username}!")
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(username)


def unlabelled_fields(page) -> list[str]:
    """Visible form controls that have no label (a <label>, aria-label or aria-labelledby)."""
    return page.eval_on_selector_all(
        "form input:not([type=hidden]):not([type=submit]), form textarea, form select",
        """els => els
            .filter(el => el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML)""")


def test_ask_answer_accept_in_two_browsers(page, artifacts):
    from playwright.sync_api import expect

    asker = page()
    a = asker.page
    sign_up(a, "alice")

    # The session cookie is Secure, and Chromium keeps it on http://127.0.0.1 (a secure context).
    session_cookie = next(c for c in asker.context.cookies() if c["name"] == "session")
    assert session_cookie["secure"] and session_cookie["httpOnly"]

    a.get_by_role("link", name="Ask a question").click()
    a.get_by_label("Title").fill("Roaming does not work in Dubai")
    a.get_by_label("Details").fill(QUESTION_BODY)
    a.get_by_label("Tags").fill("roaming esim")
    a.get_by_role("button", name="Post your question").click()

    expect(a).to_have_url(re.compile(r"/threads/\d+"))
    expect(a.get_by_role("heading", level=1)).to_have_text("Roaming does not work in Dubai")
    question = a.get_by_role("article", name="Question")
    body = question.locator(".post-body")
    expect(body).to_have_attribute("dir", "auto")
    expect(body.locator("strong")).to_have_text("stopped working")
    expect(body.locator("ul > li")).to_have_text(["Phone: Pixel 8", "Plan: Travel 10"])
    expect(body.locator("p code")).to_have_text("adb shell getprop")
    expect(body.locator("pre > code")).to_contain_text("gsm.operator.alpha=")
    expect(body.locator("p", has_text=ARABIC_QUESTION)).to_be_visible()
    tags = a.get_by_role("list", name="Tags")
    expect(tags.get_by_role("link")).to_have_count(2)
    expect(tags.get_by_role("link", name="roaming", exact=True)).to_be_visible()
    expect(tags.get_by_role("link", name="esim", exact=True)).to_be_visible()
    thread_url = a.url

    # Someone else, in a separate browser context (separate cookies), answers.
    helper = page()
    b = helper.page
    sign_up(b, "bilal")
    b.goto(thread_url)
    # By role: the "Your answer" section is labelled by its heading too.
    b.get_by_role("textbox", name="Your answer").fill(ANSWER_BODY)
    b.get_by_role("button", name="Post your answer").click()
    expect(b).to_have_url(re.compile(r"/threads/\d+.*#post-\d+$"))
    answer = b.get_by_role("article", name="Answer")
    answer_body = answer.locator(".post-body")
    expect(answer_body).to_have_attribute("dir", "auto")
    expect(answer_body.locator("strong")).to_have_text("Data roaming")
    expect(answer_body.locator("em")).to_have_text("Settings → Network")
    expect(answer_body.locator("code")).to_have_text("*#21#")
    expect(answer_body).to_contain_text(ARABIC_ANSWER)
    expect(answer).to_contain_text("answered by")
    expect(answer.get_by_role("link", name="bilal")).to_be_visible()
    # Both people's words are on the page.
    expect(b.get_by_role("article", name="Question").locator(".post-body")).to_contain_text(
        ARABIC_QUESTION)
    expect(b.get_by_role("heading", name="1 answer")).to_be_visible()
    # Only the asker may accept.
    expect(b.get_by_role("button", name="Accept this answer")).to_have_count(0)

    # The asker reloads, sees the answer, and accepts it.
    a.reload()
    expect(a.get_by_role("article", name="Answer")).to_contain_text(ARABIC_ANSWER)
    a.get_by_role("article", name="Answer").get_by_role(
        "button", name="Accept this answer").click()

    accepted = a.get_by_role("article", name="Accepted answer")
    expect(accepted).to_contain_text(ARABIC_ANSWER)
    expect(accepted.locator(".accepted-mark")).to_have_text(re.compile(r"Accepted"))
    expect(a.locator(".thread-head .status")).to_have_text("Solved")
    expect(accepted.get_by_role("button", name="Unaccept")).to_be_visible()
    expect(a.get_by_role("article", name="Question").locator(".post-body")).to_contain_text(
        ARABIC_QUESTION)

    # The answer's first letter is Arabic, so dir="auto" gives its body a right-to-left base.
    expect(accepted.locator(".post-body")).to_have_css("direction", "rtl")

    a.screenshot(path=str(artifacts / "forum_flow.png"), full_page=True)
    a.set_viewport_size({"width": 390, "height": 844})
    a.reload()
    expect(a.locator(".accepted-mark")).to_be_visible()
    # Nothing may push the page wider than a phone screen (long code, tags, header).
    scroll_width = a.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"page is {scroll_width}px wide at a 390px viewport"
    a.screenshot(path=str(artifacts / "forum_flow_mobile.png"), full_page=True)

    assert asker.problems() == []
    assert helper.problems() == []


def test_keyboard_and_labels(page):
    from playwright.sync_api import expect

    visitor = page()
    p = visitor.page
    p.goto("/")
    p.keyboard.press("Tab")
    skip = p.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # it must show itself once it has focus
    p.keyboard.press("Enter")
    expect(p.locator("main#main")).to_be_focused()

    p.goto("/signup")
    for label in ("Username", "Email", "Repeat password"):
        expect(p.get_by_label(label)).to_be_editable()
    expect(p.get_by_label("Password", exact=True)).to_be_editable()
    assert unlabelled_fields(p) == []

    sign_up(p, "carmen")
    p.goto("/ask")
    for label in ("Title", "Details", "Tags"):
        expect(p.get_by_label(label)).to_be_editable()
    # Help text is tied to its field, so screen readers read it with the label.
    expect(p.get_by_label("Tags")).to_have_accessible_description(re.compile("roaming esim"))
    assert unlabelled_fields(p) == []

    assert visitor.problems() == []


# Where each paragraph's text sits in its box, and at which end its last character is drawn:
# "left"/"right" for single-line paragraphs, as a reader sees them.
PARAGRAPH_LAYOUT_JS = """el => [...el.querySelectorAll('p')].map(p => {
  const box = p.getBoundingClientRect();
  const all = document.createRange(); all.selectNodeContents(p);
  const text = all.getBoundingClientRect();
  const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
  let last = null;
  while (walker.nextNode()) if (walker.currentNode.data.trim()) last = walker.currentNode;
  const end = document.createRange();
  const n = last.data.trimEnd().length; end.setStart(last, n - 1); end.setEnd(last, n);
  const c = end.getBoundingClientRect();
  return {
    text: p.textContent.trim(),
    flush: (text.left - box.left) <= (box.right - text.right) ? 'left' : 'right',
    ends: Math.abs(c.right - text.right) <= Math.abs(c.left - text.left) ? 'right' : 'left',
  };
})"""


def test_mixed_language_post_reads_each_paragraph_in_its_own_direction(app, page):
    """Posts here mix English and Arabic. dir="auto" on the whole post body picks one direction
    from the first letter, so the other language's paragraphs come out misaligned, with their
    final punctuation drawn at the wrong end ("  .Turn on Data roaming"). Each paragraph has to
    take its direction from its own text."""
    from community.extensions import db
    from tests.factories import make_answer, make_thread, make_user

    with app.app_context():
        asker, helper = make_user("layla"), make_user("omar")
        thread = make_thread(asker, "Roaming does not work in Dubai", QUESTION_BODY)
        make_answer(helper, thread, ANSWER_BODY)
        thread_id = thread.id
        db.session.remove()

    visitor = page(viewport={"width": 1280, "height": 900})
    p = visitor.page
    p.goto(f"/threads/{thread_id}")
    question = p.get_by_role("article", name="Question").locator(".post-body")
    answer = p.get_by_role("article", name="Answer").locator(".post-body")

    layout = {item["text"]: (item["flush"], item["ends"])
              for body in (question, answer) for item in body.evaluate(PARAGRAPH_LAYOUT_JS)}
    expected = {
        "Roaming stopped working as soon as I landed.": ("left", "right"),
        ARABIC_QUESTION: ("right", "left"),
        ARABIC_ANSWER: ("right", "left"),
        "Turn on Data roaming under Settings → Network, then run *#21# to check forwarding.":
            ("left", "right"),
    }
    assert {text: layout.get(text) for text in expected} == expected
    assert visitor.problems() == []
