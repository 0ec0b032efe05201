"""5,000 real customer-support tweets (twcs_head5000.csv) imported through the generic adapter's
signed webhook: nothing lost, nothing doubled, customers and brands told apart.

The expected outcome of every tweet is worked out from the CSV alone, by the rules the bridge
documents: a customer tweet starts a thread unless its conversation already has one (then it
joins it as a comment); a brand tweet is a staff answer in its conversation's thread, or is kept
as `ignored` when no thread exists for it (its conversation started outside the file, or with
the brand); a tweet with no words left once the leading @handles are dropped is `ignored`.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import func, select

from community.bridge.generic import sign
from community.extensions import db
from community.models import (
    Comment,
    ExternalIdentity,
    InboundMessage,
    OutboundMessage,
    Post,
    Thread,
)
from tests.bridge.conftest import CORPUS, add_channel, deliver
from tests.conftest import require

CSV_PATH = CORPUS / "customer_support" / "twcs_head5000.csv"
SECRET = "twcs-import-secret"
CHUNK = 250
LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+(?=\s|$))+\s*")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

pytestmark = pytest.mark.corpus


def load() -> list[dict]:
    require(CSV_PATH.is_file(), f"the customer-support corpus is missing at {CSV_PATH}")
    with CSV_PATH.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def in_reply_order(rows: list[dict]) -> list[dict]:
    """Every tweet after the one it replies to; conversations in the order they started."""
    by_id = {row["tweet_id"]: row for row in rows}
    children: dict[str, list[dict]] = {}
    for row in rows:
        parent = row["in_response_to_tweet_id"]
        if parent in by_id:
            children.setdefault(parent, []).append(row)
    starts = [row for row in rows if row["in_response_to_tweet_id"] not in by_id]
    ordered, stack = [], sorted(starts, key=when, reverse=True)
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(sorted(children.get(row["tweet_id"], []), key=when, reverse=True))
    return ordered


def when(row: dict) -> tuple[float, int]:
    stamp = datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y").timestamp()
    return stamp, int(row["tweet_id"])


def conversations(rows: list[dict]) -> dict[str, str]:
    """Each tweet's conversation: the first tweet of its reply chain (or the tweet the chain's
    first tweet answers, when that one is not in the file)."""
    by_id = {row["tweet_id"]: row for row in rows}
    root: dict[str, str] = {}
    for row in in_reply_order(rows):
        parent = row["in_response_to_tweet_id"]
        root[row["tweet_id"]] = root[parent] if parent in by_id else (parent or row["tweet_id"])
    return root


def words(row: dict) -> str:
    """The tweet as the partner sends it: entities unescaped, the leading @handles dropped."""
    return LEADING_MENTIONS.sub("", html.unescape(row["text"])).strip()


def activity(row: dict, conversation: str) -> dict:
    return {"type": "message", "id": row["tweet_id"],
            "author": {"id": row["author_id"], "handle": row["author_id"],
                       "is_brand": row["inbound"] != "True"},
            "timestamp": int(when(row)[0]), "text": words(row), "conversation": conversation,
            "in_reply_to": row["in_response_to_tweet_id"] or None,
            "url": f"https://twitter.com/i/web/status/{row['tweet_id']}"}


def expected_outcomes(ordered: list[dict], conversation: dict[str, str]) -> dict[str, str]:
    threaded: set[str] = set()
    outcome = {}
    for row in ordered:
        tweet, conv = row["tweet_id"], conversation[row["tweet_id"]]
        has_words = bool(CONTROL.sub("", words(row)).strip())
        if row["inbound"] == "True":
            if not has_words:
                outcome[tweet] = "ignored"
            elif conv in threaded:
                outcome[tweet] = "joined"
            else:
                threaded.add(conv)
                outcome[tweet] = "thread"
        else:
            outcome[tweet] = "staff_reply" if has_words and conv in threaded else "ignored"
    return outcome


def post_chunk(client, items: list[dict]):
    body = json.dumps({"activities": items}, ensure_ascii=False).encode()
    return deliver(client, "twcs", body, sign(SECRET, body))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_five_thousand_real_tweets_import_exactly_once(client, ctx):
    rows = load()
    ordered = in_reply_order(rows)
    assert len(ordered) == len(rows) == len({row["tweet_id"] for row in rows})
    conversation = conversations(rows)
    expected = expected_outcomes(ordered, conversation)
    channel = add_channel("generic", "twcs", secret=SECRET, callback_url="http://127.0.0.1:9/")
    items = [activity(row, conversation[row["tweet_id"]]) for row in ordered]

    chunks = [items[start:start + CHUNK] for start in range(0, len(items), CHUNK)]
    for chunk in chunks:
        response = post_chunk(client, chunk)
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"received": len(chunk), "stored": len(chunk)}

    # Every tweet once, under its own id, with its raw delivery kept.
    stored = dict(db.session.execute(
        select(InboundMessage.external_id, InboundMessage.outcome)).all())
    assert len(stored) == count(InboundMessage) == len(rows)
    assert set(stored) == {row["tweet_id"] for row in rows}

    # A repeated delivery (a partner retrying a chunk) stores nothing new and changes nothing.
    again = post_chunk(client, chunks[len(chunks) // 2])
    assert again.status_code == 200 and again.get_json()["stored"] == 0
    assert count(InboundMessage) == len(rows)

    # Each tweet ended as the CSV says it should, and the totals reconcile with the CSV.
    assert Counter(stored.values()) == Counter(expected.values())
    assert stored == expected
    customers = [row for row in rows if row["inbound"] == "True"]
    brands = [row for row in rows if row["inbound"] != "True"]
    outcomes = Counter(stored.values())
    assert outcomes["thread"] + outcomes["joined"] + sum(
        1 for row in customers if stored[row["tweet_id"]] == "ignored") == len(customers)
    assert outcomes["staff_reply"] + sum(
        1 for row in brands if stored[row["tweet_id"]] == "ignored") == len(brands)
    assert not any(stored[row["tweet_id"]] in ("thread", "joined") for row in brands)
    assert not any(stored[row["tweet_id"]] == "staff_reply" for row in customers)

    # What the forum holds: one thread (and one ack owed) per customer conversation, every
    # customer follow-up a comment, every brand reply a staff answer by the channel's account.
    assert count(Thread) == outcomes["thread"] == count(OutboundMessage)
    assert count(Comment) == outcomes["joined"]
    staff = channel.staff_user_id
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.author_id == staff)) == outcomes["staff_reply"]
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.author_id != staff)) == outcomes["thread"]

    # People: one identity per author; brands speak as the staff account, customers never do.
    identities = dict(db.session.execute(
        select(ExternalIdentity.external_id, ExternalIdentity.shadow_user_id)).all())
    assert set(identities) == {row["author_id"] for row in rows}
    assert {identities[row["author_id"]] for row in brands} == {staff}
    assert staff not in {identities[row["author_id"]] for row in customers}
    assert len({identities[row["author_id"]] for row in customers}) == \
        len({row["author_id"] for row in customers})

    # A thread's question is the customer's words, entities unescaped.
    sample = next(row for row in ordered if expected[row["tweet_id"]] == "thread"
                  and "&amp;" in row["text"])
    thread_id = db.session.scalar(select(InboundMessage.thread_id).where(
        InboundMessage.external_id == sample["tweet_id"]))
    question = db.session.scalar(select(Post).where(Post.thread_id == thread_id,
                                                    Post.author_id != staff))
    assert question.body_source == words(sample) and "&amp;" not in question.body_source
