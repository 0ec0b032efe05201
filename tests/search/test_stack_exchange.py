"""Ranking sanity on real Stack Exchange posts: searching a question's own title finds it.

The posts (../shared/corpora/qa_forum, CC BY-SA, nine small sites) were written by people who
never saw this code, so the test checks the analysis and ranking on text nobody tuned them for.
It tests the backend, not the database: questions become SearchDocuments directly (HTML bodies
through plain_text, like threads' posts) in an in-memory index.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from community.search import SearchQuery
from community.search.documents import SearchDocument, plain_text
from community.search.whoosh_index import WhooshIndex
from tests.conftest import SHARED, require

pytestmark = pytest.mark.corpus

POSTS = SHARED / "corpora" / "qa_forum" / "se_posts_combined.jsonl"
SAMPLE = 400
TOP = 3
TARGET = 0.90


def _moment(raw: str) -> datetime:
    return datetime.fromisoformat(raw).replace(tzinfo=timezone.utc)


def stack_exchange_documents(path: Path) -> list[SearchDocument]:
    """One document per question, with its answers; ids numbered in (site, post id) order."""
    questions, answers = {}, defaultdict(list)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            post = json.loads(line)
            if post["post_type"] == "question":
                questions[post["site"], post["id"]] = post
            else:
                answers[post["site"], post["parent_id"]].append(post)
    documents = []
    for number, key in enumerate(sorted(questions), start=1):
        question, replies = questions[key], answers.get(key, [])
        accepted = question["accepted_answer_id"]
        status = "solved" if accepted else "answered" if replies else "unanswered"
        documents.append(SearchDocument(
            id=number,
            title=question["title"],
            body=plain_text(question["body_html"]),
            answers="\n\n".join(plain_text(reply["body_html"]) for reply in replies),
            best="\n\n".join(plain_text(reply["body_html"]) for reply in replies
                             if reply["id"] == accepted),
            tags=[tag.casefold() for tag in question["tags"] or []],
            status=status,
            author=str(question["owner_user_id"] or question["owner_display_name"] or ""),
            created=_moment(question["creation_date"]),
            activity=max(_moment(post["creation_date"]) for post in [question, *replies]),
            score=question["score"] or 0,
        ))
    return documents


def test_a_question_is_found_by_its_own_title():
    require(POSTS.is_file(), f"the Stack Exchange corpus is not at {POSTS}")
    started = time.perf_counter()
    documents = stack_exchange_documents(POSTS)
    loaded = time.perf_counter() - started
    index = WhooshIndex.in_memory()
    assert index.rebuild(documents) == len(documents) > 3000
    built = time.perf_counter() - started - loaded

    sample = random.Random(4).sample(documents, SAMPLE)
    started = time.perf_counter()
    misses = []
    for doc in sample:
        found = [hit.thread_id for hit in index.search(SearchQuery(doc.title, limit=TOP)).hits]
        if doc.id not in found:
            misses.append(f"{doc.title!r} -> {found}")
    queried = time.perf_counter() - started

    share = 1 - len(misses) / len(sample)
    print(f"\nStack Exchange: {len(documents)} questions read in {loaded:.1f} s, indexed in "
          f"{built:.1f} s; own title in the top {TOP} for {share:.1%} of {len(sample)} sampled "
          f"questions ({queried / len(sample) * 1000:.1f} ms a query)")
    assert share >= TARGET, "\n".join([f"{share:.1%} < {TARGET:.0%}; missed:", *misses[:25]])
