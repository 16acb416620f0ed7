"""The ingest's database side: a thread that stores batches in order while MQTT keeps reading.

The MQTT thread (`server.ingest`) receives and validates messages and hands each full batch
here; this thread stores it (`server.ingest_batch.store_batch`, one transaction) and gives
it back, stored, for the MQTT thread to acknowledge: paho's client is driven by that one
thread only. Batches are stored in the order they were handed over, one at a time.

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

Store = Callable[[list[Incoming]], BatchResult]


@dataclass
class Stored:
    """A batch the writer finished: its messages and what storing them did."""

    batch: list[Incoming]
    result: BatchResult


class BatchWriter:
    """Stores handed-over batches in order on its own thread; `take_done` gives them back.

    While the database is unavailable it keeps retrying the batch in hand (with growing
    pauses) and later batches wait behind it; when `stopping` is set it gives up on what is
    not stored yet, which is then never acknowledged, so the broker delivers it again.
    """

    def __init__(self, store: Store, stopping: threading.Event) -> None:
        self._store = store
        self._stopping = stopping
        self._todo: queue.Queue[list[Incoming] | None] = queue.Queue()
        self._done: deque[Stored] = deque()
        self._in_hand = 0  # batches handed over and not yet taken back
        self._lock = threading.Lock()
        self._progress = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0
        self.last_error: str | None = None
        self.retrying = False  # the batch in hand failed and waits to be tried again

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: list[Incoming]) -> None:
        """Hand a batch over to be stored after those before it."""
        if not batch:
            return
        with self._lock:
            self._in_hand += 1
        self._todo.put(batch)

    @property
    def busy(self) -> bool:
        """Whether a handed-over batch has not been taken back yet."""
        return self._in_hand > 0

    @property
    def in_hand(self) -> int:
        """Batches handed over and not taken back yet."""
        return self._in_hand

    def wait_progress(self, timeout: float) -> None:
        """Wait (without holding the GIL) until a batch is stored or `timeout` passes."""
        if self._progress.wait(timeout):
            self._progress.clear()

    @property
    def waiting(self) -> int:
        """Messages handed over and not stored yet (an estimate, for /healthz)."""
        return sum(len(b) for b in list(self._todo.queue) if b)

    def take_done(self) -> list[Stored]:
        """The batches stored since the last call, in order."""
        out: list[Stored] = []
        while self._done:
            out.append(self._done.popleft())
        if out:
            with self._lock:
                self._in_hand -= len(out)
        return out

    def finish(self, timeout: float = 60.0) -> None:
        """Store what was handed over (unless `stopping` makes it give up), then end."""
        if self._thread is None:
            return
        self._todo.put(None)
        self._thread.join(timeout=timeout)
        self._thread = None

    # --- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._todo.get()
            if batch is None:
                return
            result = self._store_retrying(batch)
            if result is None:  # given up on stopping: never acknowledged, delivered again
                with self._lock:
                    self._in_hand -= 1
                continue
            self._done.append(Stored(batch, result))
            self._progress.set()

    def _store_retrying(self, batch: list[Incoming]) -> BatchResult | None:
        delay = 0.5
        while True:
            try:
                result = self._store(batch)
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
                isolated = self._one_by_one(batch)
                if isolated is not None:
                    return isolated
            self.retrying = True
            try:
                if self._stopping.wait(delay):
                    return None
            finally:
                self.retrying = False
            delay = min(delay * 2, _RETRY_MAX_S)

    def _one_by_one(self, batch: list[Incoming]) -> BatchResult | None:
        """Store each message alone, isolating and dropping a poisonous one (None: db down)."""
        total = BatchResult()
        for message in batch:
            try:
                part = self._store([message])
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
