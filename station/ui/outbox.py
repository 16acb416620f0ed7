"""Writes for the on-disk outbox, taken off the UI thread and done in the order made.

The engine's outbox fsyncs each record, which can stall under I/O; the UI only queues a
write here and one worker thread carries them out, so records reach the server in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from station.errors import StationError

Put = Callable[[], object]


class OutboxWriter:
    """A queue of outbox writes (slot, write) carried out one at a time, in order.

    `done(slot, error)` is called after each write, with the error that stopped it or None.
    """

    def __init__(self, done: Callable[[str, Exception | None], None]) -> None:
        self._done = done
        self._queue: queue.Queue[tuple[str, Put]] = queue.Queue()
        self._lock = threading.Lock()  # one writer at a time keeps the order

    def put(self, slot: str, write: Put) -> None:
        """Queue a write (returns at once)."""
        self._queue.put((slot, write))

    def write_next(self, timeout: float) -> None:
        """Carry out the next queued write, waiting up to `timeout` for one."""
        with self._lock:
            try:
                slot, write = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            self._write(slot, write)

    def drain(self) -> None:
        """Carry out everything still queued (before the station stops)."""
        with self._lock:
            while not self._queue.empty():
                self._write(*self._queue.get_nowait())

    def _write(self, slot: str, write: Put) -> None:
        try:
            write()
        except (OSError, StationError) as exc:
            self._done(slot, exc)
            return
        self._done(slot, None)
