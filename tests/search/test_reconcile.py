"""Reconciling the index with the database (issue 14, item 5): what a crash left missing, stale
or extra in the index is put right by the search-indexer worker, without undoing changes made
meanwhile. tests/workers/test_crash_recovery.py runs it at a real server's start."""

from __future__ import annotations

from sqlalchemy import update

from community.extensions import db
from community.models import Thread
from community.search import Drift, get_index
from community.search.whoosh_index import WhooshIndex
from community.services import search as search_service
from community.services import threads
from community.workers import search_indexer
from community.workers.worker import running
from tests import factories


def test_the_indexer_reconciles_missing_stale_and_extra_threads(ctx, users, indexed):
    made = [factories.make_thread(users.asker, f"Voicemail question number {n}")
            for n in range(4)]
    indexed()
    missing, stale, extra, kept = made
    # Changes committed without their events reaching the indexer, as when a crash lost them.
    get_index().remove([missing.id])
    db.session.execute(update(Thread).where(Thread.id == stale.id).values(title="Renamed quietly"))
    db.session.execute(update(Thread).where(Thread.id == extra.id).values(is_hidden=True))
    db.session.commit()
    assert search_service.check() == Drift(missing=[missing.id], extra=[extra.id],
                                           stale=[stale.id])

    running(search_indexer.NAME).submit(search_indexer.RECONCILE)
    threads.answer(users.helper, kept, "Dial *86 and follow the prompts.")  # queued alongside
    indexed()

    assert search_service.check().clean
    assert running(search_indexer.NAME).failures == []
    assert search_service.reconcile() == 0  # nothing left to do


def test_whole_index_work_goes_to_one_process_at_a_time(tmp_path):
    """Two server processes opening one index folder (as gunicorn's workers do): while one
    reconciles or rebuilds, the other leaves it to that one instead of writing over it."""
    path = str(tmp_path / "search-index")
    first, second = WhooshIndex.on_disk(path), WhooshIndex.on_disk(path)

    with first.maintenance() as ours, second.maintenance() as theirs:
        assert (ours, theirs) == (True, False)
    with second.maintenance() as theirs_now:
        assert theirs_now
