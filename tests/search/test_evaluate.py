"""The bulk evaluator: the same matches, scores and order Whoosh itself would give."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import query as wq

from community.search.evaluate import Generation, Matches, View, top
from community.search.whoosh_index import WhooshIndex

WORDS = ("roaming data bill esim signal refund charge top up sim card abroad spain france "
         "voicemail hotspot bundle contract upgrade network").split()


def matches(scores: dict[int, float], size: int = 600) -> Matches:
    docnums = np.array(sorted(scores), dtype=np.int64)
    return Matches.of(size, docnums, np.array([scores[d] for d in sorted(scores)]))


def test_top_orders_by_score_then_lower_document_number_even_across_the_cut():
    scores = matches({7: 1.0, 3: 2.0, 9: 2.0, 1: 2.0, 4: 0.5, 8: 2.0})
    # Four documents tie at 2.0 and only three fit: the three lowest numbers win.
    assert top(scores, None, 3) == ([(1, 2.0), (3, 2.0), (8, 2.0)], 6)
    assert top(scores, None, 5) == ([(1, 2.0), (3, 2.0), (8, 2.0), (9, 2.0), (7, 1.0)], 6)
    allowed = np.zeros(600, dtype=bool)
    allowed[[4, 7, 9]] = True
    assert top(scores, allowed, 2) == ([(9, 2.0), (7, 1.0)], 3)


def test_top_matches_a_full_sort_on_random_scores_with_ties():
    rng = random.Random(5)
    for _ in range(200):
        scores = {docnum: float(rng.randint(1, 6)) for docnum in rng.sample(range(500), 80)}
        depth = rng.randint(1, 30)
        expected = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:depth]
        assert top(matches(scores), None, depth) == (expected, len(scores))


def test_top_by_a_key_puts_the_largest_first_then_the_higher_document_number():
    rng = random.Random(7)
    key = np.array([rng.randint(0, 9) for _ in range(600)], dtype=np.int64)
    for _ in range(100):
        scores = {docnum: rng.random() + 0.1 for docnum in rng.sample(range(600), 90)}
        depth = rng.randint(1, 40)
        expected = sorted(scores, key=lambda docnum: (key[docnum], docnum), reverse=True)[:depth]
        found, total = top(matches(scores), None, depth, key=key)
        assert [docnum for docnum, _ in found] == expected and total == 90
        assert all(score == scores[docnum] for docnum, score in found)


@pytest.fixture(scope="module")
def segmented():
    """An index of three segments (three commits, no merging) with some documents deleted."""
    rng = random.Random(11)
    index = WhooshIndex.in_memory()
    for batch in range(3):
        with index._writing(merge=False) as writer:
            for number in range(batch * 120, (batch + 1) * 120):
                text = lambda n: " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, n)))
                writer.add_document(id=str(number), title=text(8), body=text(40),
                                    answers=text(60), best=text(10), tags="roaming,data")
    with index._writing(merge=False) as writer:
        for number in range(0, 360, 7):
            writer.delete_by_term("id", str(number))
    return index


@pytest.fixture
def searcher(segmented):
    with segmented._reading() as searcher:
        yield searcher


QUERIES = [
    "roaming", "roaming data", "esim refund spain", "top up bill", "signal hotspot bundle",
    '"top up"', '"roaming data" bill', "sim card abroad france contract", "voicemail upgrade",
]


@pytest.mark.parametrize("text", QUERIES)
def test_every_match_and_score_is_whooshs_own(segmented, searcher, text):
    assert len(searcher.reader().leaf_readers()) > 1
    parsed = segmented._parser.parse(text)
    ours = View(Generation(searcher, {}), searcher).evaluate(parsed)
    theirs = {docnum: score for score, docnum in searcher.search(parsed, limit=None).top_n}
    assert theirs, "the query should match something"
    found = np.flatnonzero(ours.hit)
    assert set(found.tolist()) == set(theirs)
    assert ours.score[found] == pytest.approx([theirs[d] for d in found.tolist()], rel=1e-9)
    assert not ours.score[~ours.hit].any()


def test_a_boosted_or_of_terms_is_whooshs_own(searcher):
    q = wq.Or([wq.Term(field, word, boost=boost) for word in ("roaming", "esim", "refund")
               for field, boost in (("title", 3.0), ("body", 1.0), ("best", 1.0))])
    ours = View(Generation(searcher, {}), searcher).evaluate(q)
    theirs = {docnum: score for score, docnum in searcher.search(q, limit=None).top_n}
    found = np.flatnonzero(ours.hit).tolist()
    assert set(found) == set(theirs) and len(theirs) > 50
    assert ours.score[found] == pytest.approx([theirs[d] for d in found], rel=1e-9)

