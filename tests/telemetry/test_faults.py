"""Faults: ingest SIGKILLed mid-batch, ingest down while reports queue, broker restarted.

Each ends with every report stored exactly once, in order per device. Ingest runs as its own
process (`python -m server.ingest`), as `digibank-server ingest` does.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from server.broker import MosquittoBroker
from server.core.config import Settings
from server.models import Device, HealthReportRow
from tests.mqtt_broker import started_broker
from tests.telemetry.fleet import (
    Endpoint,
    forget_session,
    ingest_env,
    make_devices,
    publish_all,
    publish_parallel,
    reports_for,
    simulator_account,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def spawn_ingest(settings: Settings, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """`python -m server.ingest` with these settings, logging to `log`."""
    env = ingest_env(settings, **extra)
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "server.ingest"], cwd=ROOT, env=env, stdout=out, stderr=out
    )


def stored(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(HealthReportRow)) or 0)


def assert_exactly_once_in_order(
    factory: sessionmaker[Session], ids: list[int], per_device: int, *, arrival_order: bool = True
) -> None:
    """Every device has seqs 0..n-1 once each, stored in increasing order, snapshot at the last."""
    with factory() as s:
        rows = s.execute(
            select(HealthReportRow.device_id, HealthReportRow.seq).order_by(HealthReportRow.id)
        ).all()
        by_device: dict[int, list[int]] = {}
        for device_id, seq in rows:
            by_device.setdefault(device_id, []).append(seq)
        for d in ids:
            assert sorted(by_device[d]) == list(range(per_device)), f"device {d}"
        snapshots = dict(s.execute(select(Device.id, Device.last_report_seq)).tuples().all())
        assert all(snapshots[d] == per_device - 1 for d in ids)
        # Insertion order per device: a redelivered batch may repeat what was already stored
        # (skipped) but never stores an older report after a newer one.
        out_of_order = sum(
            1 for seqs in by_device.values() for a, b in itertools.pairwise(seqs) if b < a
        )
        if arrival_order:
            assert out_of_order == 0
    assert len(rows) == len(ids) * per_device


@pytest.fixture
def ingest_proc(
    tsettings: Settings, tmp_path: Path, mosquitto: MosquittoBroker
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Holds the ingest processes a test starts; all stopped and their session ended after."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(20)
    forget_session(
        mosquitto.host, mosquitto.port, mosquitto.server_credentials, tsettings.ingest_client_id
    )


def test_ingest_sigkilled_mid_batch_loses_and_duplicates_nothing(
    tsettings: Settings,
    factory: sessionmaker[Session],
    sim: Endpoint,
    tmp_path: Path,
    ingest_proc: list[subprocess.Popen[bytes]],
) -> None:
    ids = make_devices(factory, 50)
    per_device = 100
    log = tmp_path / "ingest.log"
    # Small batches, committed while more keep arriving: the kill lands between commit and ack
    # or in the middle of a batch.
    extra = {"DIGIBANK_INGEST_BATCH_SIZE": "100", "DIGIBANK_INGEST_BATCH_MS": "20"}
    ingest_proc.append(spawn_ingest(tsettings, log, **extra))
    assert wait_until(lambda: b"connected" in log.read_bytes(), 20)
    items = reports_for(ids, per_device)
    publisher = threading.Thread(target=publish_all, args=(sim, items))
    publisher.start()
    assert wait_until(lambda: stored(factory) >= 1000, 60)
    ingest_proc[0].send_signal(signal.SIGKILL)
    ingest_proc[0].wait(10)
    killed_at = stored(factory)
    assert killed_at < len(items), "the kill came too late to test anything"
    publisher.join(60)
    ingest_proc.append(spawn_ingest(tsettings, log, **extra))
    assert wait_until(lambda: stored(factory) >= len(items), 60), stored(factory)
    assert_exactly_once_in_order(factory, ids, per_device)


def test_ingest_down_while_20000_reports_are_published_then_drains_them_all(
    tsettings: Settings,
    factory: sessionmaker[Session],
    sim: Endpoint,
    tmp_path: Path,
    ingest_proc: list[subprocess.Popen[bytes]],
) -> None:
    ids = make_devices(factory, 1000)
    per_device = 20
    log = tmp_path / "ingest.log"
    # A first run makes the broker keep a session (and so a queue) for ingest.
    first = spawn_ingest(tsettings, log)
    assert wait_until(lambda: b"connected" in log.read_bytes(), 20)
    first.send_signal(signal.SIGTERM)
    assert first.wait(20) == 0
    items = reports_for(ids, per_device)
    assert publish_parallel(sim, items, processes=3) == 20_000
    assert stored(factory) == 0
    ingest_proc.append(spawn_ingest(tsettings, log, DIGIBANK_INGEST_BATCH_SIZE="500"))
    assert wait_until(lambda: stored(factory) >= 20_000, 60, interval=0.5), stored(factory)
    assert_exactly_once_in_order(factory, ids, per_device)


def test_broker_restarted_while_publishing_loses_nothing(
    tsettings: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ids = make_devices(factory, 20)
    per_device = 100
    with started_broker() as broker:
        account = broker.server_credentials
        settings = tsettings.model_copy(
            update={
                "mqtt_port": broker.port,
                "mqtt_username": account.username,
                "mqtt_password": account.password,
            }
        )
        ep = simulator_account(broker)
        log = tmp_path / "ingest.log"
        proc = spawn_ingest(settings, log)
        try:
            assert wait_until(lambda: b"connected" in log.read_bytes(), 20)
            items = reports_for(ids, per_device)
            accepted: list[int] = []
            publisher = threading.Thread(
                target=lambda: accepted.append(
                    publish_all(ep, items, timeout=90, retry_unrouted=True)
                )
            )
            publisher.start()
            assert wait_until(lambda: stored(factory) >= 200, 30)
            broker.stop()  # SIGTERM: Mosquitto saves its queues; clients see the connection drop
            broker.start()
            publisher.join(100)
            assert accepted == [len(items)]
            assert wait_until(lambda: stored(factory) >= len(items), 60), (
                stored(factory),
                log.read_text()[-3000:],
            )
            # Reports the restarted broker routed to nobody (reason 16) are sent again after
            # newer ones, so they arrive late; each is still stored once, and the snapshot
            # and the rules keep to the newest sequence number.
            assert_exactly_once_in_order(factory, ids, per_device, arrival_order=False)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
