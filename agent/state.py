"""Small persistent agent state: the sequence counter, the server-set interval, send status."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.fsutil import write_atomic

log = logging.getLogger(__name__)

SEQ_FILE = "seq"
INTERVAL_FILE = "interval.json"
STATUS_FILE = "status.json"


class SequenceStore:
    """The per-device report counter; each number is on disk before a report uses it."""

    def __init__(self, state_dir: Path, floor: int = -1) -> None:
        self._path = state_dir / SEQ_FILE
        self._last = max(self._load(), floor)

    def _load(self) -> int:
        try:
            text = self._path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return -1
        except (OSError, UnicodeDecodeError) as exc:
            return self._recover(f"unreadable ({exc})")
        if not text.isdigit():
            return self._recover(f"corrupt ({text[:20]!r})")
        return int(text)

    def _recover(self, why: str) -> int:
        # Reusing a number would make the server drop new reports as duplicates; jumping to
        # the clock's seconds is always above any number this device used before.
        log.error("sequence file %s is %s; continuing from the current time", self._path, why)
        return int(time.time())

    def peek(self) -> int:
        """The number the next report will get (nothing is consumed)."""
        return self._last + 1

    def next(self) -> int:
        """Take the next number, durably stored before it is returned."""
        seq = self._last + 1
        write_atomic(self._path, str(seq).encode("ascii"), mode=0o600)
        self._last = seq
        return seq


def load_interval(state_dir: Path) -> int | None:
    """The interval the server last set, or None."""
    try:
        value = json.loads((state_dir / INTERVAL_FILE).read_text(encoding="utf-8"))["interval_s"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def save_interval(state_dir: Path, interval_s: int) -> None:
    """Persist a server-set interval so it survives restarts."""
    write_atomic(state_dir / INTERVAL_FILE, json.dumps({"interval_s": interval_s}).encode())


@dataclass(frozen=True)
class SendStatus:
    """Counters for `digibank-agent status`."""

    last_sent_at: str | None = None
    sent: int = 0
    dropped: int = 0
    refused: int = 0
    rejected: int = 0
    undelivered: int = 0
    corrupt: int = 0


class StatusStore:
    """Send counters, kept in memory and written (without fsync: they are advisory) on change."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / STATUS_FILE
        self.status = read_status(state_dir)

    def update(self, **changes: Any) -> None:
        """Apply changes and write the file."""
        self.status = replace(self.status, **changes)
        self.flush()

    def count(self, name: str, by: int = 1) -> None:
        """Add to one counter and write the file."""
        self.update(**{name: getattr(self.status, name) + by})

    def sent(self, moment: datetime, by: int = 1) -> None:
        """Record acknowledged reports."""
        self.status = replace(
            self.status,
            last_sent_at=moment.isoformat(timespec="seconds"),
            sent=self.status.sent + by,
        )

    def flush(self) -> None:
        """Write the counters to disk."""
        try:
            write_atomic(self._path, json.dumps(asdict(self.status)).encode(), durable=False)
        except OSError as exc:
            log.warning("cannot write %s: %s", self._path, exc)


def read_status(state_dir: Path) -> SendStatus:
    """Read the counters file; zeros when it is missing or unreadable."""
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
        return SendStatus(**{k: data[k] for k in asdict(SendStatus()) if k in data})
    except (OSError, ValueError, TypeError):
        return SendStatus()
