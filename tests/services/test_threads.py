"""Threads: asking, answering, commenting, editing with revisions, status, lists, events."""

import pytest

from community.services import answers, threads
from community.services.errors import Forbidden, Invalid
from tests.factories import grant_reputation, make_answer, make_thread


def test_ask_renders_and_keeps_source(users, events_seen):
    thread = threads.ask(users.asker, "  Roaming   in Spain stopped working ",
                         "It **was** fine <script>alert(1)</script>", "Roaming  ESIM roaming")
    assert thread.title == "Roaming in Spain stopped working"
    assert thread.tag_names == ["esim", "roaming"]
    assert thread.status == "unanswered"
    question = thread.question
    assert question.body_source.startswith("It **was** fine")
    assert "<strong>was</strong>" in question.body_html and "<script>" not in question.body_html
    assert [r.number for r in question.revisions] == [1]
    assert ("thread.created", {"thread_id": thread.id, "post_id": question.id}) in events_seen


@pytest.mark.parametrize("title, body, tags, code", [
    ("short", "body", ["x"], "title.too_short"),
    ("x" * 201, "body", ["x"], "title.too_long"),
    ("A good title here", "   ", ["x"], "body.empty"),
    ("A good title here", "x" * 30_001, ["x"], "body.too_long"),
    ("A good title here", "body", [], "tags.missing"),
    ("A good title here", "body", ["a", "b", "c", "d", "e", "f"], "tags.too_many"),
    ("A good title here", "body", ["no spaces allowed!"], "tags.invalid"),
])
def test_ask_validation(users, title, body, tags, code):
    with pytest.raises(Invalid) as exc:
        threads.ask(users.asker, title, body, tags)
    assert exc.value.code == code


def test_status_follows_answers_and_acceptance(users):
    thread = make_thread(users.asker)
    post = make_answer(users.helper, thread)
    assert (thread.status, thread.answer_count) == ("answered", 1)
    answers.accept(users.asker, thread, post)
    assert thread.status == "solved" and thread.accepted_answer_id == post.id
    answers.unaccept(users.asker, thread)
    assert thread.status == "answered"


def test_edit_keeps_revisions_and_rerenders(users):
    thread = make_thread(users.asker)
    question = thread.question
    threads.edit_post(users.asker, question, body="Now *edited*", title="A better title here",
                      tags="roaming billing", summary="clarified")
    assert question.body_html == "<p>Now <em>edited</em></p>"
    assert thread.title == "A better title here" and thread.tag_names == ["billing", "roaming"]
    assert [(r.number, r.title) for r in question.revisions] == [
        (1, "How do I turn on roaming?"), (2, "A better title here")]
    assert question.revisions[1].summary == "clarified"
    # Saving the same text again is not a new revision.
    threads.edit_post(users.asker, question, body="Now *edited*")
    assert len(question.revisions) == 2


def test_others_cannot_edit_unless_trusted_or_staff(users):
    thread = make_thread(users.asker)
    with pytest.raises(Forbidden) as exc:
        threads.edit_post(users.other, thread.question, body="vandalism")
    assert exc.value.code == "post.not_author"
    threads.edit_post(users.staff, thread.question, body="Staff tidied the formatting")
    grant_reputation(users.helper, 1000)
    threads.edit_post(users.helper, thread.question, body="A trusted member fixed a typo")
    assert [r.editor.username for r in thread.question.revisions] == [
        "asker", "kestrel_staff", "helper"]


def test_answers_only_have_bodies(users):
    post = make_answer(users.helper, make_thread(users.asker))
    with pytest.raises(Invalid) as exc:
        threads.edit_post(users.helper, post, title="Answers have no title")
    assert exc.value.code == "edit.answer_title"


def test_locked_thread_refuses_answers_and_comments(users):
    thread = make_thread(users.asker)
    thread.is_locked = True
    with pytest.raises(Forbidden) as exc:
        threads.answer(users.helper, thread, "late answer")
    assert exc.value.code == "thread.locked"
    with pytest.raises(Forbidden):
        threads.comment(users.helper, thread.question, "late comment")
    assert threads.answer(users.moderator, thread, "Moderators may still post").id


def test_hidden_threads_are_invisible_to_members(users):
    from community.services.errors import NotFound
    thread = make_thread(users.asker)
    thread.is_hidden = True
    with pytest.raises(NotFound):
        threads.get_thread(users.other, thread.id)
    with pytest.raises(NotFound):
        threads.get_thread(None, thread.id)
    assert threads.get_thread(users.staff, thread.id).id == thread.id
    assert threads.list_threads(None).items == []


def test_list_filters_by_tag_and_status(users):
    roaming = make_thread(users.asker, title="Roaming question one", tags=["roaming"])
    billing = make_thread(users.asker, title="Billing question one", tags=["billing"])
    make_answer(users.helper, billing)
    assert [t.id for t in threads.list_threads(None, tag="roaming").items] == [roaming.id]
    assert [t.id for t in threads.list_threads(None, status="answered").items] == [billing.id]
    assert threads.list_threads(None, tag="unknown-tag").items == []


def test_events_are_dropped_when_the_transaction_fails(users, events_seen):
    thread = make_thread(users.asker)
    events_seen.clear()
    with pytest.raises(Invalid):
        threads.answer(users.helper, thread, "")
    assert events_seen == []


def test_best_answer_prefers_accepted_then_endorsed(users):
    thread = make_thread(users.asker)
    first = make_answer(users.helper, thread, "first")
    second = make_answer(users.other, thread, "second")
    assert answers.best_answer(thread) is None
    answers.endorse(users.staff, second)
    assert answers.best_answer(thread) is second
    answers.accept(users.asker, thread, first)
    assert answers.best_answer(thread) is first
    assert answers.in_order(thread) == [first, second]
