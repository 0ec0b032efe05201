"""Index writes made by a child process (the server's default for the whoosh backend): what
it writes is what the server reads, a child that died is replaced, and an error in a write comes
back to the caller without stopping the child."""

from __future__ import annotations

import os
import signal
from dataclasses import replace

import pytest

from community.search.whoosh_index import WhooshIndex
from tests.search.test_contract import doc, find, ids


@pytest.fixture
def index(tmp_path):
    index = WhooshIndex.on_disk(str(tmp_path / "search-index"), writer_process=True)
    yield index
    index._writer.close()


def test_the_child_writes_and_removes_what_this_process_then_finds(index):
    index.index([doc(1, "Roaming in Spain", "Data stopped at the border."),
                 doc(2, "Voicemail PIN reset", "Forgot my PIN.")])
    assert index._writer.pid not in (None, os.getpid())
    assert ids(find(index, "roaming")) == [1]
    assert ids(find(index, "pin")) == [2]

    index.index([doc(1, "Roaming in France", "Data stopped at the border.", version=2)])
    index.remove([2])

    assert ids(find(index, "france")) == [1]
    assert find(index, "spain").total == 0
    assert find(index, "pin").total == 0
    assert index.check([doc(1, "", version=2)]).clean


def test_a_child_that_died_is_replaced_and_nothing_is_lost(index):
    index.index([doc(1, "Roaming in Spain")])
    first = index._writer.pid
    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)

    index.index([doc(2, "Voicemail PIN reset")])

    assert index._writer.pid != first
    assert ids(find(index, "roaming")) == [1]
    assert ids(find(index, "voicemail")) == [2]


def test_a_failed_write_is_raised_here_and_the_child_goes_on(index):
    index.index([doc(1, "Roaming in Spain")])
    child = index._writer.pid

    with pytest.raises(RuntimeError, match="search index writer failed: AttributeError"):
        index.index([replace(doc(3, "Broken"), created=None)])

    index.index([doc(2, "Voicemail PIN reset")])
    assert index._writer.pid == child
    assert ids(find(index, "roaming voicemail")) == []
    assert find(index, "roaming").total == find(index, "voicemail").total == 1
    assert find(index, "broken").total == 0


def test_the_child_stops_when_the_index_is_closed(index):
    index.index([doc(1, "Roaming in Spain")])
    child = index._writer.pid

    index._writer.close()

    assert index._writer.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
