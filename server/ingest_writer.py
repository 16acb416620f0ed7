"""The ingest's database side: threads that store batches while MQTT keeps reading.

The MQTT thread (`server.ingest`) receives and validates messages and hands each full batch
here; a writer thread stores it (`server.ingest_batch.store_batch`, one transaction) and
gives it back, stored, for the MQTT thread to acknowledge: paho's client is driven by that
one thread only.

Two threads pay off here because the statements of a batch are few and each does the work
of the whole batch inside the database driver, which lets go of Python's lock (the GIL)
while it works: the MQTT thread reads the next batch meanwhile. A statement per row would
hand the GIL back and forth once per row, and then two threads are slower than one.

The MQTT side bounds what is in flight: the broker sends no more than the session's
Receive Maximum of unacknowledged messages, so the queue here cannot grow without end.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from server.ingest_batch import BatchResult, Incoming

log = logging.getLogger(__name__)

_RETRY_MAX_S = 10.0


class Turn:
    """One batch's place in the order in which batches lock their devices."""

    def __init__(self, turns: _Turns, number: int) -> None:
        self._turns = turns
        self.number = number

    def wait(self) -> None:
        """Wait until every batch handed over before this one has locked its devices."""
        self._turns.wait(self.number)

    def release(self) -> None:
        """This batch has locked its devices (or will not): the next may lock theirs."""
        self._turns.release(self.number)


class _Turns:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._below = 0  # every batch numbered below this has released its turn
        self._released: set[int] = set()

    def wait(self, number: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._below >= number)

    def release(self, number: int) -> None:
        with self._cond:
            if number < self._below:
                return
            self._released.add(number)
            while self._below in self._released:
                self._released.remove(self._below)
                self._below += 1
            self._cond.notify_all()


# Stores one batch; calls turn.wait() before locking its devices and turn.release() after.
Store = Callable[[list[Incoming], Turn], BatchResult]


@dataclass
class Stored:
    """A batch the writer finished: its messages and what storing them did."""

    batch: list[Incoming]
    result: BatchResult


class BatchWriter:
    """Stores handed-over batches on its own threads; `take_done` gives them back in order.

    One thread for SQLite (one writer at a time is all it allows); on PostgreSQL two, each
    with its own connection, so one prepares its batch while the other waits for the
    server. Two batches holding the same device wait for each other on its row lock (taken
    in id order, so never in a cycle), and batches come back in the order they were handed
    over whatever order they commit in: MQTT wants acknowledgements in the order the
    messages came. A batch locks its devices only after the batch before it has locked
    theirs (`Turn`), so a device's reports are inserted in the order they came. (After a
    failed attempt a batch retries on its own, and may then come after a later batch.)

    While the database is unavailable it keeps retrying the batches in hand (with growing
    pauses) and later batches wait behind them; when `stopping` is set it gives up on what is
    not stored yet, which is then never acknowledged, so the broker delivers it again.
    """

    def __init__(self, store: Store, stopping: threading.Event, *, threads: int = 1) -> None:
        self._store = store
        self._stopping = stopping
        self._todo: queue.Queue[tuple[int, list[Incoming]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._count = threads
        self._lock = threading.Lock()
        self._submitted = 0  # numbers batches as they are handed over
        self._finished: dict[int, Stored | None] = {}  # by number, until its turn comes
        self._next = 0  # the number of the next batch to give back
        self._done: deque[Stored] = deque()
        self._in_hand = 0  # batches handed over and not yet taken back (or given up)
        self._progress = threading.Event()
        self._turns = _Turns()
        self._retrying = 0
        self.errors = 0
        self.last_error: str | None = None

    def start(self) -> None:
        """Start the writer threads."""
        for n in range(self._count):
            thread = threading.Thread(target=self._run, name=f"ingest-writer-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, batch: list[Incoming]) -> None:
        """Hand a batch over to be stored."""
        if not batch:
            return
        with self._lock:
            number = self._submitted
            self._submitted += 1
            self._in_hand += 1
        self._todo.put((number, batch))

    @property
    def busy(self) -> bool:
        """Whether a handed-over batch has not been taken back yet."""
        return self._in_hand > 0

    @property
    def in_hand(self) -> int:
        """Batches handed over and not taken back yet."""
        return self._in_hand

    @property
    def threads(self) -> int:
        """How many batches it stores at once."""
        return self._count

    @property
    def retrying(self) -> bool:
        """Whether a batch failed to store and waits to be tried again."""
        return self._retrying > 0

    def wait_progress(self, timeout: float) -> None:
        """Wait (without holding the GIL) until a batch is stored or `timeout` passes."""
        if self._progress.wait(timeout):
            self._progress.clear()

    @property
    def waiting(self) -> int:
        """Messages handed over and not stored yet (an estimate, for /healthz)."""
        return sum(len(item[1]) for item in list(self._todo.queue) if item)

    def take_done(self) -> list[Stored]:
        """The batches stored since the last call, in the order they were handed over."""
        out: list[Stored] = []
        while self._done:
            out.append(self._done.popleft())
        if out:
            with self._lock:
                self._in_hand -= len(out)
        return out

    def finish(self, timeout: float = 60.0) -> None:
        """Store what was handed over (unless `stopping` makes it give up), then end."""
        for _ in self._threads:
            self._todo.put(None)
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads = []

    # --- the threads ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._todo.get()
            if item is None:
                return
            number, batch = item
            turn = Turn(self._turns, number)
            try:
                result = self._store_retrying(batch, turn)
            finally:
                turn.release()  # also when it never got as far as locking
            # None: given up on stopping, never acknowledged, so delivered again.
            self._finish(number, Stored(batch, result) if result is not None else None)

    def _finish(self, number: int, stored: Stored | None) -> None:
        """Record a batch as finished; release it and those after it once it is its turn."""
        with self._lock:
            self._finished[number] = stored
            while self._next in self._finished:
                ready = self._finished.pop(self._next)
                self._next += 1
                if ready is None:
                    self._in_hand -= 1
                else:
                    self._done.append(ready)
        self._progress.set()

    def _store_retrying(self, batch: list[Incoming], turn: Turn) -> BatchResult | None:
        delay = 0.5
        while True:
            try:
                result = self._store(batch, turn)
                self.last_error = None
                return result
            except (OperationalError, InterfaceError) as exc:
                # The database is down or locked: keep the batch unacknowledged and retry.
                self.errors += 1
                self.last_error = f"database: {exc.orig}"
                log.warning("ingest: database unavailable, retrying in %.1fs: %s", delay, exc)
            except Exception:  # the thread's edge: one bad batch must not stop ingest
                self.errors += 1
                log.exception("ingest: batch of %d failed; storing one by one", len(batch))
                isolated = self._one_by_one(batch, turn)
                if isolated is not None:
                    return isolated
            with self._lock:
                self._retrying += 1
            try:
                if self._stopping.wait(delay):
                    return None
            finally:
                with self._lock:
                    self._retrying -= 1
            delay = min(delay * 2, _RETRY_MAX_S)

    def _one_by_one(self, batch: list[Incoming], turn: Turn) -> BatchResult | None:
        """Store each message alone, isolating and dropping a poisonous one (None: db down)."""
        total = BatchResult()
        for message in batch:
            try:
                part = self._store([message], turn)
            except (OperationalError, InterfaceError):
                return None
            except DBAPIError as exc:
                log.error("ingest: dropping report on %s: %s", message.topic, exc.orig)
                total.drops["store_error"] += 1
                continue
            total.stored += part.stored
            total.duplicates += part.duplicates
            total.drops.update(part.drops)
            if part.newest_measured and (
                total.newest_measured is None or part.newest_measured > total.newest_measured
            ):
                total.newest_measured = part.newest_measured
        return total
