"""Live updates in Chromium (issue 6): two pages on one thread, an answer posted in one appears
in the other without a reload; a vote and a comment follow; a list page shows "1 new question".
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, wait_live

pytestmark = pytest.mark.browser


@pytest.fixture
def thread_id(app) -> int:
    from community.extensions import db
    from tests.factories import make_thread, make_user

    with app.app_context():
        alice = make_user("alice")
        make_user("bilal")
        make_user("carol")
        thread = make_thread(alice, "Roaming stopped after the eSIM swap",
                             "Since the swap my phone shows **No service** abroad.")
        thread_id = thread.id
        db.session.remove()
        return thread_id


def test_an_answer_posted_in_one_page_appears_in_the_other(app, page, artifacts, thread_id):
    from playwright.sync_api import expect

    from community.extensions import db
    from community.models import Post, User
    from community.services import threads, votes

    path = f"/threads/{thread_id}"
    reader = page()              # a visitor, reading
    reader.page.goto(path)
    wait_live(reader.page)
    reader.page.evaluate("window.__noReload = true")
    lister = page()              # another visitor, on the home page
    lister.page.goto("/")
    wait_live(lister.page)
    tagged = page()              # and one on the roaming tag's list
    tagged.page.goto("/tags/roaming")
    wait_live(tagged.page)

    writer = page()              # bilal, answering through the ordinary form
    log_in(writer.page, "bilal", path)
    writer.page.get_by_label("Your answer").fill("Turn *Data roaming* on again: the swap resets it.")
    writer.page.get_by_role("button", name="Post your answer").click()
    expect(writer.page.locator(".answers article")).to_have_count(1)

    answer = reader.page.locator(".answers article")
    expect(answer).to_have_count(1)
    expect(answer.locator(".post-body em")).to_have_text("Data roaming")
    expect(reader.page.locator("#answers-heading")).to_have_text("1 answer")
    expect(reader.page.locator(".thread-head [data-status]")).to_have_text("Answered")
    post_id = int(answer.get_attribute("data-post-id"))

    with app.app_context():  # carol upvotes and comments, through the services
        carol = db.session.scalar(db.select(User).where(User.username == "carol"))
        post = db.session.get(Post, post_id)
        votes.cast_vote(carol, post, 1)
        threads.comment(carol, post, "That fixed it for me too, **thanks**.")
        db.session.remove()
    expect(answer.locator("[data-score]")).to_have_text("1")
    expect(answer.locator(".comment-list .comment strong")).to_have_text("thanks")
    assert reader.page.evaluate("window.__noReload") is True, "the reader's page reloaded"

    # A new question makes the list page offer "1 new question" (a plain link: reload).
    with app.app_context():
        alice = db.session.scalar(db.select(User).where(User.username == "alice"))
        threads.ask(alice, "Wi-Fi calling drops after ten minutes", "Every call, at home.", "wifi")
        db.session.remove()
    expect(lister.page.locator("[data-live-lists]")).to_have_text("1 new question: show")
    with app.app_context():  # a roaming question: the tag page counts this one only
        alice = db.session.scalar(db.select(User).where(User.username == "alice"))
        threads.ask(alice, "Roaming data is slow in Portugal", "Only 3G.", "roaming")
        db.session.remove()
    expect(lister.page.locator("[data-live-lists]")).to_have_text("2 new questions: show")
    expect(tagged.page.locator("[data-live-lists]")).to_have_text("1 new question: show")
    reader.page.screenshot(path=str(artifacts / "live_answer.png"), full_page=True)
    for watched in (reader, lister, tagged, writer):
        assert watched.problems() == []


def test_a_page_catches_up_after_its_socket_was_down(app, page, thread_id):
    from playwright.sync_api import expect

    from community.extensions import db
    from community.models import Thread, User
    from community.services import threads

    reader = page()
    log_in(reader.page, "carol", f"/threads/{thread_id}")
    wait_live(reader.page)
    reader.page.evaluate("window.__noReload = true")
    reader.page.evaluate("window.community.live.disconnect()")
    wait_live(reader.page, "disconnected")

    with app.app_context():  # an answer and a comment while this page hears nothing
        bilal = db.session.scalar(db.select(User).where(User.username == "bilal"))
        post = threads.answer(bilal, db.session.get(Thread, thread_id), "Reset the APN, then restart.")
        threads.comment(bilal, post, "And check the roaming switch.")
        post_id = post.id
        db.session.remove()
    reader.page.wait_for_timeout(300)
    expect(reader.page.locator(".answers article")).to_have_count(0)

    reader.page.evaluate("window.community.live.connect()")
    answer = reader.page.locator(f"#post-{post_id}")
    expect(answer).to_be_visible()
    expect(answer.locator(".comment-list .comment")).to_have_count(1)
    # Caught up from the page as drawn for carol: her own vote button is there.
    expect(answer.get_by_role("button", name="Upvote (this was helpful)")).to_be_visible()
    assert reader.page.evaluate("window.__noReload") is True
    assert reader.problems() == []
