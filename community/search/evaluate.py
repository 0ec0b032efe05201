"""Runs parsed Whoosh queries in bulk over Whoosh's own posting lists, as numpy arrays.

Whoosh's matchers walk every matching document through a tree of Python objects (an And of an
Or per word of five field terms), scoring one document at a time, and then walk them all again
to count them. On a forum whose support questions share a small vocabulary a typical query
matches thousands of threads, so that cost grows with the forum. Here the same
query tree is evaluated a posting list at a time: each term's postings are read once per
segment (segments never change, only their deletions), scored with Whoosh's BM25F formula and
the index's global statistics, and the tree's And/Or become operations on arrays with one slot
per document. Counting is then a sum, and the top hits a partial sort.

Phrases are scored as Whoosh scores them (the sum of their words' scores where the words stand
in order); where they stand in order is asked of Whoosh's span matchers once per segment.
Query types this module does not know (fuzzy terms, ranges) are run by Whoosh itself and
joined in, so the query language stays Whoosh's. A prefix (`word*`) scores as the words it
stands for, not Whoosh's constant score, so a finished last word still ranks by how well it
matches.

A `Generation` belongs to one commit: its statistics and caches are valid until the next
commit, when the index opens new searchers and a new Generation (segment caches carry over).
Each search sees it through a `View` bound to its thread's searcher.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from whoosh import query as wq
from whoosh.scoring import BM25F

# Bytes the scored terms and Whoosh-run results of one commit's Generation may take.
CACHE_BYTES = 64_000_000
SEGMENT_POSTINGS = 4_000      # posting lists (and phrase matches) kept per segment
RAW_COLUMNS = {"activity", "created"}
_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_SCORES = np.zeros(0, dtype=np.float64)


@dataclass(slots=True)
class Matches:
    """Which documents of a View match, and their scores (0.0 where they do not)."""

    hit: np.ndarray     # bool, one per document number
    score: np.ndarray   # float64, one per document number

    @classmethod
    def none(cls, size: int) -> Matches:
        return cls(np.zeros(size, dtype=bool), np.zeros(size, dtype=np.float64))

    @classmethod
    def of(cls, size: int, docnums: np.ndarray, scores: np.ndarray) -> Matches:
        out = cls.none(size)
        out.hit[docnums] = True
        out.score[docnums] = scores
        return out

    def count(self) -> int:
        return int(np.count_nonzero(self.hit))


class SegmentCache:
    """What never changes in one segment: term postings, phrase matches and columns."""

    def __init__(self) -> None:
        self.postings: OrderedDict = OrderedDict()
        self.lengths: dict[str, np.ndarray] = {}
        self.columns: dict[str, list] = {}
        self.lock = threading.Lock()

    def _remember(self, key, value):
        with self.lock:
            self.postings[key] = value
            while len(self.postings) > SEGMENT_POSTINGS:
                self.postings.popitem(last=False)
        return value

    def term(self, reader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """The segment's raw postings of a term: document numbers (in the segment) and weights.
        Deletions are applied per generation by the View."""
        key = (field, btext)
        found = self.postings.get(key)
        if found is not None:
            return found
        ids = array("I")
        weights = array("f")
        if (field, btext) in reader:
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
        found = (np.frombuffer(ids, dtype=np.uint32).astype(np.int64),
                 np.frombuffer(weights, dtype=np.float32).astype(np.float64))
        return self._remember(key, found)

    def phrase(self, leaf_searcher, q: wq.Phrase) -> np.ndarray:
        """The segment's documents where the phrase's words stand in order (Whoosh's spans)."""
        key = ("phrase", q.fieldname, tuple(q.words), q.slop)
        found = self.postings.get(key)
        if found is None:
            matcher = wq.Phrase(q.fieldname, q.words, slop=q.slop).matcher(leaf_searcher)
            found = self._remember(key, np.fromiter(matcher.all_ids(), dtype=np.int64))
        return found

    def field_lengths(self, reader, field: str) -> np.ndarray:
        found = self.lengths.get(field)
        if found is None:
            length = reader.doc_field_length
            # (A document with no words in the field has no postings in it: length None.)
            found = np.array([length(docnum, field, 1) or 0
                              for docnum in range(reader.doc_count_all())], dtype=np.float64)
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


def _deleted(reader) -> np.ndarray:
    if not reader.has_deletions():
        return _EMPTY_IDS
    found = getattr(reader, "deleted_docs_set", None)
    if found is None:
        found = (docnum for docnum in range(reader.doc_count_all()) if reader.is_deleted(docnum))
    return np.fromiter(found, dtype=np.int64)


def segment_key(reader) -> object:
    segment = getattr(reader, "segment", lambda: None)()
    return segment.segment_id() if segment is not None else id(reader)


class Generation:
    """What one commit's searchers share: which documents are live, the scoring parameters,
    and the terms scored with this commit's statistics (an LRU of about CACHE_BYTES)."""

    def __init__(self, searcher, segments: dict) -> None:
        reader = searcher.reader()
        self.segments = [(offset, segments.setdefault(segment_key(leaf), SegmentCache()))
                         for leaf, offset in reader.leaf_readers()]
        self.size = reader.doc_count_all()
        self.live = np.ones(self.size, dtype=bool)
        for leaf, offset in reader.leaf_readers():
            self.live[_deleted(leaf) + offset] = False
        weighting = searcher.weighting
        self.bm25 = isinstance(weighting, BM25F)
        self.B = getattr(weighting, "B", 0.75)
        self.K1 = getattr(weighting, "K1", 1.2)
        self.field_B = getattr(weighting, "_field_B", {})
        self.norms: dict = {}
        self._cache: OrderedDict = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def get(self, key):
        try:
            value, _ = self._cache[key]
        except (KeyError, TypeError):
            return None
        try:
            self._cache.move_to_end(key)
        except KeyError:  # another thread pushed it out meanwhile
            pass
        return value

    def put(self, key, value, size: int):
        try:
            hash(key)
        except TypeError:
            return value
        with self._lock:
            if key not in self._cache:
                self._cache[key] = (value, size)
                self._cached += size
                while self._cached > CACHE_BYTES and len(self._cache) > 1:
                    _, (_, old) = self._cache.popitem(last=False)
                    self._cached -= old
        return value


class View:
    """One generation of the index, seen through one thread's searcher: Whoosh's readers are not
    safe to share between threads (they seek and read one file), the generation's caches are."""

    def __init__(self, generation: Generation, searcher) -> None:
        self.generation = generation
        self.searcher = searcher
        self.size = generation.size
        self.leaves = [(leaf, offset, cache) for (leaf, offset), (_, cache)
                       in zip(searcher.reader().leaf_readers(), generation.segments)]

    # ---- evaluation ---------------------------------------------------------------------------

    def evaluate(self, q) -> Matches:
        """Every (undeleted) document matching `q`, scored as Whoosh would."""
        if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
            return Matches.none(self.size)
        kind = type(q)
        if kind is wq.Term:
            out = Matches.of(self.size, *self.term(q.fieldname, q.text))
        elif kind is wq.And:
            out = self._and([self.evaluate(sub) for sub in q.subqueries])
        elif kind is wq.Or and not q.minmatch and q.scale is None:
            out = self._or([self.evaluate(sub) for sub in q.subqueries])
        elif kind is wq.Prefix:
            out = self._or([Matches.of(self.size, *self.term(q.fieldname, btext))
                            for btext in self._expand(q)])
        elif kind is wq.Phrase and self.generation.bm25:
            out = self._phrase(q)
        else:  # fuzzy terms, ranges...: Whoosh's own matchers, every match
            return self._whoosh(q)
        boost = getattr(q, "boost", 1.0)
        if boost != 1.0:
            out.score *= boost
        return out

    def _or(self, parts: list[Matches]) -> Matches:
        """Documents matching any part; the sum of the scores of the parts they match."""
        if len(parts) == 1:
            return parts[0]
        out = Matches.none(self.size)
        for part in parts:
            out.hit |= part.hit
            out.score += part.score
        return out

    def _and(self, parts: list[Matches]) -> Matches:
        """Documents matching every part; the sum of the parts' scores."""
        if len(parts) == 1:
            return parts[0]
        out = Matches.none(self.size)
        out.hit[:] = True
        for part in parts:
            out.hit &= part.hit
            out.score += part.score
        out.score[~out.hit] = 0.0
        return out

    def _expand(self, q: wq.Prefix) -> list[bytes]:
        """The words a prefix stands for in this generation (walking the term index is slow)."""
        key = ("p", q.fieldname, q.text)
        found = self.generation.get(key)
        if found is None:
            found = list(q._btexts(self.searcher.reader()))
            found = self.generation.put(key, found, sum(len(btext) + 40 for btext in found) + 64)
        return found

    def _phrase(self, q: wq.Phrase) -> Matches:
        words = [self.term(q.fieldname, word) for word in q.words]
        if any(len(docnums) == 0 for docnums, _ in words):
            return Matches.none(self.size)
        inorder = np.zeros(self.size, dtype=bool)
        for (leaf, offset, cache), (leaf_searcher, _) in zip(self.leaves,
                                                             self.searcher.leaf_searchers()):
            inorder[cache.phrase(leaf_searcher, q) + offset] = True
        out = self._and([Matches.of(self.size, *word) for word in words])
        out.hit &= inorder
        out.score[~out.hit] = 0.0
        return out

    def _whoosh(self, q) -> Matches:
        key = ("q", q)
        found = self.generation.get(key)
        if found is None:
            results = self.searcher.search(q, limit=None)
            pairs = results.top_n
            docnums = np.array([docnum for _, docnum in pairs], dtype=np.int64)
            scores = np.array([score for score, _ in pairs], dtype=np.float64)
            found = self.generation.put(key, (docnums, scores), 16 * len(pairs) + 64)
        return Matches.of(self.size, *found)

    def term(self, field: str, text) -> tuple[np.ndarray, np.ndarray]:
        """A term's (undeleted) document numbers and their scores, in document order."""
        generation = self.generation
        try:
            btext = self.searcher.schema[field].to_bytes(text) if isinstance(text, str) else text
        except (KeyError, ValueError):
            return _EMPTY_IDS, _EMPTY_SCORES
        key = ("t", field, btext)
        found = self.generation.get(key)
        if found is not None:
            return found
        if (field, btext) not in self.searcher.reader():  # as Whoosh's Term: no statistics to score
            return self.generation.put(key, (_EMPTY_IDS, _EMPTY_SCORES), 64)
        scorable = self.searcher.schema[field].scorable
        if not generation.bm25:  # another weighting model: Whoosh scores it
            found = self._whoosh(wq.Term(field, text))
            return self.generation.put(key, (np.flatnonzero(found.hit), found.score[found.hit]),
                             16 * found.count() + 64)
        idf = self.searcher.idf(field, btext)
        parts = []
        for leaf, offset, cache in self.leaves:
            ids, weights = cache.term(leaf, field, btext)
            if not len(ids):
                continue
            if scorable:
                # Whoosh's bm25(): idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * fl / avgfl)).
                norms = self._norms(leaf, offset, cache, field)
                scores = weights * (idf * (generation.K1 + 1)) / (weights + norms[ids])
            else:
                scores = weights
            docnums = ids + offset
            live = generation.live[docnums]
            parts.append((docnums[live], scores[live]))
        if not parts:
            found = (_EMPTY_IDS, _EMPTY_SCORES)
        elif len(parts) == 1:
            found = parts[0]
        else:
            found = (np.concatenate([d for d, _ in parts]), np.concatenate([s for _, s in parts]))
        return self.generation.put(key, found, 16 * len(found[0]) + 64)

    def _norms(self, leaf, offset, cache, field) -> np.ndarray:
        """K1 * (1 - B + B * fl / avgfl) of every document in a segment, for this generation."""
        generation = self.generation
        key = (offset, field)
        found = generation.norms.get(key)
        if found is None:
            avgfl = self.searcher.avg_field_length(field) or 1
            B = generation.field_B.get(field, generation.B)
            c1 = generation.K1 * (1 - B)
            c2 = generation.K1 * B / avgfl
            found = c1 + c2 * cache.field_lengths(leaf, field)
            generation.norms[key] = found
        return found

    def docs(self, q) -> np.ndarray:
        """The documents matching a filter query, as a mask (cached for the generation)."""
        key = ("f", q)
        found = self.generation.get(key)
        if found is None:
            found = np.zeros(self.size, dtype=bool)
            found[np.fromiter(self.searcher.docs_for_query(q), dtype=np.int64)] = True
            found = self.generation.put(key, found, self.size + 64)
        return found

    def column(self, name: str, docnum: int):
        for leaf, offset, cache in reversed(self.leaves):
            if docnum >= offset:
                return cache.column(leaf, name)[docnum - offset]
        raise IndexError(docnum)

    def column_array(self, name: str) -> np.ndarray:
        """A column of every document (numbers only), for sorting many documents by it."""
        key = ("col", name)
        found = self.generation.get(key)
        if found is None:
            values = [value or 0 for leaf, _, cache in self.leaves
                      for value in cache.column(leaf, name)]
            found = self.generation.put(key, np.array(values, dtype=np.int64), 8 * self.size + 64)
        return found


def top(matches: Matches, allowed: np.ndarray | None, depth: int,
        key: np.ndarray | None = None) -> tuple[list[tuple[int, float]], int]:
    """The best `depth` (docnum, score) pairs and how many matched. By score, the lower document
    number first among equals (Whoosh's order); or by `key` (one value per document), the
    larger first, then the higher document number."""
    hit = matches.hit if allowed is None else matches.hit & allowed
    docnums = np.flatnonzero(hit)
    total = len(docnums)
    if not total or depth <= 0:
        return [], total
    values = matches.score[docnums] if key is None else key[docnums]
    if total > depth:
        # Whatever ties with the depth-th value is sorted too, so the order among equals holds.
        kth = np.partition(values, total - depth)[total - depth]
        keep = values >= kth
        docnums, values = docnums[keep], values[keep]
    if key is None:
        order = np.lexsort((docnums, -values))[:depth]
    else:
        order = np.lexsort((docnums, values))[::-1][:depth]
    scores = matches.score[docnums[order]]
    return list(zip(docnums[order].tolist(), scores.tolist())), total
