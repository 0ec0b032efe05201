"""Runs parsed Whoosh queries in bulk over Whoosh's own posting lists, with caches.

Whoosh's matchers walk every matching document through a tree of Python objects (an And of an
Or per word of five field terms), scoring one document at a time, and then walk them all again
to count them. On a forum whose support questions share a small vocabulary a typical query
matches thousands of threads, so that cost 60-80 ms a query at 20,000 threads. Here the same
query tree is evaluated a posting list at a time: each term's postings are read once per
segment (segments never change, only their deletions), scored with Whoosh's BM25F formula and
the index's global statistics into a {docnum: score} dict, and the tree's And/Or become dict and
set operations that run in C. Counting is then the size of the result, and the top hits a
heap over it. Query types this module does not know (phrases, fuzzy terms, ranges) are run by
Whoosh itself and joined in, so the query language stays Whoosh's.

A `View` belongs to one index generation: its statistics and caches are valid until the next
commit, when the index opens a new searcher and a new View (segment caches carry over).
"""

from __future__ import annotations

import heapq
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from itertools import accumulate, repeat
from operator import add, itemgetter, mul, truediv

from whoosh import query as wq
from whoosh.scoring import BM25F

# Bytes the score caches of one commit's View may take (roughly; see _size()).
CACHE_BYTES = 64_000_000
SEGMENT_POSTINGS = 4_000      # posting lists kept per segment
RAW_COLUMNS = {"activity", "created"}


class SegmentCache:
    """What never changes in one segment: term postings and per-document columns."""

    def __init__(self) -> None:
        self.postings: OrderedDict = OrderedDict()
        self.lengths: dict[str, list[int]] = {}
        self.columns: dict[str, list] = {}
        self.lock = threading.Lock()

    def term(self, reader, field: str, btext: bytes) -> tuple[array, array]:
        key = (field, btext)
        found = self.postings.get(key)
        if found is not None:
            return found
        ids = array("I")
        weights = array("f")
        if (field, btext) in reader:
            # The segment's raw postings (deletions are applied per generation by the View).
            terms = getattr(reader, "_terms", None)
            if terms is not None and hasattr(terms, "matcher"):
                matcher = terms.matcher(field, btext, reader.schema[field].format, scorer=None)
            else:
                matcher = reader.postings(field, btext)
            block_reads = all(hasattr(matcher, name) for name in
                              ("_data", "_read_data", "_byteids", "_read_weights",
                               "_next_block", "_lastblock"))
            if block_reads:
                while matcher.is_active():
                    if matcher._data is None:
                        matcher._read_data()
                    # Block ids are stored as gaps; Whoosh adds them up in a Python generator.
                    ids.extend(matcher._data[0] if matcher._byteids
                               else accumulate(matcher._data[0]))
                    matcher._read_weights()
                    weights.extend(matcher._weights)
                    if matcher._lastblock:
                        break
                    matcher._next_block()
            else:  # another codec: one posting at a time
                while matcher.is_active():
                    ids.append(matcher.id())
                    weights.append(matcher.weight())
                    matcher.next()
        found = (ids, weights)
        with self.lock:
            self.postings[key] = found
            while len(self.postings) > SEGMENT_POSTINGS:
                self.postings.popitem(last=False)
        return found

    def field_lengths(self, reader, field: str) -> list[int]:
        found = self.lengths.get(field)
        if found is None:
            length = reader.doc_field_length
            found = [length(docnum, field, 1) for docnum in range(reader.doc_count_all())]
            self.lengths[field] = found
        return found

    def column(self, reader, name: str) -> list:
        found = self.columns.get(name)
        if found is None:
            if reader.has_column(name):
                # Raw values where only their order matters (datetimes are slow to translate).
                column = reader.column_reader(name, translate=name not in RAW_COLUMNS)
                found = [column[docnum] for docnum in range(reader.doc_count_all())]
            else:
                found = [None] * reader.doc_count_all()
            self.columns[name] = found
        return found


def _deleted(reader) -> frozenset[int]:
    if not reader.has_deletions():
        return frozenset()
    found = getattr(reader, "deleted_docs_set", None)
    if found is not None:
        return frozenset(found)
    return frozenset(docnum for docnum in range(reader.doc_count_all())
                     if reader.is_deleted(docnum))


def segment_key(reader) -> object:
    segment = getattr(reader, "segment", lambda: None)()
    return segment.segment_id() if segment is not None else id(reader)


class View:
    """One generation of the index, seen through one searcher at a time."""

    def __init__(self, searcher, segments: dict) -> None:
        reader = searcher.reader()
        self.leaves = [(leaf, offset, segments.setdefault(segment_key(leaf), SegmentCache()))
                       for leaf, offset in reader.leaf_readers()]
        self.deleted = [_deleted(leaf) for leaf, _, _ in self.leaves]
        self.doc_count = reader.doc_count_all()
        weighting = searcher.weighting
        self.bm25 = isinstance(weighting, BM25F)
        self.B = getattr(weighting, "B", 0.75)
        self.K1 = getattr(weighting, "K1", 1.2)
        self.field_B = getattr(weighting, "_field_B", {})
        self._cache: OrderedDict = OrderedDict()
        self._cached = 0
        self._norm_cache: dict = {}
        self._lock = threading.Lock()

    # ---- caching ------------------------------------------------------------------------------

    def _get(self, key):
        try:
            found = self._cache[key]
        except (KeyError, TypeError):
            return None
        try:
            self._cache.move_to_end(key)
        except KeyError:  # another thread pushed it out meanwhile
            pass
        return found

    def _put(self, key, value):
        try:
            hash(key)
        except TypeError:
            return value
        size = _size(value)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = value
                self._cached += size
                while self._cached > CACHE_BYTES and len(self._cache) > 1:
                    _, old = self._cache.popitem(last=False)
                    self._cached -= _size(old)
        return value

    # ---- evaluation ---------------------------------------------------------------------------

    def scores(self, searcher, q) -> dict[int, float]:
        """{docnum: score} of every (undeleted) document matching `q`, scored as Whoosh would."""
        if type(q) is wq.Term:  # cached in term()
            scores = self.term(searcher, q.fieldname, q.text)
            if q.boost != 1.0:
                scores = dict(zip(scores, map(mul, scores.values(), repeat(q.boost))))
            return scores
        key = ("q", q)
        found = self._get(key)
        if found is None:
            found = self._put(key, self.evaluate(searcher, q))
        return found

    def evaluate(self, searcher, q) -> dict[int, float]:
        """As scores(), but `q` itself is not cached (its parts are): a whole query typed once
        would only push out the words that many queries share."""
        boost = getattr(q, "boost", 1.0)
        if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
            return {}
        if type(q) is wq.Term:
            out = self.term(searcher, q.fieldname, q.text)
        elif type(q) is wq.And:
            out = self._and(searcher, q.subqueries)
        elif type(q) is wq.Or and not q.minmatch and q.scale is None:
            out = _union([self.scores(searcher, sub) for sub in q.subqueries])
        elif type(q) in (wq.Prefix,):
            reader = searcher.reader()
            parts = [self.term(searcher, q.fieldname, btext) for btext in q._btexts(reader)]
            out = _union(parts)
        else:  # phrases, fuzzy terms, ranges...: Whoosh's own matchers, every match
            return _every_match(searcher, q)
        if boost != 1.0 and out:
            out = {docnum: score * boost for docnum, score in out.items()}
        return out

    def _and(self, searcher, subqueries) -> dict[int, float]:
        """Documents matching every part, the sum of the parts' scores. A part that is an Or
        (a word in each field) is not summed up over all its documents first: the documents
        every part has are found with set operations, and only those are scored."""
        groups = []
        for sub in subqueries:
            if type(sub) is wq.Or and not sub.minmatch and sub.scale is None \
                    and getattr(sub, "boost", 1.0) == 1.0:
                groups.append([part for part in (self.scores(searcher, child)
                                                 for child in sub.subqueries) if part])
            else:
                part = self.scores(searcher, sub)
                groups.append([part] if part else [])
        if not groups or not all(groups):
            return {}
        if len(groups) == 1 and len(groups[0]) == 1:
            return groups[0][0]
        docsets = sorted((group[0].keys() if len(group) == 1 else set().union(*group)
                          for group in groups), key=len)
        common = set(docsets[0]).intersection(*docsets[1:])
        parts = [part for group in groups for part in group]
        if len(groups) == 1:  # one word: its fields summed
            return _union(parts)
        out = dict.fromkeys(common, 0.0)
        for part in parts:
            for docnum in (part.keys() & common if len(part) > len(common) else
                           [docnum for docnum in part if docnum in out]):
                out[docnum] += part[docnum]
        return out

    def term(self, searcher, field: str, text) -> dict[int, float]:
        try:
            btext = searcher.schema[field].to_bytes(text) if isinstance(text, str) else text
        except (KeyError, ValueError):
            return {}
        key = ("t", field, btext)
        found = self._get(key)
        if found is not None:
            return found
        # Terms pushed out of the cache as dicts stay longer as two arrays (12 bytes a posting,
        # not ~90): made a dict again in C.
        compact = self._get(("c", field, btext))
        if compact is not None:
            return self._put(key, dict(zip(*compact)))
        out: dict[int, float] = {}
        if (field, btext) not in searcher.reader():  # as Whoosh's Term: no statistics to score
            return out
        scorable = searcher.schema[field].scorable
        if self.bm25 and scorable:
            idf = searcher.idf(field, btext)
            avgfl = searcher.avg_field_length(field) or 1
            B = self.field_B.get(field, self.B)
            K1 = self.K1
            top = idf * (K1 + 1)
            c1 = K1 * (1 - B)
            c2 = K1 * B / avgfl
        elif scorable or not self.bm25:  # another weighting model: Whoosh scores it
            return self._put(key, _every_match(searcher, wq.Term(field, text)))
        for (leaf, offset, cache), deleted in zip(self.leaves, self.deleted):
            ids, weights = cache.term(leaf, field, btext)
            if not ids:
                continue
            docnums = map(add, ids, repeat(offset)) if offset else ids
            if self.bm25 and scorable:
                # Whoosh's bm25(): idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * fl / avgfl)),
                # a posting list at a time in C (map and operator) rather than a loop per posting.
                norms = self._norms(leaf, offset, cache, field, c1, c2)
                lengths = itemgetter(*ids)(norms) if len(ids) > 1 else (norms[ids[0]],)
                out.update(zip(docnums, map(truediv, map(mul, weights, repeat(top)),
                                            map(add, weights, lengths))))
            else:
                out.update(zip(docnums, weights))
            for docnum in deleted:
                out.pop(offset + docnum, None)
        self._put(("c", field, btext), (array("I", out), array("d", out.values())))
        return self._put(key, out)

    def _norms(self, leaf, offset, cache, field, c1, c2) -> list[float]:
        """K1 * (1 - B + B * fl / avgfl) of every document in a segment, for this generation."""
        key = ("n", offset, field)
        found = self._norm_cache.get(key)
        if found is None:
            # (A document with no words in the field has no postings in it: length None.)
            found = [c1 + c2 * (length or 0) for length in cache.field_lengths(leaf, field)]
            self._norm_cache[key] = found
        return found

    def docs(self, searcher, q) -> frozenset[int]:
        """The documents matching a filter query (cached for the generation)."""
        key = ("f", q)
        found = self._get(key)
        if found is None:
            found = self._put(key, frozenset(searcher.docs_for_query(q)))
        return found

    def column(self, name: str, docnum: int):
        for leaf, offset, cache in reversed(self.leaves):
            if docnum >= offset:
                return cache.column(leaf, name)[docnum - offset]
        raise IndexError(docnum)

    def column_key(self, name: str):
        """A function docnum → column value (for sorting many documents)."""
        columns = [(offset, cache.column(leaf, name)) for leaf, offset, cache in self.leaves]
        if len(columns) == 1:
            return columns[0][1].__getitem__
        offsets = [offset for offset, _ in columns]

        def value(docnum: int):
            from bisect import bisect_right
            offset, column = columns[bisect_right(offsets, docnum) - 1]
            return column[docnum - offset]

        return value


def _size(value) -> int:
    """A cache entry's cost in bytes, roughly: a posting in arrays 12, in a dict or set ~90."""
    if isinstance(value, tuple):
        return 12 * len(value[0]) + 64
    return 90 * len(value) + 64


def _every_match(searcher, q) -> dict[int, float]:
    results = searcher.search(q, limit=None)
    return {docnum: score for score, docnum in results.top_n}


def _union(parts: list[dict[int, float]]) -> dict[int, float]:
    parts = [part for part in parts if part]
    if not parts:
        return {}
    if len(parts) == 1:
        return parts[0]
    parts.sort(key=len, reverse=True)
    out = dict(parts[0])
    get = out.get
    for part in parts[1:]:
        for docnum, score in part.items():
            out[docnum] = get(docnum, 0.0) + score
    return out


def top(scores: dict[int, float], allowed: Iterable[int] | None, depth: int,
        key=None) -> tuple[list[tuple[int, float]], int]:
    """The best `depth` (docnum, score) pairs (by score, or by `key`) and how many matched."""
    if allowed is not None:
        scores = {docnum: scores[docnum] for docnum in scores.keys() & allowed}
    if key is None:
        # Whoosh's order among equal scores: the lower document number first.
        best = heapq.nsmallest(depth, scores.items(), key=lambda pair: (-pair[1], pair[0]))
    else:
        best = [(docnum, scores[docnum]) for docnum in heapq.nlargest(depth, scores, key=key)]
    return best, len(scores)
