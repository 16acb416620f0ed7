"""BatchWriter: batches come back in the order they were handed over, lock in that order,
and a batch the database never took is never given back (so it is never acknowledged)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from server.ingest_batch import BatchResult, Incoming
from server.ingest_writer import BatchWriter, Turn


def _batch(n: int) -> list[Incoming]:
    return [Incoming(topic=f"batch/{n}", payload=b"")]


def _number(batch: list[Incoming]) -> int:
    return int(batch[0].topic.split("/")[1])


def _take(writer: BatchWriter, count: int, timeout: float = 10.0) -> list[int]:
    got: list[int] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        writer.wait_progress(0.05)
        got += [_number(done.batch) for done in writer.take_done()]
    return got


def test_two_threads_give_batches_back_in_order_and_lock_in_order() -> None:
    locked: list[int] = []
    lock = threading.Lock()

    def store(batch: list[Incoming], turn: Turn) -> BatchResult:
        n = _number(batch)
        if n % 2 == 0:
            time.sleep(0.05)  # even batches are slow to start: odd ones reach the lock first
        turn.wait()
        with lock:
            locked.append(n)
        turn.release()
        if n % 3 == 0:
            time.sleep(0.03)  # and some are slow to commit: later ones finish before them
        return BatchResult(stored=n)

    writer = BatchWriter(store, threading.Event(), threads=2)
    writer.start()
    try:
        for n in range(12):
            writer.submit(_batch(n))
        assert _take(writer, 12) == list(range(12))
        assert locked == list(range(12))
        assert writer.in_hand == 0 and not writer.busy
    finally:
        writer.finish()


def test_a_batch_given_up_on_stopping_never_comes_back() -> None:
    stopping = threading.Event()
    attempts: list[int] = []

    def store(batch: list[Incoming], turn: Turn) -> BatchResult:
        n = _number(batch)
        attempts.append(n)
        if n == 0:
            raise OperationalError("INSERT", {}, Exception("database is down"))
        turn.wait()
        turn.release()
        return BatchResult(stored=1)

    writer = BatchWriter(store, stopping, threads=2)
    writer.start()
    writer.submit(_batch(0))
    writer.submit(_batch(1))
    deadline = time.monotonic() + 5
    while not writer.retrying and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.retrying
    # Batch 1 waits behind batch 0 (its turn to lock, and its place in the acknowledgements).
    time.sleep(0.2)
    assert writer.take_done() == []
    assert "database is down" in (writer.last_error or "")
    stopping.set()
    writer.finish()
    assert [_number(d.batch) for d in writer.take_done()] == [1]
    assert writer.in_hand == 0
    assert attempts.count(0) >= 1


@pytest.mark.parametrize("threads", [1, 2])
def test_empty_batches_are_not_handed_over(threads: int) -> None:
    writer = BatchWriter(lambda b, t: BatchResult(), threading.Event(), threads=threads)
    writer.start()
    writer.submit([])
    assert not writer.busy
    writer.finish()
