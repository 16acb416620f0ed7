"""The spool and the sequence counter: bounds, order, power loss, restarts."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.backoff import Backoff
from agent.report import HealthReport
from agent.spool import Spool, SpoolError
from agent.state import SequenceStore, StatusStore, read_status


def payload(seq: int, padding: int = 0) -> bytes:
    errors = ("x" * padding,) if padding else ()
    report = HealthReport("dev-1", seq, datetime.now(UTC), "0.1.0", errors=errors)
    return report.to_json()


def test_reports_come_back_in_order_after_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_reports=100, max_bytes=10**6)
    for seq in (3, 4, 7, 12):
        spool.add(seq, payload(seq))
    reopened = Spool(tmp_path, max_reports=100, max_bytes=10**6)
    assert reopened.seqs() == [3, 4, 7, 12]
    assert (
        reopened.read(7) == payload(7) or HealthReport.from_json(reopened.read(7) or b"").seq == 7
    )
    reopened.remove(3)
    assert Spool(tmp_path, 100, 10**6).seqs() == [4, 7, 12]


def test_count_bound_drops_oldest_and_counts(tmp_path: Path) -> None:
    dropped: list[int] = []
    spool = Spool(tmp_path, max_reports=5, max_bytes=10**6, on_drop=dropped.append)
    for seq in range(8):
        spool.add(seq, payload(seq))
    assert spool.seqs() == [3, 4, 5, 6, 7]
    assert sum(dropped) == 3
    assert sorted(p.name for p in tmp_path.iterdir())[0] == f"{3:020d}.json"


def test_byte_bound_drops_oldest(tmp_path: Path) -> None:
    size = len(payload(0, padding=150))
    spool = Spool(tmp_path, max_reports=1000, max_bytes=3 * size + 10)
    for seq in range(6):
        spool.add(seq, payload(seq, padding=150))
    assert spool.seqs() == [3, 4, 5]
    assert spool.total_bytes <= 3 * size + 10


def test_refuses_out_of_order_and_oversized(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_reports=10, max_bytes=300)
    spool.add(5, payload(5))
    with pytest.raises(SpoolError):
        spool.add(5, payload(5))
    with pytest.raises(SpoolError):
        spool.add(6, payload(6, padding=199) * 2)


def test_power_loss_leftovers_are_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_reports=10, max_bytes=10**6)
    for seq in range(3):
        spool.add(seq, payload(seq))
    # A write cut off by power loss: only its temp file exists, truncated.
    (tmp_path / f"{3:020d}.json.tmp").write_bytes(payload(3)[:17])
    # A file damaged on disk (e.g. a filesystem that lost its tail).
    (tmp_path / f"{1:020d}.json").write_bytes(payload(1)[:-9])
    corrupt: list[int] = []
    reopened = Spool(tmp_path, max_reports=10, max_bytes=10**6, on_corrupt=corrupt.append)
    assert not list(tmp_path.glob("*.tmp"))
    sendable = [seq for seq in reopened.seqs() if reopened.read(seq) is not None]
    assert sendable == [0, 2]
    assert corrupt == [1]
    assert reopened.seqs() == [0, 2]


def test_sequence_survives_restart_and_is_stored_before_use(tmp_path: Path) -> None:
    store = SequenceStore(tmp_path)
    assert store.peek() == 0
    assert [store.next() for _ in range(3)] == [0, 1, 2]
    assert (tmp_path / "seq").read_text() == "2"
    again = SequenceStore(tmp_path)
    assert again.peek() == 3  # peek consumes nothing
    assert again.peek() == 3
    assert again.next() == 3
    # The spool's newest report is a floor: a lost counter never reuses a number.
    (tmp_path / "seq").unlink()
    assert SequenceStore(tmp_path, floor=41).next() == 42


def test_corrupt_sequence_file_jumps_ahead_instead_of_reusing(tmp_path: Path) -> None:
    store = SequenceStore(tmp_path)
    for _ in range(5):
        store.next()
    (tmp_path / "seq").write_bytes(b"\x00\x00")
    assert SequenceStore(tmp_path).next() > 5


def test_status_counters_persist(tmp_path: Path) -> None:
    status = StatusStore(tmp_path)
    status.count("dropped", 3)
    status.sent(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    status.flush()
    seen = read_status(tmp_path)
    assert (seen.dropped, seen.sent, seen.last_sent_at) == (3, 1, "2026-01-02T03:04:05+00:00")
    (tmp_path / "status.json").write_text("{garbage")
    assert read_status(tmp_path).sent == 0


def test_backoff_full_jitter_stays_within_a_doubling_capped_ceiling() -> None:
    backoff = Backoff(initial_s=1.0, cap_s=60.0, rng=random.Random(7))
    for attempt in range(12):
        ceiling = min(60.0, 2.0**attempt)
        assert backoff.ceiling() == ceiling
        assert 0.0 <= backoff.next_delay() <= ceiling
    backoff.reset()
    assert backoff.ceiling() == 1.0
    assert Backoff(1.0, 60.0).ceiling() == 1.0


def test_backoff_spreads_a_fleet_out() -> None:
    # A thousand devices after the same outage, at their 8th failed attempt: full jitter
    # spreads their retries over the whole window instead of one instant.
    rng = random.Random(1)
    delays = []
    for _ in range(1000):
        device = Backoff(1.0, 600.0, rng)
        device.attempts = 8
        delays.append(device.next_delay())
    assert max(delays) <= 256.0
    buckets = [0] * 8
    for d in delays:
        buckets[min(7, int(d // 32))] += 1
    assert min(buckets) > 80  # roughly uniform: ~125 per 32 s bucket
    assert Backoff(1.0, 600.0).ceiling() > 0
    with pytest.raises(ValueError):
        Backoff(0, 1)
