"""Dashboard fixtures: a real uvicorn serving the app on a migrated SQLite with a demo fleet."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.report import Battery, Disk, HealthReport, Temperatures
from server.app import create_app
from server.core.config import Settings, load_settings
from server.core.db import make_engine
from server.core.migrate import upgrade
from server.demo_fleet import seed_fleet
from server.models import Device, Flag, HealthReportRow, JobResult, Loan, User
from server.security import hash_password
from server.timeutil import utcnow

PASSWORD = "dashboard test pw"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class LiveHub:
    """A running dashboard: its base URL, settings and a session factory on its database."""

    url: str
    settings: Settings
    factory: sessionmaker[Session]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loan_with_certified_wipe(session: Session) -> tuple[JobResult, Loan]:
    """The first active loan of the seeded fleet whose device has a certified wipe."""
    found = session.execute(
        select(JobResult, Loan)
        .join(Loan, Loan.device_id == JobResult.device_id)
        .where(Loan.returned_at.is_(None), JobResult.certificate.is_not(None))
        .order_by(Loan.id)
    ).first()
    assert found is not None, "the seeded fleet has no loaned device with a certificate"
    return found[0], found[1]


def add_flag(session: Session, device: Device, reason: str, severity: str = "warning") -> Flag:
    """An open repair flag on `device`, as the rules would raise it."""
    flag = Flag(
        device_id=device.id,
        kind="repair",
        reason=reason,
        severity=severity,
        evidence={"battery_health_pct": 55.0, "threshold": 60.0},
        status="open",
    )
    session.add(flag)
    session.flush()
    return flag


def add_reports(session: Session, device: Device, n: int) -> None:
    """`n` hourly health reports on the wire schema: battery wearing, disk filling."""
    start = utcnow() - timedelta(hours=n)
    for i in range(n):
        report = HealthReport(
            device_id=f"d{device.id}",
            seq=i,
            measured_at=start + timedelta(hours=i),
            agent_version="1.0.0",
            battery=Battery(charge_pct=90 - i, health_pct=70 - i / 2, design_capacity_wh=50),
            disks=(Disk(kind="nvme", size_bytes=256 * 10**9, free_bytes=(100 - 3 * i) * 10**9,
                        percentage_used=10 + i // 6, temperature_c=40 + i % 5),),
            temperatures=Temperatures(cpu_c=50 + i % 7),
        )  # fmt: skip
        row = HealthReportRow(
            device_id=device.id, seq=i, measured_at=report.measured_at, payload=report.to_dict()
        )
        session.add(row)
    device.last_seen_at = start + timedelta(hours=n - 1)


@pytest.fixture(scope="module")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """Uvicorn on a free port serving the whole app (API and dashboard), no background services."""
    data = tmp_path_factory.mktemp("dash")
    settings = load_settings(data_dir=data, database_url="", secret_key="t" * 48)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    app = create_app(settings, start_services=False)
    app.state.dashboard_live_s = 1
    factory: sessionmaker[Session] = app.state.sessionmaker
    with factory() as session:
        seed_fleet(session, devices=80, seed=11)
        session.add(User(username="anna", password_hash=hash_password(PASSWORD), role="manager"))
        session.add(User(username="tom", password_hash=hash_password(PASSWORD), role="technician"))
        devices = session.query(Device).filter(Device.state == "on_loan").order_by(Device.id).all()
        add_flag(session, devices[0], "battery_worn", "critical")
        add_reports(session, devices[0], 24)
        add_flag(session, devices[1], "disk_nearly_full")
        session.commit()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield LiveHub(f"http://127.0.0.1:{port}", settings, factory)
    server.should_exit = True
    thread.join(timeout=10)
