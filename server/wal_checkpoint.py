"""Checkpoint a SQLite write-ahead log from a thread of its own.

By default the connection whose commit makes the WAL pass 1,000 pages copies it back into
the database file and syncs it, inside that commit. For ingest that is every few batches: a
commit that should take a millisecond takes tens, and nothing is received meanwhile. Ingest
therefore turns automatic checkpoints off on its own connection and this thread checkpoints
instead, PASSIVE (it never blocks a writer or a reader), once a second; SQLite releases the
GIL while it copies and syncs, so ingest keeps receiving.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on one SQLite database every `interval` seconds."""

    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Checkpoint once more and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            while True:
                stopping = self._stop.wait(self.interval)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy or locked now: the next round tries again
                    log.debug("wal checkpoint of %s: %s", self.path, exc)
                if stopping:
                    return
        finally:
            conn.close()
