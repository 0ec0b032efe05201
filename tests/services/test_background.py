"""The after-commit worker's batching: a burst waits longer so it is handled in fewer batches."""

from __future__ import annotations

import time

from community.services.background import Worker


def test_a_burst_makes_the_next_batch_wait_longer_while_a_lone_item_waits_little(app):
    batches: list[list[str]] = []
    worker = Worker(app, "test-gather", batches.append, gather_seconds=0.2,
                    gather_max_seconds=1.0)

    for n in range(Worker.BURST + 2):
        worker.submit(f"burst-{n}")
    assert worker.flush(10)
    assert batches == [[f"burst-{n}" for n in range(Worker.BURST + 2)]]

    worker.submit("after-1")  # a burst was under way: this batch waits a second
    time.sleep(0.5)
    worker.submit("after-2")
    assert worker.flush(10)
    assert batches[1:] == [["after-1", "after-2"]]

    started = time.monotonic()
    worker.submit("lone")  # the last batch was small: back to the short wait
    assert worker.flush(10)
    assert batches[2:] == [["lone"]]
    assert time.monotonic() - started < 0.9
    assert worker.failures == []
