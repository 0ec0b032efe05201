"""Whoosh's storage and readers, made safe for a busy server: RAM indexes with private scratch
space, files read rather than memory-mapped, and searchers on the latest commit that survive
concurrent commits merging segments away."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import TOC
from whoosh.reading import EmptyReader, MultiReader, ReaderClosed, SegmentReader
from whoosh.searching import Searcher

OPEN_ATTEMPTS = 10           # tries at opening the latest commit while commits replace it


class ScratchRamStorage(RamStorage):
    """RAM storage whose writers' scratch files go to a private folder, removed with the storage.

    Whoosh's own RamStorage puts them in the shared /tmp/MAIN.tmp, where two processes with RAM
    indexes delete each other's files. Scratch space in RAM instead loses the sorted runs a big
    batch spills (written through raw_file(), which RamStorage never saves), so a large rebuild
    failed with NameError. One folder per storage, not per writer: writers make scratch space
    more often than they remove it (the column writer never does).
    """

    def __init__(self) -> None:
        super().__init__()
        self._scratch: str | None = None

    def temp_storage(self, name=None):
        if self._scratch is None:  # writers take turns (WhooshIndex._write_lock)
            self._scratch = tempfile.mkdtemp(prefix="community-search-")
            weakref.finalize(self, shutil.rmtree, self._scratch, ignore_errors=True)
        return FileStorage(os.path.join(self._scratch, name or "scratch.tmp")).create()


def file_storage(path: str) -> FileStorage:
    """The index folder, its files read rather than memory-mapped: Whoosh copies every file of
    a memory-mapped segment into a BytesIO whenever a reader opens it, so each new searcher (one
    per concurrent read after every commit) would hold the interpreter lock copying the whole
    index. Read from files, a new searcher is cheap and queries no slower (their postings are
    cached)."""
    return FileStorage(path, supports_mmap=False)


@contextmanager
def exclusive(path: str | None) -> Iterator[bool]:
    """Whole-index work (comparing it with the database, rebuilding it) in one process at a
    time: yields True to the process that holds the lock file beside the index folder, False
    to the others, which leave the work to it. No path (a RAM index): always True."""
    if path is None:
        yield True
        return
    with open(f"{path.rstrip(os.sep)}.maintenance.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def latest_searcher(ix) -> Searcher:
    """A searcher on `ix`'s latest commit, tried again while commits merge segments away."""
    attempt = 1
    while True:
        try:
            toc, readers = _open_segments(ix)
            break
        except (OSError, NameError):  # a file gone (RamStorage raises NameError)
            if attempt == OPEN_ATTEMPTS:
                raise
            attempt += 1
            time.sleep(0.05)
    if not readers:
        return Searcher(EmptyReader(toc.schema), fromindex=ix)
    if len(readers) == 1:
        return Searcher(readers[0], fromindex=ix)
    return Searcher(MultiReader(readers, generation=toc.generation), fromindex=ix)


def _open_segments(ix) -> tuple[TOC, list]:
    """The latest commit and a reader per segment. Whoosh's own `ix.searcher()` opens them one
    after another and, when a concurrent commit has merged away a later one's file, leaves those it
    had opened to the garbage collector (open files until then, and a ResourceWarning wherever
    that happens); here they are closed before the error goes on."""
    readers: list = []
    try:
        toc = TOC.read(ix.storage, ix.indexname)
        for segment in toc.segments:
            readers.append(SegmentReader(ix.storage, toc.schema, segment,
                                         generation=toc.generation))
    except BaseException:
        for reader in readers:
            reader.close()
        raise
    return toc, readers


def close_searcher(searcher) -> None:
    try:
        searcher.close()
    except ReaderClosed:  # closed already (a concurrent commit closed its readers under it)
        pass


def close_searchers(searchers: list) -> None:
    while searchers:
        close_searcher(searchers.pop())
