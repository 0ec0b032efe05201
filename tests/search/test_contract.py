"""The SearchIndex contract: one set of tests run against every backend (STYLE.md rule 5).

Each test drives a backend directly with SearchDocument objects built here, with no database:
what a backend must do with documents is the whole contract, so a second backend plugs in by
adding one line to BACKENDS. The tests after the parametrized ones cover what only an on-disk
index can get wrong: corrupt files, and two processes writing to the same folder.
"""

from __future__ import annotations

import gc
import os
import re
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage

from community.search import Drift, Results, SearchIndex, SearchQuery
from community.search.documents import SearchDocument
from community.search.whoosh_index import WhooshIndex

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)

BACKENDS = {
    "whoosh-memory": lambda tmp_path: WhooshIndex.in_memory(),
    "whoosh-disk": lambda tmp_path: WhooshIndex.on_disk(str(tmp_path / "search-index")),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request, tmp_path) -> SearchIndex:
    return BACKENDS[request.param](tmp_path)


def doc(id: int, title: str, body: str = "", *, answers: str = "", best: str = "",
        tags=("general",), status: str = "unanswered", author: str = "asker", day: float = 0,
        active: float | None = None, score: int = 0, version: int = 1) -> SearchDocument:
    """A thread's document; `day` is when it was asked, `active` its last activity (in days
    after T0)."""
    return SearchDocument(id=id, title=title, body=body, answers=answers, best=best,
                          tags=list(tags), status=status, author=author,
                          created=T0 + timedelta(days=day),
                          activity=T0 + timedelta(days=day if active is None else active),
                          score=score, fingerprint=f"{id}-v{version}")


def find(backend: SearchIndex, text: str, **filters) -> Results:
    return backend.search(SearchQuery(text=text, **filters))


def ids(results: Results) -> list[int]:
    return [hit.thread_id for hit in results.hits]


# ---- writing ----------------------------------------------------------------------------------

def test_a_new_backend_is_empty(backend):
    assert find(backend, "roaming") == Results([], 0)
    assert backend.check([]) == Drift()


def test_indexed_threads_are_found_by_title_body_answers_and_tags(backend):
    backend.index([
        doc(1, "Voicemail greeting lost after update", "I recorded a new greeting yesterday."),
        doc(2, "Phone restarts at night", "Every night around 3am.", answers="Turn off the "
            "automatic update window in Settings.", status="answered"),
        doc(3, "Where do I see my plan", "Looking for my allowance.", tags=("billing", "esim")),
    ])
    assert ids(find(backend, "voicemail")) == [1]
    assert ids(find(backend, "allowance")) == [3]
    assert ids(find(backend, "window")) == [2]
    assert ids(find(backend, "esim")) == [3]
    assert find(backend, "voicemail").total == 1


def test_indexing_a_thread_again_replaces_it(backend):
    backend.index([doc(1, "Voicemail greeting lost", "Recorded a greeting yesterday.")])
    assert ids(find(backend, "greeting")) == [1]  # a reader is open on the first version now

    backend.index([doc(1, "Voicemail PIN forgotten", "How do I reset the PIN?", version=2)])

    assert ids(find(backend, "voicemail")) == [1]
    assert find(backend, "voicemail").total == 1
    assert find(backend, "greeting").total == 0
    assert ids(find(backend, "pin")) == [1]
    assert backend.check([doc(1, "", version=2)]).clean


def test_the_same_thread_twice_in_one_batch_keeps_the_last(backend):
    backend.index([doc(1, "Voicemail greeting lost"),
                   doc(1, "Voicemail PIN forgotten", version=2)])

    assert find(backend, "voicemail").total == 1
    assert find(backend, "greeting").total == 0
    assert ids(find(backend, "forgotten")) == [1]
    assert backend.check([doc(1, "", version=2)]).clean


def test_removed_threads_are_not_found(backend):
    backend.index([doc(1, "Roaming in Spain"), doc(2, "Roaming in France")])
    assert find(backend, "roaming").total == 2

    backend.remove([1, 404])  # an id that was never indexed is no error
    backend.remove([])

    assert ids(find(backend, "roaming")) == [2]
    assert find(backend, "spain").total == 0
    assert backend.check([doc(2, "")]).clean


# ---- filters, order and pages -----------------------------------------------------------------

@pytest.fixture
def three_roaming_threads(backend):
    backend.index([
        doc(1, "Roaming in Spain", "Data stops at the border.", tags=("roaming", "spain"),
            status="solved", author="asker", day=0),
        doc(2, "Roaming in France", "Calls fail in Paris.", tags=("roaming",),
            status="answered", author="helper", day=10),
        doc(3, "Roaming charges on my bill", "Charged twice.", tags=("billing",),
            status="unanswered", author="asker", day=20),
    ])
    return backend


@pytest.mark.parametrize("filters, expected", [
    ({}, {1, 2, 3}),
    ({"status": "solved"}, {1}),
    ({"status": "answered"}, {2}),
    ({"status": "unanswered"}, {3}),
    ({"tag": "spain"}, {1}),
    ({"tag": "billing"}, {3}),
    ({"tag": "Roaming"}, {1, 2}),
    ({"tag": "esim"}, set()),
    ({"author": "helper"}, {2}),
    ({"author": "ASKER"}, {1, 3}),
    ({"author": "nobody"}, set()),
    ({"since": T0 + timedelta(days=10)}, {2, 3}),                  # the bounds are inclusive
    ({"until": T0 + timedelta(days=10)}, {1, 2}),
    ({"since": T0 + timedelta(days=5), "until": T0 + timedelta(days=15)}, {2}),
    ({"since": T0 + timedelta(days=21)}, set()),
    # Aware moments in another zone mean the same instant.
    ({"since": (T0 + timedelta(days=10)).astimezone(timezone(timedelta(hours=4)))}, {2, 3}),
    ({"status": "unanswered", "author": "asker"}, {3}),
    ({"tag": "spain", "status": "unanswered"}, set()),
])
def test_filters(three_roaming_threads, filters, expected):
    results = find(three_roaming_threads, "roaming", **filters)

    assert set(ids(results)) == expected
    assert results.total == len(expected)


def test_sort_by_relevance_or_by_recent_activity(backend):
    backend.index([
        doc(1, "Voicemail PIN reset", "My voicemail asks for a voicemail PIN.", day=0),
        doc(2, "Phone settings question", "Where is the voicemail number?", day=1, active=9),
        doc(3, "Lost my contacts", "Also my voicemail greeting.", day=2, active=5),
    ])

    assert ids(find(backend, "voicemail"))[0] == 1
    assert ids(find(backend, "voicemail", sort="recent")) == [2, 3, 1]
    assert ids(find(backend, "voicemail", sort="recent", status="unanswered")) == [2, 3, 1]


@pytest.mark.parametrize("sort", ["relevance", "recent"])
def test_offset_and_limit_page_through_every_hit_once(backend, sort):
    backend.index([doc(n, f"APN settings for phone model {n}", "APN " * (n % 3 + 1), day=n)
                   for n in range(1, 8)])
    everything = find(backend, "apn", sort=sort, limit=20)
    assert everything.total == 7 and len(everything.hits) == 7

    pages = [find(backend, "apn", sort=sort, offset=offset, limit=3) for offset in (0, 3, 6)]

    assert [len(page.hits) for page in pages] == [3, 3, 1]
    assert all(page.total == 7 for page in pages)
    assert [i for page in pages for i in ids(page)] == ids(everything)
    beyond = find(backend, "apn", sort=sort, offset=9, limit=3)
    assert beyond.hits == [] and beyond.total == 7


def test_total_counts_every_match_however_deep(backend):
    # The API's total and its next cursor come from here: beyond the first page too, and with
    # filters, it is the number of matching threads, not an estimate.
    backend.index([doc(n, f"APN settings for model {n}", "Roaming too." if n % 2 else "",
                       day=n, status="solved" if n % 3 == 0 else "answered")
                   for n in range(1, 251)])

    for sort in ("relevance", "recent"):
        assert find(backend, "apn", sort=sort, limit=5).total == 250
        assert find(backend, "roaming", sort=sort, limit=5).total == 125
        assert find(backend, "apn roaming", sort=sort, limit=5).total == 125
        assert find(backend, "apn settings", sort=sort, limit=5, status="solved").total == 83
        assert find(backend, "apn", sort=sort, limit=5, since=T0 + timedelta(days=201)).total == 50
        last = find(backend, "apn", sort=sort, offset=240, limit=20)
        assert last.total == 250 and len(last.hits) == 10


# ---- ranking ----------------------------------------------------------------------------------

def test_a_word_in_the_title_counts_more_than_in_the_body(backend):
    # Ties go to the newer (higher) id, so the title thread gets the lower one.
    backend.index([
        doc(1, "Router keeps rebooting", "It happens every evening since Tuesday."),
        doc(2, "Home internet problem", "The router keeps rebooting every evening."),
    ])

    assert ids(find(backend, "router")) == [1, 2]
    assert ids(find(backend, "rebooting router")) == [1, 2]


def test_solved_threads_rank_above_unsolved_ones_with_the_same_text(backend):
    text = dict(title="eSIM not activating", body="The QR code scans but nothing happens.")
    backend.index([doc(1, **text, status="solved"), doc(2, **text, status="answered"),
                   doc(3, **text, status="unanswered")])

    assert ids(find(backend, "esim activating"))[0] == 1
    assert ids(find(backend, "qr code"))[0] == 1


def test_accepted_and_endorsed_answer_text_counts_more(backend):
    answer = "Set the APN to internet.kestrel and restart the phone."
    backend.index([
        doc(1, "Mobile data not working", "No data since yesterday.", answers=answer,
            best=answer, status="answered"),
        doc(2, "Mobile data not working", "No data since yesterday.", answers=answer,
            status="answered"),
        doc(3, "Tethering question", "Hotspot is greyed out.", best="Restart the phone.",
            status="answered"),
    ])

    assert ids(find(backend, "apn restart")) == [1, 2]
    assert ids(find(backend, "hotspot restart")) == [3]


# ---- snippets ---------------------------------------------------------------------------------

TAG_RE = re.compile(r"<\s*/?\s*([a-zA-Z][^\s>/]*)")


def test_snippets_mark_the_matched_words_and_escape_everything_else(backend):
    backend.index([doc(1, "Voicemail greeting shows code",
                       "My voicemail greeting reads <script>alert(1)</script> & AT&T <b>bold</b>"
                       " since the update.")])

    snippet = find(backend, "voicemail").hits[0].snippet

    assert "<mark>voicemail</mark>" in snippet.lower()
    assert set(TAG_RE.findall(snippet)) == {"mark"}, snippet
    assert "&lt;script&gt;" in snippet and "<script" not in snippet
    assert "&lt;b&gt;" in snippet
    assert "AT&amp;T" in snippet


def test_snippets_come_from_the_answers_when_the_question_does_not_match(backend):
    backend.index([doc(1, "Cannot reach my messages", "Nothing happens when I call.",
                       answers="Dial *86 to reach voicemail <i>directly</i>.", status="answered")])

    snippet = find(backend, "voicemail").hits[0].snippet

    assert "<mark>voicemail</mark>" in snippet.lower()
    assert set(TAG_RE.findall(snippet)) == {"mark"}, snippet


def test_a_title_only_match_still_has_a_safe_plain_snippet(backend):
    backend.index([doc(1, "Voicemail", "Press <kbd>1</kbd> & nothing happens.")])

    snippet = find(backend, "voicemail").hits[0].snippet

    assert TAG_RE.findall(snippet) in ([], ["mark"], ["mark", "mark"]), snippet
    assert "&lt;kbd&gt;" in snippet and "&amp;" in snippet


# ---- query language ---------------------------------------------------------------------------

def test_a_quoted_phrase_matches_only_those_words_in_that_order(backend):
    backend.index([
        doc(1, "Before a trip", "Should I turn off roaming before I fly?"),
        doc(2, "Data abroad", "Roaming was off, so I could not turn on mobile data."),
    ])

    assert set(ids(find(backend, "turn off roaming"))) == {1, 2}
    assert ids(find(backend, '"turn off roaming"')) == [1]


def test_stop_words_typed_in_a_query_are_not_required(backend):
    # Tags are searched too, and kept whole; a stop word must not become a required tag.
    backend.index([doc(1, "How do I turn on roaming before a trip?", "Flying on Monday.",
                       tags=("roaming", "us", "on"))])

    assert ids(find(backend, "how to turn on roaming")) == [1]
    assert ids(find(backend, "roaming in the us")) == [1]
    assert ids(find(backend, "roaming", tag="us")) == [1]  # and any tag can still be filtered on
    assert ids(find(backend, "roaming", tag="on")) == [1]


@pytest.mark.parametrize("typed", [
    "how do I turn on roaming?",           # "?" is punctuation, not a one-letter wildcard
    "Roaming?",
    "roaming - how to turn it on",         # a lone dash is not a tag to require
    "turn 'roaming' on",                   # a quoted word is still a word, stemmed
    "roaming does NOT turn on",            # shouted NOT is a word, not an operator
    "Roaming AND trip",
    "roaming (before a trip)",
    "roaming ~ trip!",
])
def test_what_people_type_is_words_and_punctuation(backend, typed):
    backend.index([doc(1, "How do I turn on roaming before a trip?", "It does not turn on."),
                   doc(2, "Voicemail before a trip", "Nothing about the other thing.")])

    results = find(backend, typed)

    assert ids(results) == [1]
    assert results.suggestion is None


def test_a_suggestion_keeps_the_query_as_typed_around_the_fix(backend):
    backend.index([doc(1, "Voicemail greeting lost")])

    results = find(backend, "voicemial?")

    assert results.suggestion in ("voicemail", "voicemail?")
    assert ids(results) == [1]


@pytest.mark.parametrize("typed", ["voicem", "reset voicem", "Voicem"])
def test_the_last_word_also_matches_as_a_prefix(backend, typed):
    backend.index([doc(1, "Reset voicemail PIN", "Forgot the code."),
                   doc(2, "Reset network settings", "Nothing else helps.")])

    results = find(backend, typed)

    assert ids(results) == [1]
    assert results.suggestion is None


@pytest.mark.parametrize("typed, meant", [
    ("voicemial", "voicemail"),
    ("roamign abroad", "roaming abroad"),
])
def test_a_misspelling_suggests_a_word_from_the_index_and_searches_for_it(backend, typed, meant):
    backend.index([doc(1, "Voicemail greeting lost", "It was there last week."),
                   doc(2, "Roaming abroad", "Roaming stopped in Spain.")])

    results = find(backend, typed)

    assert results.suggestion == meant
    assert results.corrected is True
    assert ids(results) == [1 if "voice" in meant else 2]


def test_no_suggestion_when_the_query_finds_something_or_nothing_is_close(backend):
    backend.index([doc(1, "Voicemail greeting lost")])

    found = find(backend, "voicemail")
    assert (found.suggestion, found.corrected) == (None, False)
    nothing = find(backend, "qzxwv")
    assert nothing == Results([], 0)


@pytest.mark.parametrize("written, typed", [
    ("Roaming charges in Spain", "roamed"),                  # English stemming
    ("How do I activate an eSIM", "activation"),
    ("التجوال في الإمارات", "الامارات"),                      # hamza under alef
    ("شريحة جديدة لا تعمل", "شريحه"),                        # taa marbuta
    ("مشكلة في البريد الصوتي", "مُشْكِلَة"),                   # diacritics
    ("تفعيل التجوال", "تـجوال"),                              # tatweel, and the article
    ("أين رصيدي", "اين"),                                     # hamza on alef
    ("eSIM لا تعمل في دبي", "esim دبي"),                      # mixed languages
])
def test_text_is_analysed_per_language(backend, written, typed):
    backend.index([doc(1, written, "."), doc(2, "Unrelated thread", "Nothing in common.")])

    assert ids(find(backend, typed)) == [1]


# ---- similar questions ------------------------------------------------------------------------

@pytest.fixture
def roaming_and_voicemail(backend):
    backend.index([
        doc(1, "How do I turn on roaming in Spain", "Going next week.", status="answered"),
        doc(2, "Roaming not working in France", "No data in Paris.", status="solved"),
        doc(3, "Roaming charges on my bill", "Charged for roaming at home.", status="unanswered"),
        doc(4, "Voicemail PIN reset", "Forgot it.", status="solved"),
    ])
    return backend


def test_similar_puts_solved_threads_first(roaming_and_voicemail):
    hits = roaming_and_voicemail.similar("roaming abroad not working")

    found = [hit.thread_id for hit in hits]
    assert found[0] == 2
    assert set(found) <= {1, 2, 3} and 1 in found
    solved = [hit.thread_id in (2, 4) for hit in hits]
    assert solved == sorted(solved, reverse=True)  # every solved hit before every other


def test_similar_honours_exclude_and_limit(roaming_and_voicemail):
    assert 2 not in [hit.thread_id for hit in roaming_and_voicemail.similar("roaming", exclude=2)]
    assert len(roaming_and_voicemail.similar("roaming", limit=2)) == 2
    assert len(roaming_and_voicemail.similar("roaming", limit=5)) == 3


@pytest.mark.parametrize("text", ["", "   ", "the and of", "?!"])
def test_similar_to_nothing_is_nothing(roaming_and_voicemail, text):
    assert roaming_and_voicemail.similar(text) == []


# ---- rebuild and check ------------------------------------------------------------------------

def test_rebuild_replaces_everything(backend):
    backend.index([doc(1, "Roaming in Spain"), doc(2, "Voicemail PIN")])
    assert find(backend, "roaming").total == 1  # a reader is open on the old contents
    counted = []

    count = backend.rebuild(iter([doc(3, "eSIM transfer"), doc(4, "eSIM on a watch")]),
                            progress=counted.append)

    assert count == 2 and sum(counted) == 2
    assert find(backend, "roaming").total == 0
    assert find(backend, "voicemail").total == 0
    assert set(ids(find(backend, "esim"))) == {3, 4}
    assert backend.check([doc(3, ""), doc(4, "")]).clean

    assert backend.rebuild([]) == 0
    assert find(backend, "esim").total == 0
    assert backend.check([]).clean


def test_check_reports_missing_extra_and_stale_threads(backend):
    backend.index([doc(1, "Roaming in Spain"), doc(2, "Voicemail PIN"), doc(3, "eSIM transfer")])
    database = [doc(1, "Roaming in Spain"), doc(2, "Voicemail PIN", version=2),
                doc(4, "APN settings")]

    drift = backend.check(iter(database))

    assert drift == Drift(missing=[4], extra=[3], stale=[2])
    assert not drift.clean
    backend.index([database[1], database[2]])
    backend.remove([3])
    assert backend.check(database) == Drift()


# ---- in memory and on disk ------------------------------------------------------------------------

def test_an_index_in_memory_leaves_no_scratch_folders_behind(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    index = WhooshIndex.in_memory()
    for n in range(1, 6):
        index.index([doc(n, f"Roaming thread {n}")])
    index.rebuild([doc(9, "Voicemail thread")])
    assert len(os.listdir(scratch)) <= 1  # one scratch folder while the index lives

    del index
    gc.collect()

    assert os.listdir(scratch) == []



def test_an_index_on_disk_is_there_when_reopened(tmp_path):
    path = str(tmp_path / "index")
    first = WhooshIndex.on_disk(path)
    assert first.needs_rebuild  # nothing there yet: fill it from the database
    first.rebuild([doc(1, "Roaming in Spain")])
    assert first.needs_rebuild is False

    again = WhooshIndex.on_disk(path)

    assert again.needs_rebuild is False
    assert ids(find(again, "roaming")) == [1]


def _garbage(path: Path, pick) -> list[str]:
    damaged = []
    for name in sorted(os.listdir(path)):
        if pick(name):
            data = (path / name).read_bytes()
            (path / name).write_bytes(os.urandom(max(len(data), 64)))
            damaged.append(name)
    return damaged


def _truncate_toc(path: Path) -> list[str]:
    damaged = []
    for name in os.listdir(path):
        if name.startswith("_") and name.endswith(".toc"):  # _<index name>_<generation>.toc
            data = (path / name).read_bytes()
            (path / name).write_bytes(data[: len(data) // 2])
            damaged.append(name)
    return damaged


DAMAGE = {
    "garbage in every file": lambda path: _garbage(path, lambda name: "LOCK" not in name),
    "garbage in the segments": lambda path: _garbage(path, lambda name: name.endswith(".seg")),
    "truncated table of contents": _truncate_toc,
    "empty table of contents": lambda path: [(path / name).write_bytes(b"") or name
                                             for name in os.listdir(path) if name.endswith(".toc")],
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_corrupt_index_is_recreated_empty_and_flagged_for_rebuild(tmp_path, damage):
    path = tmp_path / "index"
    healthy = WhooshIndex.on_disk(str(path))
    healthy.rebuild([doc(1, "Roaming in Spain"), doc(2, "Voicemail PIN")])
    healthy.index([doc(3, "eSIM transfer")])  # a second segment
    del healthy
    gc.collect()
    assert DAMAGE[damage](path), f"nothing to damage in {os.listdir(path)}"

    reopened = WhooshIndex.on_disk(str(path))
    gc.collect()  # files the failed open left behind must have been closed (no ResourceWarning)

    assert reopened.needs_rebuild is True
    assert find(reopened, "roaming") == Results([], 0)
    assert find(reopened, "esim") == Results([], 0)
    assert reopened.check([doc(1, "")]) == Drift(missing=[1])
    assert reopened.rebuild([doc(1, "Roaming in Spain")]) == 1
    assert reopened.needs_rebuild is False
    assert ids(find(reopened, "roaming")) == [1]
    assert WhooshIndex.on_disk(str(path)).needs_rebuild is False


def test_an_index_from_an_older_schema_is_recreated_and_flagged_for_rebuild(tmp_path):
    # Whoosh keeps the schema and analyzers inside the index: an index written by an older
    # version of ours must not be searched with its old analysis.
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.filedb.filestore import FileStorage

    path = tmp_path / "index"
    path.mkdir()
    old = FileStorage(str(path)).create_index(Schema(id=ID(stored=True), title=TEXT))
    with old.writer() as writer:
        writer.add_document(id="1", title="Roaming in Spain")
    old.close()

    reopened = WhooshIndex.on_disk(str(path))

    assert reopened.needs_rebuild is True
    assert reopened.check([]).clean
    reopened.index([doc(2, "Voicemail PIN")])
    assert ids(find(reopened, "voicemail")) == [2]


def test_two_processes_can_write_to_one_folder_in_turn(tmp_path):
    # Two index objects on one folder share nothing but the files and Whoosh's file lock, as
    # two server processes would; each writes its 50 threads one commit at a time.
    path = str(tmp_path / "index")
    writers = [WhooshIndex.on_disk(path), WhooshIndex.on_disk(path)]
    start = threading.Barrier(len(writers))

    def write(n: int) -> None:
        start.wait()
        for i in range(n * 50 + 1, n * 50 + 51):
            writers[n].index([doc(i, f"Shared index thread {i}", f"Body number {i}.")])
            if i % 10 == 0:
                find(writers[n], "shared")  # and read between writes

    with ThreadPoolExecutor(len(writers)) as pool:
        for future in [pool.submit(write, n) for n in range(len(writers))]:
            future.result()

    everything = [doc(i, "") for i in range(1, 101)]
    fresh = WhooshIndex.on_disk(path)
    assert fresh.needs_rebuild is False
    for index in (fresh, *writers):
        assert index.check(everything).clean, index.check(everything)
        assert find(index, "shared").total == 100


def test_threads_searching_while_a_writer_commits_get_what_one_thread_gets(tmp_path):
    """Each thread reads through its own searcher while sharing one commit's caches; readers
    are not safe to share (a seek and a read of one file), so a shared one gives wrong hits."""
    index = WhooshIndex.on_disk(str(tmp_path / "search-index"))
    words = "roaming data bill esim signal refund voicemail hotspot bundle contract".split()
    index.index(doc(n, f"{words[n % 10]} {words[n * 7 % 10]} question {n}",
                    " ".join(words[(n + k) % 10] for k in range(n % 9)), answers=words[n % 4])
                for n in range(1, 400))
    queries = [" ".join(pair) for pair in zip(words, reversed(words))] + words
    # (Which threads match, not their order: every commit changes the statistics scores use.)
    expected = {text: (set(ids(find(index, text, limit=400))), find(index, text).total)
                for text in queries}
    start = threading.Barrier(5)

    def read(turn: int) -> list[str]:
        start.wait()
        wrong = []
        for text in queries[turn:] + queries[:turn]:
            for _ in range(5):
                got = (set(ids(find(index, text, limit=400))), find(index, text).total)
                if got != expected[text]:
                    wrong.append(text)
        return wrong

    def write() -> None:
        start.wait()
        for n in range(1000, 1030):  # new threads no query finds: the answers stay the same
            index.index([doc(n, f"unrelated words {n}")])

    with ThreadPoolExecutor(5) as pool:
        readers = [pool.submit(read, turn) for turn in range(4)]
        pool.submit(write).result()
        assert [reader.result() for reader in readers] == [[]] * 4


def test_a_read_opening_segments_a_commit_replaces_leaves_no_file_open(tmp_path, monkeypatch):
    """A commit replaces the segments while a read is opening them, one after another: the
    read gets the new commit, and the segment it had already opened is closed at once (Whoosh's
    own opening left it to the garbage collector: an open file, then a ResourceWarning)."""
    path = tmp_path / "search-index"
    index = WhooshIndex.on_disk(str(path))
    for n in range(1, 4):  # three commits: three segments
        index.index([doc(n, f"roaming question {n}")])
    real_open = FileStorage.open_file
    segments_opened, replaced = [], []

    def open_file(storage, name, *args, **kwargs):
        if name.endswith(".seg") and not replaced:
            segments_opened.append(name)
            if len(segments_opened) == 2:  # the first segment is open, the second not yet
                before = set(os.listdir(path))
                index.rebuild(doc(n, f"roaming question {n}") for n in range(1, 5))
                replaced.extend(before - set(os.listdir(path)))
        return real_open(storage, name, *args, **kwargs)

    monkeypatch.setattr(FileStorage, "open_file", open_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = sorted(ids(find(index, "roaming", limit=10)))
        gc.collect()
    assert segments_opened[1] in replaced, (segments_opened, replaced)  # the race happened
    assert found == [1, 2, 3, 4]
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_many_threads_reading_at_once_keep_few_files_open(tmp_path):
    """Each read has a searcher to itself, and each searcher holds a file per segment open: after
    a crowd of threads has searched at once, only a few searchers stay open between reads."""
    from community.search.whoosh_index import SEARCHERS_KEPT

    index = WhooshIndex.on_disk(str(tmp_path / "search-index"))
    for n in range(1, 4):  # three commits: three segments
        index.index([doc(n, f"roaming question {n}")])

    def open_files() -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd")
                   if str(tmp_path) in os.path.realpath(f"/proc/self/fd/{fd}"))

    start = threading.Barrier(40)

    def read(_: int) -> int:
        start.wait()
        return find(index, "roaming").total

    with ThreadPoolExecutor(40) as pool:
        assert list(pool.map(read, range(40))) == [3] * 40
    segments = 3
    assert 0 < open_files() <= SEARCHERS_KEPT * segments
