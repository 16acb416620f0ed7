"""`digibank-server demo`: a living fleet over the real broker, flags from ingested reports,
and nothing left running after Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest
from sqlalchemy import func, select

from server.core.config import load_settings
from server.core.db import make_engine, make_sessionmaker
from server.models import Flag, HealthReportRow
from server.rules import REPORT_REPAIR_REASONS
from tests.dashboard.conftest import free_port
from tests.mqtt_broker import broker_data_dir

pytestmark = pytest.mark.slow


def _reader(stream: object, lines: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.append(line)


def test_demo_raises_flags_from_ingested_reports_and_stops_cleanly() -> None:
    folder = broker_data_dir("digibank-demo-")
    data = folder / "data"
    env = {**os.environ, "DIGIBANK_DATA_DIR": str(data), "DIGIBANK_SECRET_KEY": "d" * 48}
    cmd = [sys.executable, "-m", "server.cli", "demo", "--port", str(free_port()),
           "--mqtt-port", str(free_port()), "--devices", "60", "--processes", "2",
           "--interval", "2"]  # fmt: skip
    demo = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    threading.Thread(target=_reader, args=(demo.stdout, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not any("dashboard: http://" in line for line in lines):
            assert demo.poll() is None, "".join(lines[-30:])
            assert time.monotonic() < deadline, "no dashboard URL printed:\n" + "".join(lines)
            time.sleep(0.2)
        assert any("username:" in line for line in lines)
        assert any("password:" in line for line in lines)

        engine = make_engine(load_settings(data_dir=data, database_url=""))
        factory = make_sessionmaker(engine)
        flags = reports = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with factory() as session:
                reports = session.scalar(select(func.count()).select_from(HealthReportRow)) or 0
                flags = (
                    session.scalar(
                        select(func.count())
                        .select_from(Flag)
                        .where(Flag.reason.in_(REPORT_REPAIR_REASONS))
                    )
                    or 0
                )
            if flags:
                break
            time.sleep(1)
        engine.dispose()
        assert reports > 0, "no health report was ingested"
        assert flags >= 1, f"no flag from {reports} ingested reports within a minute"

        family = psutil.Process(demo.pid).children(recursive=True)
        names = {p.name() for p in family}
        assert "mosquitto" in names and sum("python" in n for n in names) >= 1, names
        demo.send_signal(signal.SIGINT)  # what Ctrl-C does
        assert demo.wait(timeout=60) == 0, "".join(lines[-30:])
        _gone, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, f"left running after Ctrl-C: {[p.pid for p in alive]}"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        shutil.rmtree(folder, ignore_errors=True)
