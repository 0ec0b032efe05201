"""The after-commit worker's batching: a burst waits longer so it is handled in fewer batches."""

from __future__ import annotations

import threading
import time

from community.workers.worker import Worker


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


def test_in_burst_while_a_burst_sized_batch_is_handled_or_waiting(app):
    """What lets other work (the outbox's sends) make way for a burst: true only while items
    wait or are being handled and the last batch was a burst's."""
    release = threading.Event()
    worker = Worker(app, "test-burst", lambda batch: release.wait(10), gather_seconds=0.05)
    assert not worker.in_burst

    for n in range(Worker.BURST + 2):
        worker.submit(n)
    deadline = time.monotonic() + 5
    while not worker.in_burst and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.in_burst  # the burst's batch is being handled
    release.set()
    assert worker.flush(10)
    assert not worker.in_burst  # nothing waits

    release.clear()
    worker.submit("lone")
    time.sleep(0.2)  # gathered and being handled: a batch of one is no burst
    assert not worker.in_burst
    release.set()
    assert worker.flush(10)
    assert worker.failures == []


def test_a_periodic_worker_runs_on_its_own_and_a_wake_brings_its_round_forward(app):
    rounds: list[float] = []
    worker = Worker(app, "test-periodic", lambda batch: rounds.append(time.monotonic()),
                    every=30.0)
    worker.wake()  # not running yet (tests, CLI commands): nothing is queued, nothing runs
    assert worker.flush(1) and rounds == []

    stop = threading.Event()
    runner = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    runner.start()
    deadline = time.monotonic() + 5
    while not rounds and time.monotonic() < deadline:  # the first round is at once
        time.sleep(0.01)
    assert len(rounds) == 1

    woken = time.monotonic()
    worker.wake()  # long before the 30 s interval
    while len(rounds) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(rounds) == 2 and rounds[1] - woken < 1.0
    stop.set()
    worker.wake()  # lets run_forever see the stop
    runner.join(5)
    assert not runner.is_alive()
    assert worker.failures == []
