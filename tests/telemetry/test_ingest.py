"""Ingest on the real broker and a real database: stored once, snapshot, bad input, flags."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from agent.report import Battery, Disk, Temperatures, health_topic
from server.ingest import IngestService
from server.models import Device, Flag, HealthReportRow, IngestCounter
from tests.telemetry.fleet import Endpoint, make_devices, payload, publish_all, wait_until


def _count(factory: sessionmaker[Session], device_id: int | None = None) -> int:
    with factory() as s:
        q = select(func.count()).select_from(HealthReportRow)
        if device_id is not None:
            q = q.where(HealthReportRow.device_id == device_id)
        return int(s.scalar(q) or 0)


def _counters(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        return {c.name: c.count for c in s.scalars(select(IngestCounter))}


def test_reports_are_stored_once_and_refresh_the_device(
    factory: sessionmaker[Session], sim: Endpoint, start_ingest: Callable[..., IngestService]
) -> None:
    a, b = make_devices(factory, 2)
    ingest = start_ingest()
    assert wait_until(lambda: ingest.connected, 10)
    items = [(health_topic(str(d)), payload(d, seq)) for seq in range(3) for d in (a, b)]
    # The same report twice (what a redelivery looks like): it must be stored once.
    items.append(items[0])
    assert publish_all(sim, items) == 7
    assert wait_until(lambda: _count(factory) == 6 and ingest.duplicates == 1, 15)
    with factory() as s:
        dev = s.get(Device, a)
        assert dev is not None
        assert dev.last_report_seq == 2
        latest = s.scalar(
            select(HealthReportRow.payload).where(
                HealthReportRow.device_id == a, HealthReportRow.seq == dev.last_report_seq
            )
        )
        assert latest is not None and latest["seq"] == 2
        assert dev.last_seen_at is not None
        seqs = s.scalars(
            select(HealthReportRow.seq)
            .where(HealthReportRow.device_id == b)
            .order_by(HealthReportRow.seq)
        ).all()
        assert list(seqs) == [0, 1, 2]
    assert _counters(factory)["stored"] == 6
    assert ingest.health()["connected"] is True


def test_bad_input_is_counted_and_dropped_and_ingest_goes_on(
    factory: sessionmaker[Session], sim: Endpoint, start_ingest: Callable[..., IngestService]
) -> None:
    (dev,) = make_devices(factory, 1)
    other = dev + 1000
    ingest = start_ingest()
    assert wait_until(lambda: ingest.connected, 10)
    topic = health_topic(str(dev))
    wrong_schema = json.loads(payload(dev, 1))
    wrong_schema["schema"] = 99
    missing_seq = json.loads(payload(dev, 2))
    del missing_seq["seq"]
    huge = json.loads(payload(dev, 3))
    huge["errors"] = ["x" * 199] * 120  # ~24 KB: under the broker's limit, over the contract's
    bad = [
        (topic, b"{not json"),
        (topic, b"\xff\xfe binary"),
        (topic, json.dumps(wrong_schema).encode()),
        (topic, json.dumps(missing_seq).encode()),
        (topic, json.dumps(huge).encode()),
        (topic, payload(other, 4)),  # spoofed: another device's id on this device's topic
        (health_topic(str(other)), payload(other, 5)),  # a device the hub does not know
        (topic, payload(dev, 6)),  # and then a good one
    ]
    assert publish_all(sim, bad) == len(bad)
    assert wait_until(lambda: _count(factory, dev) == 1, 15)
    assert wait_until(lambda: sum(ingest.drops.values()) == 7, 5)
    counters = _counters(factory)
    assert counters["dropped.malformed"] == 2
    assert counters["dropped.schema_version"] == 1
    assert counters["dropped.invalid"] == 1
    assert counters["dropped.oversized"] == 1
    assert counters["dropped.spoofed"] == 1
    assert counters["dropped.unknown_device"] == 1
    assert counters["stored"] == 1
    assert ingest.connected and ingest.errors == 0
    with factory() as s:
        assert s.scalar(select(HealthReportRow.seq).where(HealthReportRow.device_id == dev)) == 6


def test_worn_battery_opens_a_repair_flag_that_resolves_after_good_reports(
    factory: sessionmaker[Session], sim: Endpoint, start_ingest: Callable[..., IngestService]
) -> None:
    (dev,) = make_devices(factory, 1)
    ingest = start_ingest(autoresolve_reports=2)
    assert wait_until(lambda: ingest.connected, 10)
    worn = Battery(design_capacity_wh=50.0, full_capacity_wh=27.5, cycle_count=900, charge_pct=40.0)
    topic = health_topic(str(dev))
    assert publish_all(sim, [(topic, payload(dev, 1, battery=worn))]) == 1
    assert wait_until(lambda: _count(factory, dev) == 1, 15)
    with factory() as s:
        flag = s.scalars(select(Flag).where(Flag.device_id == dev)).one()
        assert (flag.kind, flag.reason, flag.severity, flag.status) == (
            "repair",
            "battery_health",
            "critical",
            "open",
        )
        assert flag.evidence["health_pct"] == 55.0
        assert flag.evidence["design_capacity_wh"] == 50.0
        assert flag.evidence["cycle_count"] == 900
    # The battery was replaced: two good reports in a row close the flag, with a note.
    assert publish_all(sim, [(topic, payload(dev, 2))]) == 1
    assert wait_until(lambda: _count(factory, dev) == 2, 15)
    with factory() as s:
        assert s.scalars(select(Flag.status).where(Flag.device_id == dev)).one() == "open"
    assert publish_all(sim, [(topic, payload(dev, 3))]) == 1
    assert wait_until(lambda: _count(factory, dev) == 3, 15)
    with factory() as s:
        flag = s.scalars(select(Flag).where(Flag.device_id == dev)).one()
        assert flag.status == "resolved"
        assert flag.resolved_by == "system"
        assert flag.note and "2 reports" in flag.note


def test_rules_that_need_the_previous_report_read_it_from_an_earlier_batch(
    factory: sessionmaker[Session], sim: Endpoint, start_ingest: Callable[..., IngestService]
) -> None:
    """Two hot reports in a row and growing sectors, each report in a batch of its own: the
    previous report comes from the database (the device's last_report_seq), not the batch."""
    hot, sectors, cool = make_devices(factory, 3)
    ingest = start_ingest()
    assert wait_until(lambda: ingest.connected, 10)

    def disk(reallocated: int) -> Disk:
        return Disk(kind="ata", size_bytes=500_000_000_000, free_bytes=200_000_000_000,
                    smart_passed=True, reallocated_sectors=reallocated)  # fmt: skip

    steps = [
        [(hot, 1, {"temperatures": Temperatures(cpu_c=91.0)}),
         (sectors, 1, {"disks": (disk(4),)}),
         (cool, 1, {"temperatures": Temperatures(cpu_c=95.0)})],
        [(hot, 2, {"temperatures": Temperatures(cpu_c=93.0)}),
         (sectors, 2, {"disks": (disk(9),)}),
         (cool, 2, {"temperatures": Temperatures(cpu_c=60.0)})],
    ]  # fmt: skip
    for n, step in enumerate(steps, start=1):
        items = [(health_topic(str(d)), payload(d, seq, **changes)) for d, seq, changes in step]
        assert publish_all(sim, items) == 3
        assert wait_until(lambda n=n: _count(factory) == 3 * n, 15)
    with factory() as s:
        flags = {(f.device_id, f.reason): f for f in s.scalars(select(Flag))}
    overheating = flags[(hot, "overheating")]
    assert (overheating.evidence["temperature_c"], overheating.evidence["previous_c"]) == (
        93.0,
        91.0,
    )
    assert (cool, "overheating") not in flags  # hot once, then cool: not two in a row
    growing = flags[(sectors, "disk_sectors")]
    assert growing.severity == "critical" and growing.evidence["growing"] is True
    assert growing.evidence["disks"][0]["previous"] == {"reallocated_sectors": 4}
