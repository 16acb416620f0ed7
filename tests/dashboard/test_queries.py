"""The dashboard's aggregate queries on a real migrated database (SQLite; PostgreSQL when set)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.report import Battery, Disk, HealthReport, Temperatures
from server.core.config import load_settings
from server.core.db import make_engine, make_sessionmaker
from server.core.migrate import upgrade
from server.dashboard import device_view, queries
from server.dashboard.device_view import health_series
from server.dashboard.reach_cache import ReachCache
from server.demo_fleet import seed_fleet
from server.models import Device, Digibank, Flag, HealthReportRow
from server.reach import reach
from server.timeutil import utcnow
from tests.dashboard.conftest import add_flag, loan_with_certified_wipe
from tests.postgres import BACKENDS, backend_url


@pytest.fixture(params=BACKENDS)
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """A session on a migrated database holding a small demo fleet."""
    with contextlib.ExitStack() as stack:
        url = backend_url(request.param, stack, "digibank_dash")
        engine = make_engine(load_settings(data_dir=tmp_path, database_url=url))
        stack.callback(engine.dispose)
        upgrade(engine)
        factory = make_sessionmaker(engine)
        with factory() as s:
            seed_fleet(s, devices=40, seed=3)
            s.commit()
            yield s


def test_silent_on_loan_follows_each_devices_interval_plus_grace(session: Session) -> None:
    now = utcnow()
    loaned = session.scalars(
        select(Device).where(Device.state == "on_loan").order_by(Device.id)
    ).all()
    assert len(loaned) >= 5
    for d in loaned:
        d.last_seen_at, d.report_interval_s = now - timedelta(seconds=60), 900  # all fresh
    loaned[0].last_seen_at = now - timedelta(seconds=2000)  # 900 + 300 grace < 2000: silent
    loaned[1].last_seen_at = None  # never reported: silent
    loaned[2].report_interval_s, loaned[2].last_seen_at = 3600, now - timedelta(seconds=2000)
    ready = session.scalars(select(Device).where(Device.state == "ready")).first()
    assert ready is not None
    ready.last_seen_at = now - timedelta(days=30)  # not on loan: never counted
    session.flush()
    assert queries.silent_on_loan(session.connection(), now, grace_s=300) == 2
    assert queries.silent_on_loan(session.connection(), now, grace_s=3000) == 1


def test_flag_queue_puts_critical_first_and_filters_by_digibank(session: Session) -> None:
    loaned = session.scalars(
        select(Device).where(Device.state == "on_loan").order_by(Device.id)
    ).all()
    add_flag(session, loaned[0], "disk_full", "warning")
    add_flag(session, loaned[1], "smart_failed", "critical")
    resolved = add_flag(session, loaned[2], "battery_health", "critical")
    resolved.status = "resolved"
    session.flush()
    rows, total = queries.flag_queue(session.connection())
    assert total == 2 and [r.reason for r in rows] == ["smart_failed", "disk_full"]
    bank = loaned[1].location.municipality.digibank_id  # type: ignore[union-attr]
    rows, total = queries.flag_queue(session.connection(), digibank_id=bank)
    assert "smart_failed" in [r.reason for r in rows] and total == len(rows)
    assert all(r.digibank == session.get(Digibank, bank).name for r in rows)  # type: ignore[union-attr]
    rows, total = queries.flag_queue(session.connection(), status="resolved")
    assert (total, rows[0].reason) == (1, "battery_health")
    assert queries.flag_reasons(session.connection()) == ["disk_full", "smart_failed"]
    assert session.scalar(select(Flag.status).where(Flag.id == resolved.id)) == "resolved"


def test_reach_cache_gives_the_reach_report_figures(session: Session) -> None:
    session.commit()
    factory = make_sessionmaker(session.get_bind())  # type: ignore[arg-type]
    cached = ReachCache(factory, target=1000).get()
    assert cached == reach(session, 1000)[0]
    assert sum(r.adults for r in cached) > 0


def test_health_series_takes_the_worst_disk_and_hottest_sensor(session: Session) -> None:
    device = session.scalars(select(Device).where(Device.state == "on_loan")).first()
    assert device is not None
    start = utcnow() - timedelta(hours=2)
    reports = [
        HealthReport(
            device_id=str(device.id),
            seq=0,
            measured_at=start,
            agent_version="1",
            battery=Battery(charge_pct=40.0, design_capacity_wh=50.0, full_capacity_wh=40.0),
            disks=(
                Disk(size_bytes=200, free_bytes=50, percentage_used=7, temperature_c=41.0),
                Disk(size_bytes=100, free_bytes=5, percentage_used=12),
            ),
            temperatures=Temperatures(cpu_c=88.5, disk_c=39.0),
        ),
        HealthReport(
            device_id=str(device.id),
            seq=1,
            measured_at=start + timedelta(hours=1),
            agent_version="1",
            battery=Battery(charge_pct=90.0, health_pct=79.5),
        ),
    ]
    for r in reports:
        session.add(
            HealthReportRow(
                device_id=device.id, seq=r.seq, measured_at=r.measured_at, payload=r.to_dict()
            )
        )
    session.flush()
    series = health_series(session.connection(), device.id)
    assert [v for _, v in series["battery_health"]] == [80.0, 79.5]  # full/design, then given
    assert [v for _, v in series["battery_charge"]] == [40.0, 90.0]
    assert [v for _, v in series["disk_wear"]] == [12.0]
    assert [v for _, v in series["free_space"]] == [5.0]
    assert [v for _, v in series["temperature"]] == [88.5]
    assert series["battery_health"][0][0] == pytest.approx(reports[0].measured_at.timestamp())


def test_device_view_reads_loan_timeline_and_open_flags(session: Session) -> None:
    wipe, loan = loan_with_certified_wipe(session)
    device = loan.device
    warning = add_flag(session, device, "disk_nearly_full", "warning")
    done = add_flag(session, device, "battery_worn", "critical")
    done.status = "resolved"
    session.flush()
    view = device_view.load(session.connection(), device.id)
    assert view is not None and view.loan is not None
    assert (view.device.asset_tag, view.device.location) == (device.asset_tag, device.location.name)
    assert (view.loan.id, view.loan.location, view.loan.adult) == (
        loan.id,
        loan.location.name,
        loan.borrower.adult,
    )
    assert [f.id for f in view.open_flags] == [warning.id]
    kinds = {e.kind for e in view.timeline}
    assert {"ev_intake", "ev_wipe", "ev_loan", "ev_flag"} <= kinds
    assert wipe.id in [e.job_id for e in view.timeline]
    assert [e.at for e in view.timeline] == sorted((e.at for e in view.timeline), reverse=True)
    assert device_view.load(session.connection(), 10**9) is None
