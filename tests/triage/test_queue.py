"""Which threads the triage queue lists, when they leave and come back, and why (reasons)."""

from __future__ import annotations

from sqlalchemy import delete

from community.extensions import db
from community.models import Thread, TriageItem
from community.services import answers, threads
from community.services.moderation import flags, threads as moderation_threads
from tests.factories import make_answer, make_thread, make_user
from tests.triage.conftest import age, complaint


def test_bridged_complaint_waits_until_staff_answers(users, listed):
    thread = complaint(users.asker)
    item = listed()[thread.id]
    assert item["kind"] == "complaint" and item["thread"]["source"]["channel"] == "whatsapp"
    assert {"urgent", "negative"} <= {r["code"] for r in item["reasons"]}
    make_answer(users.helper, thread, "Try calling them.")  # the community is not staff
    assert thread.id in listed()
    make_answer(users.staff, thread, "We rebooked you on the next flight.")
    assert thread.id not in listed()


def test_follow_up_brings_a_thread_back(users, listed):
    thread = complaint(users.asker)
    make_answer(users.staff, thread, "Rebooked.")
    assert thread.id not in listed()
    threads.comment(users.asker, thread.question, "Still no ticket in my email!")
    item = listed()[thread.id]
    assert item["kind"] == "follow_up"
    assert "follow_up" in {r["code"] for r in item["reasons"]}
    make_answer(users.staff, thread, "Sent again.")
    assert thread.id not in listed()


def test_web_question_enters_only_past_its_expectation(users, listed):
    thread = make_thread(users.asker, "How do I set up voicemail?", "Which number do I dial?")
    assert thread.id not in listed()
    age(thread.id, 25 * 60)
    item = listed()[thread.id]
    assert item["kind"] == "question"
    waiting = next(r for r in item["reasons"] if r["code"] == "waiting")
    assert waiting["text"].startswith("waiting 25 h") and "within 24 h" in waiting["text"]
    make_answer(users.helper, thread, "Dial 121.")  # on the web, any answer takes it out
    assert thread.id not in listed()


def test_needs_staff_flag_lists_until_resolved(users, listed):
    thread = make_thread(users.asker, "Billing question", "What is this line on my bill?")
    make_answer(users.helper, thread, "No idea, ask staff.")
    assert thread.id not in listed()
    flag = flags.flag(users.other, thread.question, "needs_staff", "Only staff can see bills.")
    item = listed()[thread.id]
    assert item["kind"] == "needs_staff" and "needs_staff" in {r["code"] for r in item["reasons"]}
    flags.resolve(users.moderator, flag, "dismissed", "", False)
    assert thread.id not in listed()


def test_solved_leaves_and_reopened_returns(users, listed):
    thread = complaint(users.asker)
    answer = make_answer(users.helper, thread, "Call the hotline.")
    answers.accept(users.asker, thread, answer)
    assert thread.id not in listed()
    answers.unaccept(users.asker, db.session.get(Thread, thread.id))
    item = listed()[thread.id]
    assert item["kind"] == "reopened" and "reopened" in {r["code"] for r in item["reasons"]}


def test_closed_threads_leave(users, listed):
    locked, duplicate, original = [complaint(users.asker, f"Cancelled flight number {n}")
                                   for n in range(3)]
    assert {locked.id, duplicate.id, original.id} <= set(listed())
    moderation_threads.lock(users.moderator, locked.id, "Handled by phone.")
    moderation_threads.close_as_duplicate(users.moderator, duplicate.id, original.id)
    assert set(listed()) == {original.id}


def test_hidden_thread_leaves(client, users, listed, token_for):
    thread = complaint(users.asker)
    response = client.post(f"/api/v1/threads/{thread.id}/hide", json={"reason": "spam"},
                           headers=token_for(users.moderator))
    assert response.status_code == 200
    assert thread.id not in listed()


def test_repeat_and_vulnerable_reasons(users, listed):
    first = complaint(users.asker, "No signal at home since Monday")
    second = complaint(users.asker, "I am scared, my mother is in hospital and no signal")
    item = listed()[second.id]
    codes = {r["code"]: r for r in item["reasons"]}
    assert "second message" in codes["repeat"]["text"]
    assert "hospital" in codes["vulnerable"]["text"]
    assert listed()[first.id]["score"] < item["score"]


def test_same_complaint_scores_the_same_whoever_sends_it(users, listed):
    celebrity = make_user("celebrity", reputation=50000)
    newcomer = make_user("newcomer")
    text = "You charged me twice and my phone has no service. Terrible!"
    a, b = complaint(celebrity, text), complaint(newcomer, text)
    age(a.id, 90)
    age(b.id, 90)
    items = listed()
    assert items[a.id]["score"] == items[b.id]["score"] > 0
    assert items[a.id]["reasons"] == items[b.id]["reasons"]


def test_higher_score_first_and_filters(users, listed):
    calm = complaint(users.helper, "Question about roaming prices", channel="mastodon")
    angry = complaint(users.other, "Phone stolen, charged twice, awful service!")
    order = list(listed())
    assert order.index(angry.id) < order.index(calm.id)
    assert set(listed(channel="mastodon")) == {calm.id}
    assert set(listed(tag="whatsapp")) == {angry.id}


def test_arabic_complaint_is_urgent_and_negative(users, listed):
    thread = complaint(users.asker, "رحلتي ملغية والخدمة سيئة جدا")
    codes = {r["code"] for r in listed()[thread.id]["reasons"]}
    assert {"urgent", "negative"} <= codes


def test_threads_from_before_the_queue_are_placed_by_the_rebuild_command(users, listed, runner):
    thread = complaint(users.asker)
    db.session.execute(delete(TriageItem))  # as if it were asked before the queue existed
    db.session.commit()
    assert thread.id not in listed()

    result = runner.invoke(args=["triage", "rebuild"])

    assert result.exit_code == 0, result.output
    assert thread.id in listed()
    again = runner.invoke(args=["triage", "rebuild"])  # nothing left without a row
    assert "Looked at 0 threads." in again.output
