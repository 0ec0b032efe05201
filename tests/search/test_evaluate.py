"""The bulk evaluator's own arithmetic: the same sums and the same order Whoosh would give."""

from __future__ import annotations

import random

from community.search.evaluate import _union, top


def test_top_orders_by_score_then_lower_document_number_even_across_the_cut():
    scores = {7: 1.0, 3: 2.0, 9: 2.0, 1: 2.0, 4: 0.5, 8: 2.0}
    # Four documents tie at 2.0 and only three fit: the three lowest numbers win.
    assert top(scores, None, 3) == ([(1, 2.0), (3, 2.0), (8, 2.0)], 6)
    assert top(scores, None, 5) == ([(1, 2.0), (3, 2.0), (8, 2.0), (9, 2.0), (7, 1.0)], 6)
    assert top(scores, {4, 7, 9}, 2) == ([(9, 2.0), (7, 1.0)], 3)


def test_top_matches_a_full_sort_on_random_scores_with_ties():
    rng = random.Random(5)
    for _ in range(200):
        scores = {docnum: float(rng.randint(0, 6)) for docnum in rng.sample(range(500), 80)}
        depth = rng.randint(1, 30)
        expected = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:depth]
        assert top(scores, None, depth) == (expected, len(scores))


def test_a_union_adds_the_largest_part_first_then_the_others_in_order():
    rng = random.Random(6)
    parts = [{docnum: rng.random() for docnum in rng.sample(range(300), 120)} for _ in range(5)]
    expected: dict[int, float] = {}
    ordered = sorted(parts, key=len, reverse=True)
    for part in ordered:
        for docnum, score in part.items():
            expected[docnum] = expected.get(docnum, 0.0) + score
    assert _union(parts) == expected
