"""Search figures for `make bench` (issue #4): the app's Whoosh index against SQLite FTS5.

Two corpora, each measured in-process, warm, on one thread (time.perf_counter around the
backend call, nothing else):

- the bench community (bench/load.py) in its own database: the index built the way
  `community search rebuild` builds it (`community.services.search.rebuild()` in the app
  context), 200 support-style queries over the loader's vocabulary (bench/corpus.py), the same
  200 with a filter each, 200 titles as someone types them on the ask page (similar questions),
  and the time from a commit (an answer through `community.services.threads.answer`) until a
  search finds the answer's new word, through the app's real background indexer;
- the Stack Exchange corpus (../shared/corpora/qa_forum/se_posts_combined.jsonl), when present:
  questions with their answers as search documents in a WhooshIndex on disk, queries made of
  words from sampled titles.

The reference is SQLite FTS5 over the same documents in the same run: a temp-file database with
one FTS5 table (title, body, answers, best, tags; porter stemming), bm25 with the same field
weights and the same solved/score boost as the app's ranking, the filters as WHERE on unindexed
columns, and per query what the app's search answers with: the top 20, the total and a
highlighted snippet for each hit. Whoosh and FTS5 take turns query by query, so both see the
same background load.

Run alone against a loaded instance (or load one first at BENCH_SCALE):
    .venv/bin/python bench/search_bench.py [INSTANCE_DIR]
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import sqlite3
import statistics
import string
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402

SE_CORPUS = ROOT.parent / "shared" / "corpora" / "qa_forum" / "se_posts_combined.jsonl"
QUERIES = 200
COMMIT_TRIALS = 20
DEFAULT_SEARCH_SCALE = 0.5   # make bench's search part, unless BENCH_SEARCH_SCALE says otherwise
QUERY_TARGET_MS = 10.0       # query p50 at 20,000 threads, at most
SIMILAR_TARGET_MS = 20.0     # similar-questions p50, at most
TARGET_THREADS = 19_000      # "at 20,000 threads": scale 1 indexes ~19,900 (a few are hidden)
PAGE = 20                    # hits per search, as the API's default
# FTS5's bm25 column weights, in column order, as the Whoosh schema's field boosts.
FTS_WEIGHTS = "3.0, 1.0, 1.0, 1.5, 2.0"   # title, body, answers, best, tags


# ---- statistics -------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (nearest rank) of `values`, rounded to µs; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3)


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if ours is not None and theirs else None


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = call()
    return (time.perf_counter() - started) * 1000, out


# ---- queries ----------------------------------------------------------------------------------

# Support-style searches as people type them into the search box: a few words, lower case,
# the odd typo (those find nothing as typed and take the "did you mean" path), phrases, Arabic.
HAND_QUERIES = [
    "roaming spain", "roaming in dubai", "data roaming not working", "esim qr code",
    "esim can't be added", "wifi calling", "wi-fi calling iphone", "pac code",
    "move my number", "keep my number", "apn settings", "internet.kestrel", "no service abroad",
    "sos only", "voicemail notifications", "picture messages", "hotspot laptop", "charged twice",
    "bill went up", "bundle active", "flight mode", "reset apn", "imei", "drops to 3g",
    "signal indoors", "asking for a pin", "latest update", "pixel 8 roaming", "galaxy s24 esim",
    "iphone 15 no service", "unlimited plus roaming", "flex 20gb data", "roaming turkey",
    "charged for data in france", "ferry to belfast", "cruise ship", "apple watch esim",
    "add-ons app", "clear cache", "re-provision the sim", "carrier settings", "network type",
    "family share", "student 50gb", "port my number", "text pac to 65075", '"no service"',
    '"data roaming"', '"wi-fi calling" provisioning', "roamin", "voicmail", "hotpsot",
    "esim qr co", "wifi call", "التجوال", "الإنترنت عند السفر", "الاشارة ضعيفة",
    "تحديث اعدادات الشبكة", "roaming gulf التجوال", "signal full bars nothing loads",
]
SYMPTOM_WORDS = ["no service", "3g", "pin", "picture messages", "data", "esim", "wifi calling",
                 "charged twice", "signal", "pac code", "sos", "hotspot", "voicemail"]
TOPICS = ["roaming", "bill", "data", "esim", "apn", "top up", "bundle", "upgrade", "contract",
          "number", "signal", "5g", "coverage", "refund", "insurance", "unlock"]
TYPOS = ["roamnig", "esmi", "voicemial", "hotspto", "biling", "signla", "coverge", "bundel"]
FILTER_TAGS = ["roaming", "esim", "billing", "data", "coverage", "apn", "porting", "android",
               "iphone", "wifi-calling"]


def bench_queries(rng: random.Random, n: int = QUERIES) -> list[str]:
    """`n` queries: the hand-written ones, then generated ones from the loader's vocabulary."""
    out = list(HAND_QUERIES)
    makers = [
        lambda: f"{rng.choice(corpus.DEVICES)} {rng.choice(SYMPTOM_WORDS)}",
        lambda: f"roaming {rng.choice(corpus.PLACES)}",
        lambda: f"{rng.choice(corpus.PLANS)} {rng.choice(TOPICS)}",
        lambda: f"{rng.choice(TOPICS)} {rng.choice(corpus.PLACES)}",
        lambda: rng.choice(corpus.SYMPTOMS),
        lambda: " ".join(rng.choice(corpus.FIXES).replace("*", "").split()[:rng.randint(2, 4)]),
        lambda: f"{rng.choice(corpus.DEVICES)} {rng.choice(TOPICS)}",
        lambda: rng.choice(TYPOS) + " " + rng.choice(TOPICS) if rng.random() < 0.3
        else rng.choice(TYPOS),
    ]
    while len(out) < n:
        out.append(rng.choice(makers)().lower())
    return out[:n]


def typed_titles(rng: random.Random, n: int = QUERIES) -> list[str]:
    """Titles on the ask page, as the similar-questions panel sees them: whole, or cut off after
    a few words (people are still typing)."""
    titles = []
    for _ in range(n):
        words = corpus.title(rng).split()
        cut = len(words) if rng.random() < 0.5 else rng.randint(min(3, len(words)), len(words))
        titles.append(" ".join(words[:cut]))
    return titles


def filters_for(i: int, rng: random.Random, tags: list[str], authors: list[str],
                newest: datetime) -> dict[str, Any]:
    """One filter per query, in turn: status, tag, date, status + tag, author."""
    kind = i % 5
    if kind == 0:
        return {"status": "solved"}
    if kind == 1:
        return {"tag": rng.choice(tags)}
    if kind == 2:
        return {"since": newest - timedelta(days=rng.choice([30, 90, 180]))}
    if kind == 3:
        return {"status": "solved", "tag": rng.choice(tags)}
    return {"author": rng.choice(authors)}


# ---- documents --------------------------------------------------------------------------------

def rebuild_recording(log: Callable[[str], None]) -> tuple[int, float, float, list]:
    """`community.services.search.rebuild()` as `community search rebuild` runs it (in the app
    context), keeping the documents it indexes for the FTS5 reference instead of reading them
    twice. Returns (threads, seconds in all, seconds of that spent reading documents from the
    database and building them, the documents)."""
    from community.services import search as search_service

    docs: list = []
    reading = [0.0]
    original = search_service._documents

    def recording(*args, **kwargs):
        source = original(*args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                doc = next(source)
            except StopIteration:
                reading[0] += time.perf_counter() - started
                return
            reading[0] += time.perf_counter() - started
            docs.append(doc)
            yield doc

    search_service._documents = recording
    try:
        started = time.perf_counter()
        count = search_service.rebuild()
        seconds = time.perf_counter() - started
    finally:
        search_service._documents = original
    return count, seconds, reading[0], docs


def bench_documents() -> list:
    """Every visible thread's search document, as rebuild() indexes them (in the app context)."""
    from sqlalchemy.orm import Session

    from community.extensions import db
    from community.services import search as search_service

    with Session(db.engine) as session:
        return list(search_service._documents(session))


def se_documents(path: Path) -> list:
    """The Stack Exchange questions with their answers as search documents (ids renumbered: the
    sites' own ids overlap)."""
    from community.search.documents import SearchDocument, plain_text

    questions, answers = [], {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            post = json.loads(line)
            if post["post_type"] == "question":
                questions.append(post)
            elif post["post_type"] == "answer":
                answers.setdefault((post["site"], post["parent_id"]), []).append(post)
    docs = []
    for number, q in enumerate(questions, 1):
        replies = answers.get((q["site"], q["id"]), [])
        accepted = [a for a in replies if a["id"] == q["accepted_answer_id"]]
        created = datetime.fromisoformat(q["creation_date"]).replace(tzinfo=timezone.utc)
        latest = max([created] + [datetime.fromisoformat(a["creation_date"])
                                  .replace(tzinfo=timezone.utc) for a in replies])
        docs.append(SearchDocument(
            id=number, title=q["title"] or "", body=plain_text(q["body_html"] or ""),
            answers="\n\n".join(plain_text(a["body_html"] or "") for a in replies),
            best="\n\n".join(plain_text(a["body_html"] or "") for a in accepted),
            tags=[t.casefold() for t in (q["tags"] or [])],
            status="solved" if accepted else ("answered" if replies else "unanswered"),
            author=str(q["owner_user_id"] or q["owner_display_name"] or "anonymous").casefold(),
            created=created, activity=latest, score=int(q["score"] or 0)))
    return docs


def se_queries(docs: list, rng: random.Random, n: int = QUERIES) -> list[str]:
    """What someone with the same problem might type: 2-4 content words of a sampled title."""
    from whoosh.analysis import STOP_WORDS

    out = []
    while len(out) < n:
        words = [w for w in re.findall(r"[^\W_]+(?:[.'’+#-][^\W_]+)*", rng.choice(docs).title)
                 if w.lower() not in STOP_WORDS and len(w) > 2]
        if len(words) >= 2:
            k = min(len(words), rng.randint(2, 4))
            start = rng.randint(0, len(words) - k)
            out.append(" ".join(words[start:start + k]).lower())
    return out


# ---- SQLite FTS5, the reference ---------------------------------------------------------------

class Fts5:
    """The same documents in an FTS5 table, queried the way the app's search answers."""

    def __init__(self, path: Path) -> None:
        from whoosh.analysis import STOP_WORDS

        from community.search.analysis import ARABIC_STOP_WORDS

        self.stop = STOP_WORDS | ARABIC_STOP_WORDS
        if path.exists():
            path.unlink()
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        # Whoosh reads its segment files through mmap; let SQLite do the same.
        self.db.execute("PRAGMA mmap_size=1073741824")
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(title, body, answers, best, tags, "
            "status UNINDEXED, author UNINDEXED, created UNINDEXED, score UNINDEXED, "
            "tag_list UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')")

    def build(self, documents: Iterable) -> int:
        rows = [(d.id, d.title, d.body, d.answers, d.best, " ".join(d.tags), d.status, d.author,
                 _iso(d.created), d.score, f" {' '.join(d.tags)} ") for d in documents]
        with self.db:
            self.db.executemany("INSERT INTO docs(rowid, title, body, answers, best, tags, status, "
                                "author, created, score, tag_list) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        return len(rows)

    def _terms(self, text: str) -> list[str]:
        return [w for w in re.findall(r"[^\W_]+", text.lower()) if w not in self.stop]

    def match(self, text: str) -> str | None:
        """The query in FTS5 syntax: words AND-ed (as Whoosh's parser does), "phrases" kept,
        the last word also as a prefix. None when only stop words are left."""
        parts = []
        for phrase, loose in re.findall(r'"([^"]*)"|([^"\s]+)', text):
            terms = self._terms(phrase or loose)
            if not terms:
                continue
            parts.append('"' + " ".join(terms) + '"' if phrase else
                         " ".join(f'"{t}"' for t in terms))
        if not parts:
            return None
        # As WhooshIndex._parse: the last word as a prefix too when it is a plain word of two
        # or more letters and no phrase is left open (a prefix of the whole word matches it).
        words = text.split()
        if (words and words[-1].isalnum() and len(words[-1]) >= 2 and text.count('"') % 2 == 0
                and parts[-1] == f'"{words[-1].lower()}"'):
            parts[-1] += "*"
        return " ".join(parts)

    def search(self, text: str, status: str | None = None, tag: str | None = None,
               author: str | None = None, since: datetime | None = None) -> tuple[list, int]:
        match = self.match(text)
        if match is None:
            return [], 0
        where, args = ["docs MATCH ?"], [match]
        if status:
            where.append("status = ?")
            args.append(status)
        if tag:
            where.append("tag_list LIKE ?")
            args.append(f"% {tag} %")
        if author:
            where.append("author = ?")
            args.append(author)
        if since:
            where.append("created >= ?")
            args.append(_iso(since))
        clause = " AND ".join(where)
        # The app's ranking, as WhooshIndex._run does it: the best RERANK_DEPTH by bm25 (negative:
        # lower is better), re-ordered by the solved and score boosts; the top PAGE of those.
        ids = [row[0] for row in self.db.execute(
            f"SELECT d.rowid FROM (SELECT rowid AS id, bm25(docs, {FTS_WEIGHTS}) AS rank "
            f"FROM docs WHERE {clause} ORDER BY rank LIMIT {rerank_depth()}) AS t "
            "JOIN docs AS d ON d.rowid = t.id "
            "ORDER BY t.rank * (CASE d.status WHEN 'solved' THEN 1.6 ELSE 1.0 END) "
            f"* (1 + 0.02 * max(0, min(d.score, 25))), d.rowid DESC LIMIT {PAGE}", args)]
        total = self.db.execute(f"SELECT count(*) FROM docs WHERE {clause}", args).fetchone()[0]
        snippets = dict(self.db.execute(
            "SELECT rowid, snippet(docs, -1, '<mark>', '</mark>', '…', 24) FROM docs "
            f"WHERE docs MATCH ? AND rowid IN ({','.join('?' * len(ids))})",
            [match, *ids])) if ids else {}
        return [(i, snippets.get(i)) for i in ids], total

    def similar(self, text: str, limit: int = 5) -> list[int]:
        """Any of the title's words, title weighted, solved first (as WhooshIndex.similar)."""
        terms = sorted(set(self._terms(text)))
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = list(self.db.execute(
            f"SELECT rowid, status, bm25(docs, 3.0, 1.0, 0.0, 1.0, 0.0) AS rank FROM docs "
            f"WHERE docs MATCH ? ORDER BY rank LIMIT {limit * 4}", [match]))
        if not rows:
            return []
        floor = rows[0][2] * 0.25
        ranked = sorted((r for r in rows if r[2] <= floor), key=lambda r: (r[1] != "solved", r[2]))
        return [r[0] for r in ranked[:limit]]

    def close(self) -> None:
        self.db.close()


def rerank_depth() -> int:
    """How many best matches the app re-orders by its boosts (the FTS5 reference does the same)."""
    from community.search import whoosh_index

    return max(getattr(whoosh_index, "RERANK_DEPTH", 200), PAGE)


def _iso(moment: datetime) -> str:
    if moment.tzinfo:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


# ---- measuring one corpus -----------------------------------------------------------------------

def measure_queries(index, fts: Fts5, queries: list[str], titles: list[str],
                    filters: list[dict[str, Any]]) -> dict[str, Any]:
    """Whoosh and FTS5 in turn over the same queries: one warm-up pass, then the timed pass."""
    from community.search import SearchQuery

    def ours(text: str, f: dict[str, Any]):
        return index.search(SearchQuery(text=text, limit=PAGE, **f))

    # Warm-up (the searcher, its lazily read columns and lengths, the OS cache, both engines):
    # a tenth of the queries, every filter kind among them.
    for text, f in list(zip(queries, filters))[:max(10, len(queries) // 10)]:
        ours(text, {})
        ours(text, f)
        fts.search(text)
        fts.search(text, **f)
    for title in titles[:20]:
        index.similar(title)
        fts.similar(title)

    times: dict[str, list[float]] = {k: [] for k in (
        "search", "filtered", "fts5", "fts5_filtered", "similar", "fts5_similar")}
    hits, fts_hits, empty, suggested = [], [], 0, 0
    for text, f in zip(queries, filters):
        ms, results = timed(lambda: ours(text, {}))
        times["search"].append(ms)
        hits.append(results.total)
        empty += not results.hits
        suggested += results.suggestion is not None
        ms, (rows, total) = timed(lambda: fts.search(text))
        times["fts5"].append(ms)
        fts_hits.append(total)
        times["filtered"].append(timed(lambda: ours(text, f))[0])
        times["fts5_filtered"].append(timed(lambda: fts.search(text, **f))[0])
    for title in titles:
        times["similar"].append(timed(lambda: index.similar(title))[0])
        times["fts5_similar"].append(timed(lambda: fts.similar(title))[0])
    return {
        "search_p50_ms": pct(times["search"], 0.5), "search_p99_ms": pct(times["search"], 0.99),
        "search_filtered_p50_ms": pct(times["filtered"], 0.5),
        "search_filtered_p99_ms": pct(times["filtered"], 0.99),
        "similar_p50_ms": pct(times["similar"], 0.5), "similar_p99_ms": pct(times["similar"], 0.99),
        "fts5_p50_ms": pct(times["fts5"], 0.5), "fts5_p99_ms": pct(times["fts5"], 0.99),
        "fts5_filtered_p50_ms": pct(times["fts5_filtered"], 0.5),
        "fts5_similar_p50_ms": pct(times["fts5_similar"], 0.5),
        "search_p50_vs_fts5": ratio(pct(times["search"], 0.5), pct(times["fts5"], 0.5)),
        "search_filtered_p50_vs_fts5": ratio(pct(times["filtered"], 0.5),
                                             pct(times["fts5_filtered"], 0.5)),
        "similar_p50_vs_fts5": ratio(pct(times["similar"], 0.5), pct(times["fts5_similar"], 0.5)),
        "search_total_hits_median": statistics.median(hits),
        "fts5_total_hits_median": statistics.median(fts_hits),
        "search_no_hits": empty, "search_suggestions": suggested,
    }


def commit_to_searchable(member: str | None, trials: int, rng: random.Random,
                         log: Callable[[str], None]) -> dict[str, Any]:
    """Answer a thread through the services (a real commit, with its after-commit events), then
    search for the answer's new word until the app's background indexer has made it findable.
    In the app context, against the app's own index."""
    from sqlalchemy import select

    from community.extensions import db
    from community.models import Thread, User
    from community.search import SearchQuery, get_index
    from community.workers import search_indexer
    from community.services import threads as thread_service

    user = db.session.scalar(select(User).where(User.username == member)) if member else None
    if user is None:
        user = db.session.scalar(select(User).where(User.role == "member").order_by(User.id))
    user_id = user.id
    candidates = list(db.session.scalars(
        select(Thread.id).where(Thread.is_hidden.is_(False), Thread.is_locked.is_(False))))
    index = get_index()
    waits, commits, polls = [], [], []
    for trial in range(trials):
        assert search_indexer.flush(60), "the search indexer did not catch up"
        word = "probe" + "".join(rng.choices(string.ascii_lowercase, k=10))
        user, thread = db.session.get(User, user_id), db.session.get(Thread, rng.choice(candidates))
        started = time.perf_counter()
        thread_service.answer(user, thread, f"Tried {word} here and it sorted it. Trial {trial}.")
        committed = time.perf_counter()
        n = 0
        while True:
            n += 1
            found = index.search(SearchQuery(text=word, limit=5))
            if any(hit.thread_id == thread.id for hit in found.hits):
                break
            if time.perf_counter() - started > 60:
                raise SystemExit(f"an answer with {word!r} was not searchable after 60 s")
            time.sleep(0.002)
        done = time.perf_counter()
        waits.append((done - started) * 1000)
        commits.append((committed - started) * 1000)
        polls.append(n)
        db.session.remove()
    # Where that goes: the same again, but waiting for the indexer (search.flush()) and then
    # searching once (the first search on a new commit also opens a new searcher).
    indexed, first = [], []
    for trial in range(max(5, trials // 2)):
        assert search_indexer.flush(60), "the search indexer did not catch up"
        word = "probe" + "".join(rng.choices(string.ascii_lowercase, k=10))
        user, thread = db.session.get(User, user_id), db.session.get(Thread, rng.choice(candidates))
        started = time.perf_counter()
        thread_service.answer(user, thread, f"Tried {word} here and it sorted it.")
        assert search_indexer.flush(60), "the search indexer did not catch up"
        flushed = time.perf_counter()
        found = index.search(SearchQuery(text=word, limit=5))
        if not any(hit.thread_id == thread.id for hit in found.hits):
            raise SystemExit(f"an answer with {word!r} was not searchable after search.flush()")
        indexed.append((flushed - started) * 1000)
        first.append((time.perf_counter() - flushed) * 1000)
        db.session.remove()
    return {"commit_to_searchable_p50_ms": pct(waits, 0.5),
            "commit_to_indexed_p50_ms": pct(indexed, 0.5),
            "first_search_after_commit_p50_ms": pct(first, 0.5),
            "commit_to_searchable_max_ms": pct(waits, 1.0),
            "commit_ms_p50": pct(commits, 0.5),
            "commit_to_searchable_trials": trials,
            "commit_to_searchable_polls_median": statistics.median(polls)}


def bench_corpus(instance: Path, database_url: str | None, *, member: str | None,
                 prebuilt_seconds: float | None, workdir: Path,
                 log: Callable[[str], None]) -> dict[str, Any]:
    """The bench community: build, queries, similar, commit-to-searchable, and FTS5 beside it."""
    import load

    from community.extensions import db
    from community.search import get_index
    from community.workers import search_indexer

    rng = random.Random(4)
    app = load.make_app(instance, database_url)
    out: dict[str, Any] = {}
    with app.app_context():
        search_indexer.flush(60)
        if prebuilt_seconds is not None:
            docs = bench_documents()
            out["search_index_build_s"] = round(prebuilt_seconds, 1)
            out["search_index_build"] = "by the loader (BENCH_SEARCH_INDEX=1)"
            log(f"  search index: {len(docs):,} threads, built by the loader in "
                f"{prebuilt_seconds:.1f} s")
        else:
            count, seconds, reading, docs = rebuild_recording(log)
            out["search_index_build_s"] = round(seconds, 1)
            out["search_documents_s"] = round(reading, 1)
            out["search_index_build"] = "community.services.search.rebuild()"
            log(f"  search index: rebuild() of {count:,} threads {seconds:6.1f} s "
                f"({seconds / max(count, 1) * 1000:.1f} ms a thread, of which reading the "
                f"threads from the database and making their documents {reading:.1f} s)")
        out["search_docs"] = len(docs)
        index = get_index()
        out["search_index_mb"] = round(_dir_size(Path(app.config.get("SEARCH_INDEX_PATH") or
                                                      instance / "search-index")) / 1e6, 1)
        out["search_index_segments"] = _segments(index)
        fts = Fts5(workdir / "fts5-bench.db")
        started = time.perf_counter()
        fts.build(docs)
        out["fts5_build_s"] = round(time.perf_counter() - started, 2)
        out["fts5_mb"] = round((workdir / "fts5-bench.db").stat().st_size / 1e6, 1)
        log(f"  FTS5 reference: {len(docs):,} documents in {out['fts5_build_s']:.1f} s "
            f"({out['fts5_mb']} MB; Whoosh index {out['search_index_mb']} MB)")

        queries = bench_queries(rng)
        tags = [t for t in FILTER_TAGS if t in corpus.TAGS]
        authors = sorted({d.author for d in docs})
        authors = rng.sample(authors, min(50, len(authors)))
        newest = max(d.created for d in docs)
        filters = [filters_for(i, rng, tags, authors, newest) for i in range(len(queries))]
        titles = typed_titles(rng)
        del docs
        out.update(measure_queries(index, fts, queries, titles, filters))
        fts.close()
        out.update(commit_to_searchable(member, COMMIT_TRIALS, rng, log))
        db.session.remove()
        db.engine.dispose()
    return out


def se_corpus(path: Path, workdir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """The Stack Exchange corpus in a WhooshIndex on disk, and in FTS5."""
    from community.search.whoosh_index import WhooshIndex

    rng = random.Random(5)
    started = time.perf_counter()
    docs = se_documents(path)
    out: dict[str, Any] = {"se_docs": len(docs),
                           "se_documents_s": round(time.perf_counter() - started, 2)}
    index_path = workdir / "se-index"
    shutil.rmtree(index_path, ignore_errors=True)
    index = WhooshIndex.on_disk(str(index_path))
    started = time.perf_counter()
    index.rebuild(docs)
    out["se_index_build_s"] = round(time.perf_counter() - started, 1)
    out["se_index_mb"] = round(_dir_size(index_path) / 1e6, 1)
    fts = Fts5(workdir / "fts5-se.db")
    started = time.perf_counter()
    fts.build(docs)
    out["se_fts5_build_s"] = round(time.perf_counter() - started, 2)
    log(f"  Stack Exchange: {len(docs):,} questions; Whoosh index {out['se_index_build_s']:.1f} s "
        f"({out['se_index_mb']} MB), FTS5 {out['se_fts5_build_s']:.1f} s")
    queries = se_queries(docs, rng)
    tags = sorted({t for d in docs for t in d.tags})
    authors = rng.sample(sorted({d.author for d in docs}), 50)
    newest = max(d.created for d in docs)
    filters = [filters_for(i, rng, tags, authors, newest) for i in range(len(queries))]
    for f in filters:                      # a date filter over years, not months, for SE
        if "since" in f:
            f["since"] = newest - timedelta(days=365 * rng.choice([1, 3, 5]))
    titles = [rng.choice(docs).title for _ in range(QUERIES)]
    measured = measure_queries(index, fts, queries, titles, filters)
    fts.close()
    out.update({f"se_{key}": value for key, value in measured.items()})
    shutil.rmtree(index_path, ignore_errors=True)
    return out


def _segments(index) -> int | None:
    try:
        return len(index._ix._segments())
    except Exception:  # not a Whoosh index, or Whoosh changed
        return None


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# ---- the whole search part --------------------------------------------------------------------

def run(instance: Path, database_url: str | None, *, member: str | None = None,
        prebuilt_seconds: float | None = None, scale: float | None = None,
        log: Callable[[str], None] = print, se_path: Path | None = None) -> dict[str, Any]:
    """Every search figure, for the summary JSON; prints readable lines as it goes."""
    se_path = se_path or Path(os.environ.get("BENCH_SE_CORPUS") or SE_CORPUS)
    workdir = Path(tempfile.mkdtemp(prefix="community-search-bench-"))
    started = time.perf_counter()
    try:
        log("search (in-process, warm, one thread; SQLite FTS5 on the same documents as the "
            "reference):")
        out = bench_corpus(instance, database_url, member=member,
                           prebuilt_seconds=prebuilt_seconds, workdir=workdir, log=log)
        out["search_scale"] = scale
        out["search_code"] = code_version()
        out["search_query_target_met"] = target_met(out["search_p50_ms"], QUERY_TARGET_MS,
                                                    out["search_docs"])
        out["similar_target_met"] = target_met(out["similar_p50_ms"], SIMILAR_TARGET_MS,
                                               out["search_docs"])
        report(out, "", log)
        if se_path.exists():
            out.update(se_corpus(se_path, workdir, log))
            report(out, "se_", log)
        else:
            out["se_docs"] = None
            log(f"  Stack Exchange corpus not found at {se_path}: skipping that part")
        out["search_bench_s"] = round(time.perf_counter() - started, 1)
        log(f"  search part took {out['search_bench_s']:.0f} s")
        return out
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def code_version() -> str:
    """A short hash of community/search/ and the search service: the search code measured (it
    changes often; compare figures only between runs of the same code)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "community" / "search").glob("*.py")) + [
            ROOT / "community" / "services" / "search.py"]:
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def target_met(p50: float | None, target: float, docs: int) -> bool | None:
    """The targets are for 20,000 threads. Missed on fewer means missed (a bigger index is not
    faster); met on fewer proves nothing yet: None."""
    if p50 is None:
        return None
    if p50 >= target:
        return False
    return True if docs >= TARGET_THREADS else None


def for_make_bench(workdir: Path, instance: Path, database_url: str | None, scale: float,
                   stats: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The search part of `make bench`: on the bench's own database when BENCH_SEARCH_SCALE is
    BENCH_SCALE, else on a community loaded at BENCH_SEARCH_SCALE into its own SQLite database
    (Whoosh builds its index at ~10-15 ms a thread: 20,000 threads take ~5 minutes)."""
    import load

    if os.environ.get("BENCH_SEARCH", "1") == "0":
        log("search: skipped (BENCH_SEARCH=0)")
        return {"search_scale": None}
    raw = os.environ.get("BENCH_SEARCH_SCALE")
    search_scale = float(raw) if raw else min(scale, DEFAULT_SEARCH_SCALE)
    if math.isclose(search_scale, scale):
        return run(instance, database_url, member=stats.get("member_username"),
                   prebuilt_seconds=stats.get("search_index_seconds"), scale=search_scale,
                   log=log)
    target = workdir / "search-instance"
    log(f"search: at BENCH_SEARCH_SCALE={search_scale:g} (the bench is at {scale:g}): loading "
        f"a community of {round(load.BASE_THREADS * search_scale):,} threads into {target} ...")
    started = time.perf_counter()
    sub = load.load(target, search_scale, None, log=lambda message: None)
    log(f"  loaded in {time.perf_counter() - started:.1f} s")
    return run(target, None, member=sub["member_username"], scale=search_scale, log=log)


def report(out: dict[str, Any], prefix: str, log: Callable[[str], None]) -> None:
    g = lambda key: out.get(prefix + key)  # noqa: E731
    name = "Stack Exchange" if prefix else "bench"
    log(f"  {name}: {g('docs') if prefix else g('search_docs'):,} threads")
    log(f"  {name:<14} search p50 {g('search_p50_ms')} ms, p99 {g('search_p99_ms')} ms; "
        f"filtered p50 {g('search_filtered_p50_ms')} ms; similar p50 {g('similar_p50_ms')} ms")
    log(f"  {'FTS5':<14} search p50 {g('fts5_p50_ms')} ms, p99 {g('fts5_p99_ms')} ms; "
        f"filtered p50 {g('fts5_filtered_p50_ms')} ms; similar p50 {g('fts5_similar_p50_ms')} ms")
    log(f"  {name} / FTS5: search {g('search_p50_vs_fts5')}x, filtered "
        f"{g('search_filtered_p50_vs_fts5')}x, similar {g('similar_p50_vs_fts5')}x"
        + ("" if prefix else f"; targets at 20,000 threads: query p50 < {QUERY_TARGET_MS:g} ms "
           f"{_verdict(g('search_query_target_met'))}, similar p50 < {SIMILAR_TARGET_MS:g} ms "
           f"{_verdict(g('similar_target_met'))}"))
    if not prefix:
        log(f"  commit to searchable p50 {g('commit_to_searchable_p50_ms')} ms "
            f"(max {g('commit_to_searchable_max_ms')} ms over {g('commit_to_searchable_trials')} "
            f"answers; the commit itself {g('commit_ms_p50')} ms; until the indexer had "
            f"written it {g('commit_to_indexed_p50_ms')} ms, then the first search "
            f"{g('first_search_after_commit_p50_ms')} ms)")


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED"}.get(met, "not judged (fewer threads)")


def main() -> int:
    import load

    scale = float(os.environ.get("BENCH_SEARCH_SCALE") or os.environ.get("BENCH_SCALE") or 1)
    database_url = os.environ.get("BENCH_DATABASE_URL") or None
    member = None
    if len(sys.argv) > 1:
        instance = Path(sys.argv[1])
        cleanup = None
    else:
        cleanup = Path(tempfile.mkdtemp(prefix="community-bench-"))
        instance = cleanup / "instance"
        print(f"loading scale {scale:g} into {instance} ...", flush=True)
        stats = load.load(instance, scale, database_url,
                          reset=os.environ.get("BENCH_DATABASE_RESET") == "1")
        member = stats["member_username"]
    try:
        out = run(instance, database_url, member=member, scale=None if cleanup is None else scale,
                  log=lambda m: print(m, flush=True))
        print(json.dumps(out, separators=(", ", ": ")))
        return 0
    finally:
        if cleanup and os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(cleanup, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
