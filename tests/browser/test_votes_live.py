"""Votes, acceptance and endorsement through the real thread page in Chromium.

With JavaScript, static/js/site.js sends each vote/accept/endorse form through the JSON API and
updates the page in place (score, pressed state, ranks, status, accepted mark, which of the
paired buttons shows). Without JavaScript the same forms post, the server redirects back to the
thread, and the freshly drawn page has to show the same state. Both runs check the server's
state through the JSON API, and the reputation the points table promises:

    bilal starts at 45 (Newcomer); alice's upvote +10 -> 55 (Contributor); alice accepts +15 -> 70;
    carol's downvote -2 -> 68; the staff endorsement +10 -> 78.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

UPVOTE = "Upvote (this was helpful)"
DOWNVOTE = "Downvote (this was not helpful)"
STAFF = "kestrel_sam"


@dataclass(frozen=True)
class Forum:
    thread_id: int
    question_id: int
    answer_id: int
    alice_id: int
    bilal_id: int
    carol_id: int
    staff_id: int

    @property
    def path(self) -> str:
        return f"/threads/{self.thread_id}"


@pytest.fixture
def forum(app) -> Forum:
    """alice asks, bilal (reputation 45) answers; carol has 60; one staff member. Committed."""
    from community.extensions import db
    from tests.factories import grant_reputation, make_answer, make_thread, make_user

    with app.app_context():
        alice = make_user("alice")
        bilal = make_user("bilal")
        grant_reputation(bilal, 45)
        carol = make_user("carol", reputation=60)
        staff = make_user(STAFF, role="staff")
        thread = make_thread(alice, "Roaming stopped after the eSIM swap",
                             "Since the swap my phone shows **No service** abroad.")
        answer = make_answer(bilal, thread, "Turn *Data roaming* on again: the swap resets it.")
        for user in (alice, bilal, carol, staff):
            db.session.refresh(user)
        assert (alice.reputation, bilal.reputation, carol.reputation, staff.reputation) == (
            1, 45, 60, 1)
        forum = Forum(thread.id, thread.question.id, answer.id, alice.id, bilal.id, carol.id,
                      staff.id)
        db.session.remove()
    return forum


class Visitor:
    """One person's thread page; `press` clicks a form button the way this browser submits it."""

    def __init__(self, watched, forum: Forum, javascript: bool):
        self.watched = watched
        self.page = watched.page
        self.forum = forum
        self.javascript = javascript

    def open_thread(self) -> None:
        self.page.goto(self.forum.path)
        if self.javascript:
            # Set once; any navigation (a reload, a fallback form post) would clear it.
            self.page.evaluate("window.__noReload = true")

    def answer(self):
        # By id: the article's accessible name flips between "Answer" and "Accepted answer".
        return self.page.locator(f"#post-{self.forum.answer_id}")

    def bilal_rank(self):
        return self.answer().locator(f"[data-rank-of='{self.forum.bilal_id}']")

    def press(self, button) -> None:
        page = self.page
        if self.javascript:
            # site.js sends the action to the API, then re-reads the thread: wait for that read,
            # so the next action never races the previous one's update.
            thread_api = f"/api/v1/threads/{self.forum.thread_id}"
            with page.expect_response(lambda r: r.request.method == "GET"
                                      and r.url.endswith(thread_api)) as refreshed:
                button.click()
            assert refreshed.value.ok
            self.assert_not_reloaded()
        else:
            # No script: the form posts, the server redirects back to the thread.
            with page.expect_navigation():
                button.click()
            assert re.search(rf"/threads/{self.forum.thread_id}([/#]|$)", page.url), page.url

    def assert_not_reloaded(self) -> None:
        if self.javascript:
            assert self.page.evaluate("window.__noReload") is True, "the page navigated"
            assert self.page.url.endswith(self.forum.path), self.page.url

    def api(self, path: str) -> dict:
        response = self.page.request.get(f"/api/v1{path}")
        assert response.ok, (path, response.status)
        return response.json()


def expect_vote(answer, score: str, up: str, down: str | None = None) -> None:
    from playwright.sync_api import expect

    expect(answer.locator("[data-score]")).to_have_text(score)
    expect(answer.get_by_role("button", name=UPVOTE)).to_have_attribute("aria-pressed", up)
    if down is not None:
        expect(answer.get_by_role("button", name=DOWNVOTE)).to_have_attribute("aria-pressed", down)


@pytest.mark.parametrize("javascript", [True, False], ids=["in-place", "without-javascript"])
def test_vote_accept_downvote_endorse(page, artifacts, forum, javascript):
    from playwright.sync_api import expect

    # ---- alice, the asker --------------------------------------------------------------------
    alice = Visitor(page(java_script_enabled=javascript), forum, javascript)
    a = alice.page
    log_in(a, "alice", forum.path)
    alice.open_thread()
    answer = alice.answer()
    up = answer.get_by_role("button", name=UPVOTE)

    # Her own question: the score, but no vote buttons.
    question = a.get_by_role("article", name="Question")
    expect(question.locator("[data-score]")).to_have_text("0")
    expect(question.locator(".vote-form")).to_have_count(0)
    expect(question.get_by_role("button", name=re.compile("vote", re.I))).to_have_count(0)
    # Reputation 1 (< 50): an upvote button on bilal's answer, no downvote button at all.
    expect(up).to_be_visible()
    expect(answer.get_by_role("button", name=DOWNVOTE)).to_have_count(0)
    expect_vote(answer, "0", "false")
    expect(alice.bilal_rank()).to_have_text("Newcomer")
    expect(alice.bilal_rank()).to_have_attribute("title", "45 reputation")

    # Upvote: score 1, pressed, and bilal's 55 makes him a Contributor.
    alice.press(up)
    expect_vote(answer, "1", "true")
    expect(alice.bilal_rank()).to_have_text("Contributor")
    expect(alice.bilal_rank()).to_have_attribute("title", "55 reputation")

    # The same button again takes the vote back.
    alice.press(up)
    expect_vote(answer, "0", "false")
    expect(alice.bilal_rank()).to_have_text("Newcomer")
    expect(alice.bilal_rank()).to_have_attribute("title", "45 reputation")

    alice.press(up)
    expect_vote(answer, "1", "true")
    expect(alice.bilal_rank()).to_have_text("Contributor")

    # Accept.
    status = a.locator(".thread-head [data-status]")
    expect(status).to_have_text("Answered")
    expect(answer.locator("[data-accepted-mark]")).to_be_hidden()
    expect(answer.get_by_role("button", name="Unaccept")).to_be_hidden()
    alice.press(answer.get_by_role("button", name="Accept this answer"))
    expect(status).to_have_text("Solved")
    expect(answer.locator("[data-accepted-mark]")).to_be_visible()
    expect(answer.locator("[data-accepted-mark]")).to_contain_text("Accepted")
    expect(answer.get_by_role("button", name="Unaccept")).to_be_visible()
    expect(answer.get_by_role("button", name="Accept this answer")).to_be_hidden()
    expect(a.get_by_role("article", name="Accepted answer")).to_have_attribute(
        "id", f"post-{forum.answer_id}")
    expect(alice.bilal_rank()).to_have_attribute("title", "70 reputation")
    expect_vote(answer, "1", "true")
    alice.assert_not_reloaded()

    # The server agrees with what the page shows.
    thread = alice.api(f"/threads/{forum.thread_id}")
    assert (thread["status"], thread["accepted_answer_id"]) == ("solved", forum.answer_id)
    [posted] = thread["answers"]
    assert (posted["id"], posted["score"], posted["accepted"]) == (forum.answer_id, 1, True)
    assert thread["question"]["score"] == 0
    bilal = alice.api(f"/users/{forum.bilal_id}")
    assert (bilal["reputation"], bilal["rank"]) == (45 + 10 + 15, "Contributor")
    assert alice.api(f"/users/{forum.alice_id}")["reputation"] == 1 + 2

    # Unaccept and accept again: the paired buttons swap back and forth.
    alice.press(answer.get_by_role("button", name="Unaccept"))
    expect(status).to_have_text("Answered")
    expect(answer.locator("[data-accepted-mark]")).to_be_hidden()
    expect(answer.get_by_role("button", name="Accept this answer")).to_be_visible()
    expect(answer.get_by_role("button", name="Unaccept")).to_be_hidden()
    expect(alice.bilal_rank()).to_have_attribute("title", "55 reputation")
    alice.press(answer.get_by_role("button", name="Accept this answer"))
    expect(status).to_have_text("Solved")
    expect(answer.get_by_role("button", name="Unaccept")).to_be_visible()
    expect(alice.bilal_rank()).to_have_attribute("title", "70 reputation")
    assert alice.api(f"/users/{forum.bilal_id}")["reputation"] == 70
    alice.assert_not_reloaded()

    # ---- carol (reputation 60) downvotes, in her own browser context --------------------------
    carol = Visitor(page(java_script_enabled=javascript), forum, javascript)
    c = carol.page
    log_in(c, "carol", forum.path)
    carol.open_thread()
    c_answer = carol.answer()
    expect(c.locator(".thread-head [data-status]")).to_have_text("Solved")
    expect(c_answer.locator("[data-accepted-mark]")).to_be_visible()
    expect(c_answer.get_by_role("button", name="Accept this answer")).to_have_count(0)
    expect(c_answer.get_by_role("button", name="Unaccept")).to_have_count(0)
    expect_vote(c_answer, "1", "false", "false")
    carol.press(c_answer.get_by_role("button", name=DOWNVOTE))
    expect_vote(c_answer, "0", "false", "true")
    expect(carol.bilal_rank()).to_have_attribute("title", "68 reputation")
    expect(carol.bilal_rank()).to_have_text("Contributor")
    carol.assert_not_reloaded()
    assert carol.api(f"/users/{forum.bilal_id}")["reputation"] == 70 - 2
    assert carol.api(f"/users/{forum.carol_id}")["reputation"] == 60 - 1
    assert carol.api(f"/threads/{forum.thread_id}")["answers"][0]["score"] == 0

    # ---- staff endorse (staff may downvote whatever their reputation) ------------------------
    staff = Visitor(page(java_script_enabled=javascript), forum, javascript)
    s = staff.page
    log_in(s, STAFF, forum.path)
    staff.open_thread()
    s_answer = staff.answer()
    expect_vote(s_answer, "0", "false", "false")
    endorsement = s_answer.locator("[data-endorsement]")
    expect(endorsement).to_be_hidden()
    expect(s_answer.get_by_role("button", name="Withdraw endorsement")).to_be_hidden()
    staff.press(s_answer.get_by_role("button", name="Endorse", exact=True))
    expect(endorsement).to_be_visible()
    expect(endorsement).to_have_text(re.compile(rf"Endorsed by\s+{STAFF}\s+\(Kestrel staff\)"))
    expect(s_answer.get_by_role("button", name="Withdraw endorsement")).to_be_visible()
    expect(s_answer.get_by_role("button", name="Endorse", exact=True)).to_be_hidden()
    expect(staff.bilal_rank()).to_have_attribute("title", "78 reputation")
    staff.assert_not_reloaded()
    endorsed = staff.api(f"/threads/{forum.thread_id}")["answers"][0]["endorsed"]
    assert endorsed["by"]["id"] == forum.staff_id
    assert staff.api(f"/users/{forum.bilal_id}")["reputation"] == 68 + 10

    name = "votes_live.png" if javascript else "votes_live_no_js.png"
    s.screenshot(path=str(artifacts / name), full_page=True)

    # The asker's page, drawn fresh, shows the server's final state too.
    a.reload()
    expect(a.locator(".thread-head [data-status]")).to_have_text("Solved")
    expect_vote(answer, "0", "true")  # carol's -1 cancels alice's +1; alice's vote still stands
    expect(answer.locator("[data-endorsement]")).to_be_visible()
    expect(alice.bilal_rank()).to_have_attribute("title", "78 reputation")

    for visitor in (alice, carol, staff):
        assert visitor.watched.problems() == []
