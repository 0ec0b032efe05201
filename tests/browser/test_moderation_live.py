"""Moderation in Chromium (issue 15): a member flags an answer through the thread page's plain
form, a moderator agrees (and hides it) in the queue page, and the answer disappears from a
visitor's open page live, without a reload."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, wait_live

pytestmark = pytest.mark.browser


@pytest.fixture
def forum(app) -> tuple[int, int]:
    """alice asks, bilal answers with spam; carol reads; a moderator. Committed."""
    from community.extensions import db
    from tests.factories import make_answer, make_thread, make_user

    with app.app_context():
        alice, bilal = make_user("alice"), make_user("bilal")
        make_user("carol")
        make_user("kestrel_mod", role="moderator")
        thread = make_thread(alice, "Roaming stopped after the eSIM swap",
                             "Since the swap my phone shows **No service** abroad.")
        answer = make_answer(bilal, thread, "Free roaming forever at cheap-sims.example today.")
        ids = thread.id, answer.id
        db.session.remove()
        return ids


def test_a_flag_agreed_in_the_queue_removes_the_answer_from_a_visitors_open_page(
        page, artifacts, forum):
    from playwright.sync_api import expect

    thread_id, answer_id = forum
    path = f"/threads/{thread_id}"
    visitor = page()
    visitor.page.goto(path)
    wait_live(visitor.page)
    visitor.page.evaluate("window.__noReload = true")
    expect(visitor.page.locator(".answers article")).to_have_count(1)

    member = page()
    log_in(member.page, "carol", path)
    answer = member.page.locator(f"#post-{answer_id}")
    answer.locator("summary", has_text="Flag").click()
    answer.get_by_label("Spam", exact=True).check()
    answer.get_by_label("Anything moderators should know").fill("Selling SIMs.")
    answer.get_by_role("button", name="Send flag").click()
    expect(member.page.locator(".flash")).to_contain_text("moderators will look")

    moderator = page()
    log_in(moderator.page, "kestrel_mod", "/staff/moderation")
    item = moderator.page.locator(".queue-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Selling SIMs.")
    item.get_by_role("button", name="Agree and hide").click()
    expect(moderator.page.locator(".flash")).to_contain_text("Flags agreed")
    expect(moderator.page.locator(".queue-item")).to_have_count(0)

    expect(visitor.page.locator(".answers article")).to_have_count(0)
    expect(visitor.page.locator("#answers-heading")).to_have_text("0 answers")
    assert visitor.page.evaluate("window.__noReload") is True  # live, not reloaded
    visitor.page.screenshot(path=str(artifacts / "moderation-live.png"))
    for watched in (visitor, member, moderator):
        assert watched.problems() == []
