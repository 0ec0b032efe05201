"""The default SearchIndex: Whoosh, on disk under instance/ (or in RAM for tests).

Writers take Whoosh's index lock with a timeout, so several server processes can update the
same index in turn without corrupting it. Each read takes a searcher on the latest commit from a
small pool (opening one only when the index has changed or all are busy), so reading never waits
for a writer.
"""

from __future__ import annotations

import functools
import gc
import html
import os
import re
import shutil
import threading
import warnings
import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterable

from whoosh import writing
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.qparser import (FuzzyTermPlugin, MultifieldParser, OperatorsPlugin, PrefixPlugin,
                            QueryParser, SingleQuotePlugin, WildcardPlugin, syntax)
from whoosh.reading import ReaderClosed
from whoosh.query import And, DateRange, FuzzyTerm, NullQuery, Or, Phrase, Prefix, Term
from whoosh.spelling import Correction

from community.search.analysis import analyzer, spelling_analyzer, tags_analyzer
from community.search.documents import SearchDocument
from community.search.evaluate import Generation, View, segment_key, top
from community.search.interfaces import Drift, Hit, Results, SearchQuery
from community.search.snippets import highlight
from community.search.whoosh_storage import (ScratchRamStorage, close_searcher, close_searchers,
                                             exclusive, file_storage, latest_searcher)
from community.search.writer_process import WriterProcess

TEXT_FIELDS = ["title", "body", "answers", "best", "tags"]
SNIPPET_FIELDS = ("body", "answers")   # where snippets come from, in this order
# Solved threads first among equals; votes count a little.
SOLVED_BOOST = 1.6
RERANK_DEPTH = 60
WRITE_TIMEOUT = 30.0
SIMILAR_TERMS = 12
MAX_EDITS = 2                # word~9 asks for 9 edits, which matches nearly every term: slow
# The name the index is written under. Whoosh keeps the schema (analyzers included) inside the
# index, so a change to _schema() or to analysis.py reaches an existing index only when it is
# recreated: bump the version with such a change, and on_disk finds no index by the new name,
# recreates it and flags it for a rebuild from the database. Version 4: documents' text comes
# from documents.plain_text's tokenizer (paragraph breaks differ), so every fingerprint changed.
SCHEMA_VERSION = 4
SEARCHERS_KEPT = 8           # idle searchers kept between reads (see WhooshIndex._reading)
PARSED_QUERIES = 2048        # parsed query texts kept (parsing costs more than a cached query)
INDEX_NAME = f"community_v{SCHEMA_VERSION}"


def _schema() -> Schema:
    text = analyzer()
    return Schema(
        # id, status and score are columns too: ranking and paging read them for many hits.
        id=ID(stored=True, unique=True, sortable=True),
        title=TEXT(analyzer=text, stored=True, field_boost=3.0, spelling=True),
        body=TEXT(analyzer=text, stored=True),
        answers=TEXT(analyzer=text, stored=True),
        best=TEXT(analyzer=text, field_boost=1.5),
        tags=KEYWORD(stored=True, scorable=True, field_boost=2.0, analyzer=tags_analyzer()),
        status=ID(stored=True, sortable=True),
        author=ID(stored=True),
        created=DATETIME(stored=True, sortable=True),
        activity=DATETIME(sortable=True),
        score=NUMERIC(stored=True, sortable=True, bits=32, signed=True),
        words=TEXT(analyzer=spelling_analyzer(), spelling=True),
        fingerprint=STORED,
    )


def _plain_syntax(parser):
    """The query syntax the API documents and no more: words, "a phrase", prefix*, fuzzy~.

    Whoosh's default syntax turns what people type into something else: the "?" ending most
    questions is a one-letter wildcard (so "how do I turn on roaming?" found nothing), a word in
    'single quotes' an unanalysed literal, and a shouted NOT or AND an operator ("phone does
    NOT charge" excluded every thread about charging). Here they are punctuation and words.
    """
    for plugin in (WildcardPlugin, SingleQuotePlugin, OperatorsPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(PrefixPlugin())
    parser.add_plugin(_FuzzyTerms())
    return parser


class _FuzzyTerms(FuzzyTermPlugin):
    """word~ as Whoosh parses it, without its crash (issue 14): "a~", "~~" or "-~" name a word
    the analyzer drops (a stop word, punctuation), which Whoosh then fails to make fuzzy."""

    class FuzzyTermNode(FuzzyTermPlugin.FuzzyTermNode):
        def query(self, parser):
            q = syntax.TextNode.query(self, parser)
            if isinstance(q, FuzzyTerm):  # (a word the analyzer splits stays plain words)
                q.maxdist = min(self.maxdist, MAX_EDITS)
                q.prefixlength = min(self.prefixlength, len(q.text))  # "ab~/6" failed too
            return q


def _parse_safely(parser, text: str):
    """Whoosh's parse, or the text as plain words where its parser fails on what was typed:
    search syntax is a convenience, and a typo in it is no reason to find nothing."""
    try:
        return parser.parse(text)
    except Exception:  # the parser is third-party code fed arbitrary text
        return parser.parse(" ".join(_WORD.findall(text)))


_WORD = re.compile(r"\w+")


def _naive(moment: datetime) -> datetime:
    """Whoosh stores naive datetimes; ours are aware UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _fields(doc: SearchDocument) -> dict:
    return dict(id=str(doc.id), title=doc.title, body=doc.body, answers=doc.answers, best=doc.best,
                tags=",".join(doc.tags), status=doc.status, author=doc.author,
                created=_naive(doc.created), activity=_naive(doc.activity), score=doc.score,
                words=f"{doc.title}\n{doc.body}\n{doc.answers}", fingerprint=doc.fingerprint)


class WhooshIndex:
    def __init__(self, storage, index, *, needs_rebuild: bool, file_lock: bool = True,
                 writer: WriterProcess | None = None, path: str | None = None) -> None:
        self._storage = storage
        self._path = path
        self._file_lock = file_lock
        self._ix = index
        # Where index() and remove() go when a child process writes (see writer_process.py).
        self._writer = writer
        if writer is not None:
            weakref.finalize(self, writer.close)
        # Searchers of the latest commit not in use, kept for the next reads (see _reading()).
        self._idle: list = []
        self._idle_lock = threading.Lock()
        weakref.finalize(self, close_searchers, self._idle)
        # Threads of one process take turns here; processes take turns on Whoosh's file lock.
        self._write_lock = threading.Lock()
        self.needs_rebuild = needs_rebuild
        self._parser = _plain_syntax(MultifieldParser(TEXT_FIELDS, index.schema))
        self._words = _plain_syntax(QueryParser("words", index.schema))
        self._parsed: dict[str, object] = {}
        # Evaluation caches (search/evaluate.py): per segment (segments never change) and per
        # searcher contents (statistics and scores change with every commit).
        self._segments: dict = {}
        self._generations: dict = {}
        self._generations_lock = threading.Lock()

    @classmethod
    def on_disk(cls, path: str, *, writer_process: bool = False) -> WhooshIndex:
        """Open the index at `path`; a missing or unreadable one is recreated, empty, and flagged
        for a rebuild from the database rather than crashing the server. With `writer_process`,
        index() and remove() are done by a child process (rebuild() stays in this one)."""
        writer = WriterProcess(path) if writer_process else None
        os.makedirs(path, exist_ok=True)
        storage = file_storage(path)
        # Whoosh leaves the files of a half-opened corrupt segment to the garbage collector (its
        # reader keeps the exception in a reference cycle): collect them here, quietly, rather
        # than as ResourceWarnings at some later moment.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                index = storage.open_index(INDEX_NAME)
                index.doc_count()  # touch the segments: a corrupt file fails here, not mid-request
                return cls(storage, index, needs_rebuild=False, writer=writer, path=path)
            except Exception:  # empty dir, truncated or corrupt files, an old schema version
                pass
            gc.collect()
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)
        storage = file_storage(path)
        return cls(storage, storage.create_index(_schema(), INDEX_NAME), needs_rebuild=True,
                   writer=writer, path=path)

    @classmethod
    def in_memory(cls) -> WhooshIndex:
        # One process only: the thread lock below is all the locking a RAM index needs.
        storage = ScratchRamStorage()
        return cls(storage, storage.create_index(_schema(), INDEX_NAME), needs_rebuild=False,
                   file_lock=False)

    # ---- writing ------------------------------------------------------------------------------

    @contextmanager
    def _writing(self, **commit_options):
        """A writer holding Whoosh's index lock; committed on success, cancelled (and the lock
        released) on any error, so a failed write can never leave the index locked."""
        with self._write_lock:
            writer = self._ix.writer(timeout=WRITE_TIMEOUT, _lk=self._file_lock)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(**commit_options)

    def index(self, documents: Iterable[SearchDocument]) -> None:
        # update_document only replaces committed copies: a thread twice in one batch would be
        # indexed twice, so keep its last version.
        documents = list({doc.id: doc for doc in documents}.values())
        if documents and self._writer is not None:
            self._writer.call("index", documents)
        elif documents:
            with self._writing() as writer:
                for doc in documents:
                    writer.update_document(**_fields(doc))

    def remove(self, thread_ids: Iterable[int]) -> None:
        thread_ids = list(thread_ids)
        if thread_ids and self._writer is not None:
            self._writer.call("remove", thread_ids)
        elif thread_ids:
            with self._writing() as writer:
                for thread_id in thread_ids:
                    writer.delete_by_term("id", str(thread_id))

    def maintenance(self):
        """Whole-index work one process at a time: a context yielding False elsewhere."""
        return exclusive(self._path)

    def rebuild(self, documents: Iterable[SearchDocument],
                progress: Callable[[int], None] | None = None) -> int:
        count = 0
        # CLEAR replaces every old segment at once when the new ones are committed.
        with self._writing(mergetype=writing.CLEAR) as writer:
            for doc in documents:
                writer.add_document(**_fields(doc))
                count += 1
                if progress:
                    progress(1)
        self.needs_rebuild = False
        return count

    # ---- reading ------------------------------------------------------------------------------

    @contextmanager
    def _reading(self):
        """A searcher on the latest commit, to this read alone: Whoosh's readers are not safe to
        share between threads (they seek and read one file). Up to SEARCHERS_KEPT wait between
        reads; the others are closed when their read ends, since each holds one open file per
        segment (300 server threads each keeping one would pass the usual limit of 1,024).

        A changed index gets new searchers rather than Whoosh's `refresh()`: in Whoosh-Reloaded
        2.7.5 that adds the old reader's segments back to the new ones and reuses segment readers
        with their old deletions, so replaced, removed and rebuilt-away documents were found
        again (and it raises TypeError when the old reader was an empty index's).
        """
        generation = self._ix.latest_generation()
        searcher, stale = None, []
        with self._idle_lock:
            while self._idle and searcher is None:
                kept = self._idle.pop()
                if kept.reader().generation() == generation:
                    searcher = kept
                else:
                    stale.append(kept)
        for kept in stale:
            close_searcher(kept)
        if searcher is None:
            searcher = latest_searcher(self._ix)
        try:
            yield searcher
        except BaseException:
            close_searcher(searcher)  # it may be what failed: a reader closed, a file merged away
            raise
        with self._idle_lock:
            if len(self._idle) < SEARCHERS_KEPT:
                self._idle.append(searcher)
                return
        close_searcher(searcher)

    def _view(self, searcher) -> View:
        """`searcher`'s view of its commit, with the evaluation caches every thread that sees the
        same commit shares (a searcher opened just after a commit gets its own)."""
        reader = searcher.reader()
        key = (reader.generation(), tuple(segment_key(leaf) for leaf, _ in reader.leaf_readers()))
        generation = self._generations.get(key)
        if generation is None:
            generation = Generation(searcher, self._segments)
            with self._generations_lock:
                self._generations[key] = generation
                while len(self._generations) > 2:  # this commit's and, briefly, the one before
                    self._generations.pop(next(iter(self._generations)))
                live = {segment_key(leaf) for leaf, _ in reader.leaf_readers()}
                for stale in [k for k in self._segments if k not in live]:
                    if not any(stale in k[1] for k in self._generations):
                        self._segments.pop(stale, None)
        return View(generation, searcher)

    def _filters(self, query: SearchQuery) -> list:
        terms = []
        if query.status:
            terms.append(Term("status", query.status))
        if query.tag:
            terms.append(Term("tags", query.tag.casefold()))
        if query.author:
            terms.append(Term("author", query.author.casefold()))
        if query.since or query.until:
            terms.append(DateRange("created", query.since and _naive(query.since),
                                   query.until and _naive(query.until)))
        return terms

    def _parse(self, text: str):
        """The query as typed, its last word also matching as a prefix (people are still typing).
        Parsed once per text: Whoosh's parser costs about a millisecond."""
        parsed = self._parsed.get(text)
        if parsed is None:
            parsed = self._parse_new(text)
            if len(self._parsed) >= PARSED_QUERIES:
                self._parsed.clear()
            self._parsed[text] = parsed
        return parsed

    def _parse_new(self, text: str):
        words = text.split()
        last = words[-1] if words else ""
        if not (last.isalnum() and len(last) >= 3 and text.count('"') % 2 == 0):
            return _parse_safely(self._parser, text)
        # Only the last word gets the alternative. (Or-ing the whole query with a copy of itself
        # ending in word* did every other word's work twice, and counting the hits three times.)
        word = _parse_safely(self._parser, last)
        if word is not NullQuery:  # not a stop word
            word = Or([word, _parse_safely(self._parser, last.lower() + "*")])
        if len(words) == 1:
            return word
        return And([_parse_safely(self._parser, " ".join(words[:-1])), word]).normalize()

    def _fresh_on_closed(method):
        """Run a read again on a new searcher if its readers were closed, or a concurrent commit
        merged away a segment file it was about to open (Whoosh raises ReaderClosed; RamStorage
        NameError and file storage OSError for the missing file)."""

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (ReaderClosed, NameError, OSError):
                return method(self, *args, **kwargs)  # (_reading() closed the failed searcher)

        return wrapper

    @_fresh_on_closed
    def search(self, query: SearchQuery) -> Results:
        text = query.text.strip()
        if not text:
            return Results([], 0)
        with self._reading() as searcher:
            parsed = self._parse(text)
            hits, total = self._run(searcher, parsed, query)
            if total:
                return Results(hits, total)
            # Nothing found: suggest the nearest real words the index has ("did you mean").
            corrected = _correction(searcher, _parse_safely(self._words, text), text)
            if corrected == text:
                return Results([], 0)
            hits, total = self._run(searcher, self._parse(corrected), query)
            return Results(hits, total, suggestion=corrected, corrected=bool(total))

    def _run(self, searcher, parsed, query: SearchQuery) -> tuple[list[Hit], int]:
        """One page of hits and the exact number of matches, evaluated in bulk
        (search/evaluate.py) on this commit's caches."""
        view = self._view(searcher)
        matches = view.evaluate(parsed)
        allowed = None
        for condition in self._filters(query):
            docs = view.docs(condition)
            allowed = docs if allowed is None else allowed & docs
        window = query.offset + query.limit
        if query.sort == "recent":
            ranked, total = top(matches, allowed, window, key=view.column_array("activity"))
        else:
            best, total = top(matches, allowed, max(RERANK_DEPTH, window))
            ranked = sorted(((docnum, self._rank(view, docnum, score)) for docnum, score in best),
                            key=lambda pair: (-pair[1], -int(view.column("id", pair[0]))))
        page = ranked[query.offset:window]
        if not page:
            return [], total
        terms = _highlight_terms(searcher, parsed)
        return [Hit(int(view.column("id", docnum)), score,
                    _snippet(searcher.stored_fields(docnum), terms))
                for docnum, score in page], total

    @staticmethod
    def _rank(view: View, docnum: int, score: float) -> float:
        boost = SOLVED_BOOST if view.column("status", docnum) == "solved" else 1.0
        votes = view.column("score", docnum) or 0
        return score * boost * (1 + 0.02 * max(0, min(votes, 25)))

    @_fresh_on_closed
    def similar(self, text: str, limit: int = 5, exclude: int | None = None) -> list[Hit]:
        """Threads like a title still being typed: any of its words, titles counting most;
        solved threads first."""
        # The first distinct words are enough to find look-alikes, and keep the query small.
        terms = list(dict.fromkeys(token.text for token in self._ix.schema["title"].analyzer(text)))
        terms = terms[:SIMILAR_TERMS]
        if not terms:
            return []
        query = Or([Term(field, term, boost=boost) for term in terms
                    for field, boost in (("title", 3.0), ("body", 1.0), ("best", 1.0))])
        with self._reading() as searcher:
            view = self._view(searcher)
            matches = view.evaluate(query)
            if exclude is not None:
                excluded = searcher.document_number(id=str(exclude))
                if excluded is not None:
                    matches.hit[excluded] = False
            best, _ = top(matches, None, limit * 4)
            if not best:
                return []
            floor = best[0][1] * 0.25  # drop matches on one stray common word
            ranked = sorted((pair for pair in best if pair[1] >= floor),
                            key=lambda pair: (view.column("status", pair[0]) != "solved",
                                              -pair[1]))
            return [Hit(int(view.column("id", docnum)), score, "")
                    for docnum, score in ranked[:limit]]

    def check(self, documents: Iterable[SearchDocument]) -> Drift:
        with self._reading() as searcher:
            indexed = {int(fields["id"]): fields.get("fingerprint")
                       for fields in searcher.all_stored_fields()}
        wanted = {doc.id: doc.fingerprint for doc in documents}
        return Drift(missing=sorted(set(wanted) - set(indexed)),
                     extra=sorted(set(indexed) - set(wanted)),
                     stale=sorted(i for i in set(wanted) & set(indexed) if wanted[i] != indexed[i]))


def _correction(searcher, parsed, text: str) -> str:
    """`text` with its misspelt words replaced by the nearest the index knows ("did you mean").

    Whoosh writes the correction back into the text at each word's place, and fails on a word
    the analyzer splits in several ("%FF%FE", an address), whose parts have no place: those
    parts keep their spelling. Queries Whoosh cannot correct at all (a range, say) get none."""
    try:
        correction = searcher.correct_query(parsed, "")
    except Exception:  # third-party code on arbitrary queries; a suggestion is a nicety
        return text
    placed = [token for token in correction.tokens
              if token.startchar is not None and token.endchar is not None]
    return Correction(parsed, text, correction.query, placed).string


def _highlight_terms(searcher, parsed) -> dict[str, tuple[frozenset, tuple]]:
    """The analysed words (and typed prefixes) a query looks for in the snippet fields."""
    words: dict[str, set] = {field: set() for field in SNIPPET_FIELDS}
    prefixes: dict[str, list] = {field: [] for field in SNIPPET_FIELDS}
    for leaf in parsed.leaves():
        field = getattr(leaf, "fieldname", None)
        if field not in words:
            continue
        if isinstance(leaf, Prefix):
            prefixes[field].append(leaf.text.lower())
        elif type(leaf) is Term:
            words[field].add(leaf.text)
        elif isinstance(leaf, Phrase):
            words[field].update(leaf.words)
        else:  # fuzzy terms and the like: the words they stand for in this index
            schema_field = searcher.schema[field]
            words[field].update(schema_field.from_bytes(text) for name, text in
                                leaf.existing_terms(searcher.reader(), expand=True)
                                if name == field)
    return {field: (frozenset(words[field]), tuple(prefixes[field])) for field in SNIPPET_FIELDS}


def _snippet(stored: dict, terms: dict[str, tuple[frozenset, tuple]]) -> str:
    """A highlighted extract from the question or the answers; plain text made safe either way."""
    for field in SNIPPET_FIELDS:
        fragment = highlight(stored.get(field) or "", *terms[field])
        if fragment:
            return fragment
    # The body is plain text: text that looks like a tag is what the user wrote, so escape it.
    return html.escape(stored.get("body", "")[:220], quote=False)
