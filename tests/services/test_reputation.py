"""Reputation: every rule in DESIGN.md's table, exact reversals, the floor, ranks, badges."""

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import ReputationEvent
from community.services import answers, reputation, votes
from community.services.errors import Forbidden
from tests.factories import grant_reputation, make_answer, make_thread, make_user


def rep(*people):
    for person in people:
        db.session.refresh(person)
    return tuple(person.reputation for person in people)


@pytest.fixture
def scene(users):
    thread = make_thread(users.asker)
    answer = make_answer(users.helper, thread)
    grant_reputation(users.other, 100)  # enough to downvote
    return thread, answer


def test_upvotes_on_questions_and_answers(users, scene):
    thread, answer = scene
    votes.cast_vote(users.other, thread.question, 1)
    votes.cast_vote(users.other, answer, 1)
    assert rep(users.asker, users.helper) == (1 + 5, 1 + 10)
    assert (thread.question.score, answer.score, thread.score) == (1, 1, 1)


def test_downvote_costs_the_author_two_and_the_voter_one_on_answers(users, scene):
    thread, answer = scene
    grant_reputation(users.helper, 50)
    votes.cast_vote(users.other, answer, -1)
    assert rep(users.helper, users.other) == (48, 99)
    votes.cast_vote(users.other, thread.question, -1)   # questions: no cost to the voter
    assert rep(users.other) == (99,)
    assert answer.score == -1


@pytest.mark.parametrize("first, second", [(1, -1), (-1, 1), (1, 0), (-1, 0)])
def test_changing_or_retracting_reverses_exactly(users, scene, first, second):
    _, answer = scene
    before = rep(users.helper, users.other)
    votes.cast_vote(users.other, answer, first)
    votes.cast_vote(users.other, answer, second)
    votes.cast_vote(users.other, answer, 0)
    assert rep(users.helper, users.other) == before
    assert answer.score == 0
    assert db.session.scalar(select(func.sum(ReputationEvent.delta)).where(
        ReputationEvent.post_id == answer.id)) == 0


def test_voting_twice_the_same_way_changes_nothing(users, scene):
    _, answer = scene
    votes.cast_vote(users.other, answer, 1)
    votes.cast_vote(users.other, answer, 1)
    assert rep(users.helper) == (11,) and answer.score == 1


def test_no_voting_on_own_posts_and_downvotes_need_50(users, scene):
    thread, answer = scene
    with pytest.raises(Forbidden) as exc:
        votes.cast_vote(users.helper, answer, 1)
    assert exc.value.code == "vote.own_post"
    newcomer = make_user("newcomer")
    with pytest.raises(Forbidden) as exc:
        votes.cast_vote(newcomer, answer, -1)
    assert exc.value.code == "vote.downvote_reputation"
    assert votes.cast_vote(newcomer, answer, 1).score == 1


def test_acceptance_points_and_moving_it(users, scene):
    thread, answer = scene
    second = make_answer(users.other, thread, "another way")
    other_before = rep(users.other)[0]
    answers.accept(users.asker, thread, answer)
    assert rep(users.helper, users.asker) == (16, 3)
    answers.accept(users.asker, thread, second)        # moves: first reversed, second paid
    assert rep(users.helper, users.asker, users.other) == (1, 3, other_before + 15)
    answers.unaccept(users.asker, thread)
    assert rep(users.helper, users.asker, users.other) == (1, 1, other_before)
    assert thread.status == "answered"


def test_self_accept_earns_nothing(users):
    thread = make_thread(users.asker)
    own = make_answer(users.asker, thread, "Found it myself: restart.")
    answers.accept(users.asker, thread, own)
    assert rep(users.asker) == (1,) and thread.status == "solved"
    assert not db.session.scalar(select(func.count()).select_from(ReputationEvent))


def test_staff_accept_pays_the_asker_and_the_answerer(users, scene):
    thread, answer = scene
    answers.accept(users.staff, thread, answer)
    assert rep(users.helper, users.asker, users.staff) == (16, 3, 1)


def test_endorsement_points_and_withdrawal(users, scene):
    _, answer = scene
    answers.endorse(users.staff, answer)
    assert rep(users.helper) == (11,)
    answers.endorse(users.moderator, answer)  # already endorsed: no second payment
    assert rep(users.helper) == (11,)
    answers.unendorse(users.admin, answer)
    assert rep(users.helper) == (1,)
    with pytest.raises(Forbidden) as exc:
        answers.endorse(users.other, answer)
    assert exc.value.code == "staff.required"


def test_reputation_never_shows_below_one_and_recovers_exactly(users, scene):
    _, answer = scene
    voters = [make_user(f"critic{n}", reputation=60) for n in range(3)]
    for voter in voters:
        votes.cast_vote(voter, answer, -1)
    db.session.refresh(users.helper)
    assert users.helper.reputation_total == -6 and users.helper.reputation == 1
    votes.cast_vote(users.other, answer, 1)
    assert rep(users.helper) == (5,)   # 1 + (-6 + 10): the floor is for display, the ledger is exact


def test_ranks_follow_configured_thresholds(app, users):
    assert [reputation.rank_for(r) for r in (1, 49, 50, 200, 1000, 5000)] == [
        "Newcomer", "Newcomer", "Contributor", "Helper", "Expert", "Guru"]
    app.config["RANKS"], saved = [[1, "Fledgling"], [10, "Flyer"]], app.config["RANKS"]
    try:
        assert reputation.rank_for(12) == "Flyer"
    finally:
        app.config["RANKS"] = saved


def test_points_are_configurable(app, users, scene):
    _, answer = scene
    app.config["REPUTATION_POINTS"] = {"answer.upvoted": 8}
    try:
        votes.cast_vote(users.other, answer, 1)
        assert rep(users.helper) == (9,)
        app.config["REPUTATION_POINTS"] = {}
        votes.cast_vote(users.other, answer, 0)    # reverses the 8 that was paid, not today's 10
        assert rep(users.helper) == (1,)
    finally:
        app.config["REPUTATION_POINTS"] = {}


def badge_names(user):
    return [badge.name for badge, _ in reputation.badges_of(user)]


def test_badges_are_awarded_once(users):
    thread = make_thread(users.asker)
    answer = make_answer(users.helper, thread)
    make_answer(users.helper, make_thread(users.asker, title="Second question here"))
    answers.accept(users.asker, thread, answer)
    answers.unaccept(users.asker, thread)
    answers.accept(users.asker, thread, answer)
    answers.endorse(users.staff, answer)
    assert badge_names(users.asker) == ["Curious"]
    assert badge_names(users.helper) == ["Helping hand", "Problem solver", "Quick draw", "Staff pick"]


def test_ten_accepted_answers_badge(users):
    for n in range(10):
        thread = make_thread(users.asker, title=f"Question number {n} here")
        answers.accept(users.asker, thread, make_answer(users.helper, thread))
    assert "Trusted fixer" in badge_names(users.helper)


def test_late_answers_do_not_get_the_quick_badge(users):
    from datetime import timedelta
    thread = make_thread(users.asker)
    thread.created_at = thread.created_at - timedelta(hours=1)
    db.session.commit()
    answers.accept(users.asker, thread, make_answer(users.helper, thread))
    assert "Quick draw" not in badge_names(users.helper)


def test_check_and_recompute(users, scene, runner):
    _, answer = scene
    votes.cast_vote(users.other, answer, 1)
    assert runner.invoke(args=["reputation", "check"]).exit_code == 0
    users.helper.reputation_total = 999   # corrupt the cache behind the ledger's back
    db.session.commit()
    result = runner.invoke(args=["reputation", "check"])
    assert result.exit_code == 1 and "helper" in result.output and "ledger 10" in result.output
    assert runner.invoke(args=["reputation", "recompute"]).exit_code == 0
    assert runner.invoke(args=["reputation", "check"]).exit_code == 0
    assert rep(users.helper) == (11,)
