"""Bulk-load a synthetic community into a fresh database, fast.

The schema comes from the real migrations (flask_migrate.upgrade() inside create_app's app
context); rows go in with SQLAlchemy Core executemany, one transaction per table, with explicit
ids so nothing has to be read back. Going through the services one post at a time would take
hours at full scale; this takes well under a minute.

At scale 1.0: 20,000 threads, 100,000 posts (20,000 questions + 80,000 answers), 5,000 users,
~50,000 comments, ~240,000 votes, ~106,000 revisions, 50 tags. What keeps it realistic:

- ids follow time, as in a live site: threads, posts and comments are numbered in the order they
  were created, and each thread's question is its first post;
- activity is skewed: a minority of users write most answers, staff answer a lot;
- threads are spread over the past year; answers, comments, edits and accepts come after the
  question, and last_activity_at is the latest of them;
- status agrees with answer_count and accepted_answer_id (unanswered / answered / solved);
- a few threads are hidden or locked, a few answers hidden, endorsed by staff or edited
  (with a second revision); every post has its first revision, as the services write it;
- post scores are the sum of their votes (one per user and post, never the author's own), and
  reputation follows from those votes and the accepts;
- markdown is rendered with community.render.render_markdown once per body in a pool of a few
  hundred bodies, which the posts then share.

Usage on its own: python bench/load.py [INSTANCE_DIR]  (BENCH_SCALE applies).
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import bindparam, inspect, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402  (bench/ is not a package)

BASE_THREADS = 20_000
BASE_POSTS = 100_000          # questions + answers
BASE_USERS = 5_000
COMMENTS_PER_POST = 0.5
POOL_QUESTIONS = 250
POOL_ANSWERS = 350
POOL_COMMENTS = 150
BATCH = 5_000
DEEP_PAGE = 1_000
SAMPLE_THREADS = 500
PASSWORD = "bench-password"   # every bench user's password
VOTERS = 64                   # extra members who cast the vote load, each with an API token
VOTE_POSTS = 500              # posts per voter to vote on (and off) in turn
OPEN_FLAGS = 10_000           # open flags in the moderation queue, at any scale
FLAG_REASONS = ("spam", "abusive", "off_topic", "needs_staff", "other")

DAY = 86_400.0


def database_uri(instance_path: Path, database_url: str | None) -> str:
    return database_url or f"sqlite:///{instance_path / 'community.db'}"


def make_app(instance_path: Path, database_url: str | None = None):
    """The real app, pointed at the bench instance (never at DATABASE_URL from the environment)."""
    from community import create_app

    return create_app({
        "INSTANCE_PATH": str(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_uri(instance_path, database_url),
        "RATELIMIT_ENABLED": False,
    })


# ---- generation -----------------------------------------------------------------------------

class Community:
    """Plain rows for every table, built in memory from one seed."""

    def __init__(self, scale: float, seed: int = 20261123) -> None:
        from community.models.base import utcnow

        self.rng = random.Random(seed)
        self.now = utcnow()
        self.n_threads = max(1, round(BASE_THREADS * scale))
        self.n_posts = max(self.n_threads, round(BASE_POSTS * scale))
        self.n_users = max(60, round(BASE_USERS * scale))
        self.tags: list[dict[str, Any]] = [{"id": i + 1, "name": name}
                                           for i, name in enumerate(corpus.TAGS)]
        self._users()
        self._threads()
        self._posts()
        self._comments()
        self._votes()
        self._finish()
        self._voters()
        self._flags()

    def _flags(self) -> None:
        """Open flags by members on others' visible posts, a few flaggers per post, so that the
        moderation queue has OPEN_FLAGS to group (as a busy community's backlog would)."""
        rng = self.rng
        members = [u["id"] for u in self.users if u["role"] == "member"]
        visible = [p for p in self.posts if not p["is_hidden"]]
        self.flags: list[dict[str, Any]] = []
        seen: set[tuple[int, int]] = set()
        while len(self.flags) < OPEN_FLAGS and len(seen) < 3 * OPEN_FLAGS:
            post = rng.choice(visible)
            flagger = rng.choice(members)
            if flagger == post["author_id"] or (flagger, post["id"]) in seen:
                continue
            seen.add((flagger, post["id"]))
            moment = self._at(post["created_at"], 2.0 * DAY)
            self.flags.append({"id": len(self.flags) + 1, "post_id": post["id"],
                               "comment_id": None, "flagger_id": flagger,
                               "reason": rng.choice(FLAG_REASONS), "detail": "",
                               "duplicate_of_id": None, "status": "open", "outcome": None,
                               "resolved_by_id": None, "resolved_at": None,
                               "resolution_note": "", "created_at": moment})

    # Small helpers ------------------------------------------------------------------------

    def _at(self, start: datetime, mean_seconds: float) -> datetime:
        """A moment after `start`, exponentially distributed, never in the future."""
        moment = start + timedelta(seconds=self.rng.expovariate(1 / mean_seconds))
        if moment >= self.now:
            moment = start + (self.now - start) * self.rng.random()
        return moment

    # Users --------------------------------------------------------------------------------

    def _users(self) -> None:
        from community.services.accounts import username_key
        from werkzeug.security import generate_password_hash

        rng, n = self.rng, self.n_users
        self.password_hash = password_hash = generate_password_hash(PASSWORD)  # once: all share it
        n_staff = max(3, round(n * 0.003))
        roles = ["admin"] + ["moderator"] * 3 + ["staff"] * n_staff
        roles += ["member"] * (n - len(roles))
        self.staff_ids = [i + 1 for i, role in enumerate(roles) if role != "member"]
        self.users: list[dict[str, Any]] = []
        for i, role in enumerate(roles):
            name = (f"Kestrel_{corpus.FIRST[i % len(corpus.FIRST)].title()}{i}"
                    if role != "member" else corpus.username(rng, i))
            self.users.append({
                "id": i + 1, "username": name, "username_key": username_key(name),
                "email": f"user{i + 1}@bench.example", "password_hash": password_hash,
                "role": role, "reputation": 1,
                "locale": rng.choice([None, None, None, "en", "ar"]),
                "bio": "" if rng.random() < 0.7 else "Here to help with phones and plans.",
                "suspended_until": None, "last_seen_at": None,
                "created_at": self.now - timedelta(days=400 + 400 * rng.random()),
            })
        # Skewed activity: a few people ask or answer a lot; staff answer much more than most.
        ask_w = [rng.paretovariate(1.6) for _ in range(n)]
        ans_w = [rng.paretovariate(1.1) * (25 if role != "member" else 1) for role in roles]
        self._ask_cum = _cumulative(ask_w)
        self._ans_cum = _cumulative(ans_w)

    def _pick_users(self, cum: list[float], k: int) -> list[int]:
        return [u + 1 for u in self.rng.choices(range(self.n_users), cum_weights=cum, k=k)]

    # Threads ------------------------------------------------------------------------------

    def _answer_counts(self) -> list[int]:
        rng, n = self.rng, self.n_threads
        target = self.n_posts - n
        counts = [0 if rng.random() < 0.15 else 1 + int(rng.expovariate(1 / 3.9)) for _ in range(n)]
        counts = [min(c, 40) for c in counts]
        if target and not any(counts):
            counts[0] = 1
        # Nudge random threads until the total is exact (answered threads keep at least one).
        diff = target - sum(counts)
        answered = [i for i, c in enumerate(counts) if c]
        while diff:
            i = rng.choice(answered) if answered else rng.randrange(n)
            if diff > 0 and counts[i] < 40:
                counts[i] += 1
                diff -= 1
            elif diff < 0 and counts[i] > 1:
                counts[i] -= 1
                diff += 1
        return counts

    def _threads(self) -> None:
        rng, n, now = self.rng, self.n_threads, self.now
        year = 365 * DAY
        created = sorted(now - timedelta(seconds=600 + (year - 600) * rng.random()) for _ in range(n))
        counts = self._answer_counts()
        authors = self._pick_users(self._ask_cum, n)
        tag_w = [1 / (r + 1) ** 0.9 for r in range(len(self.tags))]
        tag_cum = _cumulative(tag_w)
        self.threads: list[dict[str, Any]] = []
        self.thread_tags: list[dict[str, int]] = []
        for i in range(n):
            source = rng.random()
            kind, url = ("web", None) if source < 0.88 else ("api", None) if source < 0.95 else (
                rng.choice(["x", "facebook", "whatsapp"]), f"https://social.example/m/{rng.getrandbits(48)}")
            self.threads.append({
                "id": i + 1, "title": corpus.title(rng), "status": "unanswered",
                "author_id": authors[i], "accepted_answer_id": None, "score": 0,
                "answer_count": counts[i], "source_kind": kind, "source_url": url,
                "is_locked": rng.random() < 0.01, "is_hidden": rng.random() < 0.005,
                "last_activity_at": created[i], "created_at": created[i],
            })
            wanted = rng.choices((1, 2, 3, 4, 5), weights=(30, 35, 22, 9, 4))[0]
            picked: set[int] = set()
            while len(picked) < wanted:
                picked.add(rng.choices(range(len(self.tags)), cum_weights=tag_cum)[0] + 1)
            self.thread_tags += [{"thread_id": i + 1, "tag_id": t} for t in sorted(picked)]

    # Posts --------------------------------------------------------------------------------

    def _posts(self) -> None:
        rng = self.rng
        # (moment, 0 for the question / 1 for answers, thread index): sorted, this is id order.
        events: list[tuple[datetime, int, int]] = []
        for t, thread in enumerate(self.threads):
            events.append((thread["created_at"], 0, t))
            moment = thread["created_at"]
            for _ in range(thread["answer_count"]):
                moment = self._at(moment, 0.4 * DAY)
                events.append((moment, 1, t))
        events.sort()
        answerers = self._pick_users(self._ans_cum, len(events))
        self.posts: list[dict[str, Any]] = []
        self.revisions: list[dict[str, Any]] = []
        self.post_thread: list[int] = []          # post index → thread index
        by_thread: list[list[int]] = [[] for _ in self.threads]
        for p, (moment, is_answer, t) in enumerate(events):
            thread = self.threads[t]
            kind = "answer" if is_answer else "question"
            author = answerers[p] if is_answer else thread["author_id"]
            if is_answer:
                score = max(-2, int(rng.expovariate(1 / 2.5)) - (rng.random() < 0.1))
                body = rng.randrange(POOL_ANSWERS)
            else:
                score = max(-3, int(rng.expovariate(1 / 3)) - (rng.random() < 0.15))
                body = rng.randrange(POOL_QUESTIONS)
            post = {
                "id": p + 1, "thread_id": t + 1, "author_id": author, "kind": kind,
                "body": body, "score": score,
                "is_hidden": bool(is_answer and rng.random() < 0.005),
                "endorsed_by_id": None, "endorsed_at": None,
                "edited_at": None, "edited_by_id": None, "created_at": moment,
            }
            if is_answer and rng.random() < 0.05:
                post["endorsed_by_id"] = rng.choice(self.staff_ids)
                post["endorsed_at"] = self._at(moment, 0.2 * DAY)
            self.revisions.append({"post_id": p + 1, "number": 1, "editor_id": author,
                                   "title": None if is_answer else thread["title"],
                                   "tags": None, "body": body, "summary": "",
                                   "created_at": moment})
            if rng.random() < 0.06:
                post["edited_at"] = self._at(moment, 0.1 * DAY)
                post["edited_by_id"] = author if rng.random() < 0.9 else rng.choice(self.staff_ids)
                self.revisions.append({"post_id": p + 1, "number": 2,
                                       "editor_id": post["edited_by_id"],
                                       "title": None if is_answer else thread["title"],
                                       "tags": None, "body": body, "summary": "typo",
                                       "created_at": post["edited_at"]})
                _touch(thread, post["edited_at"])
            if not is_answer:
                thread["score"] = score
            _touch(thread, moment)
            self.posts.append(post)
            self.post_thread.append(t)
            by_thread[t].append(p)
        # Accepted answers: about half the answered threads are solved.
        self.accepts: list[dict[str, int]] = []
        self.accepted_at: dict[int, datetime] = {}
        for t, thread in enumerate(self.threads):
            answers = [p for p in by_thread[t][1:] if not self.posts[p]["is_hidden"]]
            if thread["answer_count"]:
                thread["status"] = "answered"
            if answers and rng.random() < 0.5:
                best = max(answers, key=lambda p: (self.posts[p]["score"] + 3 * rng.random()))
                self.posts[best]["score"] += 1
                # accepted_answer_id is set after the posts exist (threads and posts refer to each
                # other), by one executemany UPDATE.
                thread["status"] = "solved"
                self.accepts.append({"tid": t + 1, "aid": best + 1})
                self.accepted_at[best + 1] = self._at(self.posts[best]["created_at"], 0.5 * DAY)
                _touch(thread, self.accepted_at[best + 1])

    def _comments(self) -> None:
        rng = self.rng
        n = round(len(self.posts) * COMMENTS_PER_POST)
        targets = rng.choices(range(len(self.posts)), k=n)
        authors = self._pick_users(self._ans_cum, n)
        items = sorted((self._at(self.posts[p]["created_at"], 0.3 * DAY), p, a)
                       for p, a in zip(targets, authors))
        self.comments: list[dict[str, Any]] = []
        for c, (moment, p, author) in enumerate(items):
            self.comments.append({"id": c + 1, "post_id": p + 1, "author_id": author,
                                  "body": rng.randrange(POOL_COMMENTS),
                                  "is_hidden": rng.random() < 0.005, "created_at": moment})
            _touch(self.threads[self.post_thread[p]], moment)

    def _votes(self) -> None:
        """One vote per user and post, adding up to each post's score (never the author's own)."""
        rng, n_users = self.rng, self.n_users
        self.votes: list[dict[str, Any]] = []
        for post in self.posts:
            score = post["score"]
            downs = -score if score < 0 else int(rng.random() < 0.12)
            ups = score + downs
            if not ups + downs:
                continue
            voters = [u + 1 for u in rng.sample(range(n_users), min(n_users, ups + downs + 1))]
            voters = [u for u in voters if u != post["author_id"]][:ups + downs]
            for i, user in enumerate(voters):
                moment = self._at(post["created_at"], 1.0 * DAY)
                self.votes.append({"id": len(self.votes) + 1, "user_id": user,
                                   "post_id": post["id"], "value": 1 if i < ups else -1,
                                   "created_at": moment, "updated_at": moment})

    def _finish(self) -> None:
        """The reputation ledger, as the services would have written it, and the cached totals.

        One reputation_events row per effect (services/votes.py, answers.py): each upvote
        (+5 question, +10 answer), downvote (-2 to the author, and -1 to the voter on answers),
        accept (+15 answerer, +2 asker, unless they are the same person) and endorsement (+10).
        reputation_total is the sum of a user's rows, so `community reputation check` finds
        nothing to repair after the load, and retracting a loaded vote reverses a real row.
        """
        pts = _reputation_points()
        posts, ledger = self.posts, []
        total = [0] * (self.n_users + 1)

        def add(user_id: int, kind: str, post_id: int, actor_id: int | None,
                moment: datetime) -> None:
            delta = pts[kind]
            if delta:
                ledger.append({"id": len(ledger) + 1, "user_id": user_id, "kind": kind,
                               "delta": delta, "post_id": post_id, "actor_id": actor_id,
                               "created_at": moment})
                total[user_id] += delta

        for vote in self.votes:
            post = posts[vote["post_id"] - 1]
            if vote["value"] == 1:
                add(post["author_id"], "question.upvoted" if post["kind"] == "question"
                    else "answer.upvoted", post["id"], vote["user_id"], vote["created_at"])
            else:
                add(post["author_id"], "post.downvoted", post["id"], vote["user_id"],
                    vote["created_at"])
                if post["kind"] == "answer":
                    add(vote["user_id"], "downvote.cast", post["id"], vote["user_id"],
                        vote["created_at"])
        for row in self.accepts:
            thread, post = self.threads[row["tid"] - 1], posts[row["aid"] - 1]
            if post["author_id"] != thread["author_id"]:
                moment = self.accepted_at[post["id"]]
                add(post["author_id"], "answer.accepted", post["id"], None, moment)
                add(thread["author_id"], "accept.asker", post["id"], None, moment)
        for post in posts:
            if post["endorsed_by_id"] is not None:
                add(post["author_id"], "answer.endorsed", post["id"], None, post["endorsed_at"])
        ledger.sort(key=lambda row: row["created_at"])
        for i, row in enumerate(ledger):      # ids follow time here too
            row["id"] = i + 1
        self.reputation_events = ledger
        for user in self.users:
            # Older schemas cache the reputation itself, newer ones the ledger total.
            user["reputation_total"] = total[user["id"]]
            user["reputation"] = max(1, 1 + total[user["id"]])
        self.tag_names = {t["id"]: t["name"] for t in self.tags}
        tags_of: dict[int, list[str]] = {}
        for row in self.thread_tags:
            tags_of.setdefault(row["thread_id"], []).append(self.tag_names[row["tag_id"]])
        for rev in self.revisions:
            if rev["title"] is not None:
                rev["tags"] = " ".join(tags_of.get(self.posts[rev["post_id"] - 1]["thread_id"], []))

    def _voters(self) -> None:
        """VOTERS extra members, after everyone else: they wrote nothing and voted on nothing, so
        every vote they cast in the bench is a real change on a post that is not their own.

        Each gets VOTE_POSTS posts of its own to vote on (visible posts in visible, unlocked
        threads, shuffled, no two voters sharing one). Their own random stream, so the rest of
        the community is the same as without them.
        """
        from community.services.accounts import username_key

        rng = random.Random(4242)
        first = self.n_users + 1
        self.voters: list[dict[str, Any]] = []
        for i in range(VOTERS):
            name = f"bench_voter_{i:02d}"
            self.voters.append({
                "id": first + i, "username": name, "username_key": username_key(name),
                "email": f"voter{i}@bench.example", "password_hash": self.password_hash,
                "role": "member", "reputation": 1, "reputation_total": 0, "locale": None,
                "bio": "", "suspended_until": None, "last_seen_at": None,
                "created_at": self.now - timedelta(days=30),
            })
        open_threads = {t["id"] for t in self.threads if not t["is_hidden"] and not t["is_locked"]}
        eligible = [p["id"] for p in self.posts
                    if not p["is_hidden"] and p["thread_id"] in open_threads]
        rng.shuffle(eligible)
        self.vote_posts = [eligible[i::VOTERS][:VOTE_POSTS] for i in range(VOTERS)]


def _token_hash(raw: str) -> str:
    """What api_tokens.token_hash holds for a raw token (services/accounts.py)."""
    try:
        from community.services.accounts import _token_hash as app_hash
    except ImportError:
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()
    return app_hash(raw)


def _reputation_points() -> dict[str, int]:
    """Points per ledger kind, from the app (REPUTATION_POINTS overrides) when it can say."""
    from community.services import reputation

    kinds = ("question.upvoted", "answer.upvoted", "post.downvoted", "downvote.cast",
             "answer.accepted", "accept.asker", "answer.endorsed")
    defaults = getattr(reputation, "DEFAULT_POINTS", {})
    try:
        return {kind: reputation.points(kind) for kind in kinds}
    except Exception:       # no app context, or a points table that no longer has the kind
        return {kind: int(defaults.get(kind, 0)) for kind in kinds}


def _touch(thread: dict[str, Any], moment: datetime) -> None:
    if moment > thread["last_activity_at"]:
        thread["last_activity_at"] = moment


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def body_pools(seed: int = 7) -> dict[str, list[tuple[str, str]]]:
    """(markdown, html) pools, rendered once through the product's own renderer."""
    from community.render import render_markdown

    rng = random.Random(seed)
    make = {"question": (corpus.question_body, POOL_QUESTIONS),
            "answer": (corpus.answer_body, POOL_ANSWERS),
            "comment": (corpus.comment_body, POOL_COMMENTS)}
    pools = {}
    for kind, (generate, size) in make.items():
        sources = [generate(rng) for _ in range(size)]
        pools[kind] = [(src, render_markdown(src)) for src in sources]
    return pools


# ---- loading --------------------------------------------------------------------------------

def _insert(conn, table, rows: list[dict[str, Any]], log: Callable[[str], None]) -> None:
    """executemany in batches; keys the current schema lacks are dropped (it keeps changing)."""
    started = time.perf_counter()
    columns = set(table.c.keys())
    if rows and not set(rows[0]) <= columns:
        rows = [{k: v for k, v in row.items() if k in columns} for row in rows]
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])
    log(f"  {table.name:<17} {len(rows):>8,} rows  {time.perf_counter() - started:6.1f} s")


def _prepare_database(app, reset: bool) -> None:
    from flask_migrate import upgrade

    from community.extensions import db

    engine = db.engine
    existing = inspect(engine).get_table_names()
    if engine.dialect.name == "postgresql" and existing:
        if not reset:
            raise SystemExit(f"{engine.url.render_as_string(hide_password=True)} already has tables "
                             f"({', '.join(sorted(existing)[:5])}...). The bench needs a throwaway "
                             "database: set BENCH_DATABASE_RESET=1 to drop its public schema.")
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    elif existing:
        raise SystemExit(f"{engine.url} is not empty; the bench loads into a fresh database.")
    upgrade()


def load(instance_path: Path, scale: float, database_url: str | None = None, *,
         reset: bool = False, deep_page: int = DEEP_PAGE, search_index: bool = False,
         log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build the schema, generate and insert the community; return counts and timings."""
    from community.extensions import db
    from community.models import Comment, Post, Revision, Tag, Thread, User, thread_tags

    started = time.perf_counter()
    instance_path.mkdir(parents=True, exist_ok=True)
    app = make_app(instance_path, database_url)
    with app.app_context():
        _prepare_database(app, reset)
        t0 = time.perf_counter()
        pools = body_pools()
        log(f"  rendered {sum(len(p) for p in pools.values())} markdown bodies "
            f"{time.perf_counter() - t0:6.1f} s")
        t0 = time.perf_counter()
        data = Community(scale)
        log(f"  generated rows {time.perf_counter() - t0:14.1f} s")

        # Rows carry an index into their pool; swap in the shared (markdown, html) strings.
        posts = data.posts
        for post in posts:
            post["body_source"], post["body_html"] = pools[post["kind"]][post.pop("body")]
        for rev in data.revisions:
            kind = "answer" if rev["title"] is None else "question"
            rev["body_source"] = pools[kind][rev.pop("body")][0]
        for item in data.comments:
            item["body_source"], item["body_html"] = pools["comment"][item.pop("body")]
        # One API token per voter, stored as the app stores them (only the SHA-256 of the raw
        # token); the raw tokens go to the load generator.
        tokens = [f"cm_bench{i:02d}_{secrets.token_urlsafe(24)}" for i in range(len(data.voters))]
        token_rows = [{"id": i + 1, "user_id": voter["id"], "token_hash": _token_hash(raw),
                       "name": "bench", "last_used_at": None, "created_at": data.now}
                      for i, (voter, raw) in enumerate(zip(data.voters, tokens))]

        engine = db.engine
        sqlite = engine.dialect.name == "sqlite"
        t0 = time.perf_counter()
        with engine.connect() as conn:
            if sqlite:
                # A bigger page cache keeps index inserts in memory during the load only.
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
                conn.commit()
            for table, rows in ((Tag.__table__, data.tags),
                                (User.__table__, data.users + data.voters),
                                (Thread.__table__, data.threads), (Post.__table__, posts),
                                (Revision.__table__, data.revisions),
                                (thread_tags, data.thread_tags),
                                (Comment.__table__, data.comments),
                                (db.metadata.tables.get("votes"), data.votes),
                                (db.metadata.tables.get("reputation_events"),
                                 data.reputation_events),
                                (db.metadata.tables.get("api_tokens"), token_rows),
                                (db.metadata.tables.get("flags"), data.flags)):
                if table is None:
                    continue
                with conn.begin():
                    _insert(conn, table, rows, log)
            with conn.begin():
                threads = Thread.__table__
                conn.execute(threads.update().where(threads.c.id == bindparam("tid"))
                             .values(accepted_answer_id=bindparam("aid")), data.accepts)
            if engine.dialect.name == "postgresql":
                with conn.begin():
                    for name in ("users", "tags", "threads", "posts", "revisions", "comments",
                                 "votes", "reputation_events", "api_tokens", "flags"):
                        if name not in db.metadata.tables:
                            continue
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                          f"(SELECT coalesce(max(id), 1) FROM {name}))"))
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            elif sqlite:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        log(f"  inserted {time.perf_counter() - t0:20.1f} s")
        probe_result = probe(app, deep_page=deep_page)
        search_started = time.perf_counter()
        search_state = build_search_index(log) if search_index else "empty"
        search_seconds = (round(time.perf_counter() - search_started, 2)
                          if search_state.startswith("built") else None)
        db.session.remove()
        db.engine.dispose()
    return {
        "threads": data.n_threads, "posts": len(posts),
        "answers": len(posts) - data.n_threads, "users": data.n_users,
        "comments": len(data.comments), "revisions": len(data.revisions),
        "votes": len(data.votes) if "votes" in db.metadata.tables else 0,
        "reputation_events": (len(data.reputation_events)
                              if "reputation_events" in db.metadata.tables else 0),
        "password": PASSWORD,
        "search_index": search_state, "search_index_seconds": search_seconds,
        "voters": [{"id": v["id"], "username": v["username"], "token": raw, "posts": posts_}
                   for v, raw, posts_ in zip(data.voters, tokens, data.vote_posts)],
        "tags": len(data.tags), "solved": len(data.accepts), "open_flags": len(data.flags),
        "load_seconds": round(time.perf_counter() - started, 2),
        "dialect": engine.dialect.name,
        **probe_result,
    }


def build_search_index(log: Callable[[str], None]) -> str:
    """`community search rebuild`, when the app has a search index: every visible thread.

    Slow (Whoosh analyses every post: about 9 ms a thread, 3 minutes at full scale), so only
    with BENCH_SEARCH_INDEX=1. Without it the servers open the empty index the app created and
    its indexer adds each thread a write touches; a vote then costs a little less server CPU
    than against a full index (scale 0.2: 13.1 against 15.1 ms)."""
    try:
        from community.services import search
    except ImportError:
        return "none"
    started = time.perf_counter()
    count = search.rebuild()
    seconds = time.perf_counter() - started
    log(f"  search index {count:>11,} threads {seconds:6.1f} s")
    return f"built: {count} threads in {seconds:.0f} s"


def probe(app, seed: int = 99, deep_page: int = DEEP_PAGE) -> dict[str, Any]:
    """What the load generator needs: thread ids to visit and the deep page's cursor."""
    from community.extensions import db
    from community.models import Thread
    from community.services.pagination import encode_cursor
    from community.services.threads import list_threads

    page_size = app.config["PAGE_SIZE"]
    visible = select(Thread.id).where(Thread.is_hidden.is_(False))
    ids = list(db.session.scalars(visible.order_by(Thread.id)))
    rng = random.Random(seed)
    sample = sorted(rng.sample(ids, min(SAMPLE_THREADS, len(ids))))
    # The deepest *full* page when there are fewer than DEEP_PAGE of them, so that the deep page
    # renders as many rows as page 1 (20,000 threads make only 666 full pages of 30).
    depth = max(1, min(deep_page, len(ids) // page_size))
    cursor = None
    if depth > 1:
        # The cursor that page `depth` is reached with: the key of the last row on page depth-1,
        # i.e. row 29,970 of the active list for page 1,000.
        key, row_id = db.session.execute(
            select(Thread.last_activity_at, Thread.id).where(Thread.is_hidden.is_(False))
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
            .offset(page_size * (depth - 1) - 1).limit(1)).one()
        cursor = encode_cursor("active", key, row_id)
        # Self-check: the app's keyset query from that cursor starts where OFFSET would.
        expected = db.session.scalar(
            select(Thread.id).where(Thread.is_hidden.is_(False))
            .order_by(Thread.last_activity_at.desc(), Thread.id.desc())
            .offset(page_size * (depth - 1)).limit(1))
        page = list_threads(None, sort="active", cursor=cursor, limit=page_size)
        if not page.items or page.items[0].id != expected:
            raise SystemExit(f"deep cursor check failed: page starts at "
                             f"{page.items[0].id if page.items else None}, expected {expected}")
    # A member to log in as for the *_member targets: an ordinary, active one (the median
    # reputation among members who may downvote, so the page shows every vote button).
    from community.models import User

    members = list(db.session.scalars(
        select(User.username).where(User.role == "member", User.reputation_total >= 49,
                                    ~User.username.startswith("bench_voter_"))
        .order_by(User.reputation_total, User.id)))
    member = members[len(members) // 2] if members else None
    moderator = db.session.scalar(select(User.username).where(User.role == "moderator")
                                  .order_by(User.id).limit(1))
    return {"member_username": member, "moderator_username": moderator,
            "visible_threads": len(ids), "page_size": page_size, "deep_page_depth": depth,
            "deep_page_requested_depth": deep_page, "deep_cursor": cursor, "sample_thread_ids": sample}


if __name__ == "__main__":
    import json
    import tempfile

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="community-bench-"))
    stats = load(target, float(os.environ.get("BENCH_SCALE", "1")),
                 os.environ.get("BENCH_DATABASE_URL") or None,
                 reset=os.environ.get("BENCH_DATABASE_RESET") == "1",
                 search_index=os.environ.get("BENCH_SEARCH_INDEX") == "1")
    stats.pop("sample_thread_ids")
    stats["voters"] = len(stats["voters"])
    print(json.dumps({"instance": str(target), **stats}))
