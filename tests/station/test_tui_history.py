"""A device's history outlives the TUI session: from the real server, else the station's own.

The tablet's USB event and adb answers are scripted (the machine has none); the server
(uvicorn, SQLite in tmp), the engine, its records and the app are real.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from textual.widgets import DataTable, Static

from station.config import StationConfig
from station.history import LOCAL_UNREACHABLE, SERVER
from station.hw.adb import Adb
from station.service import Station
from station.tablets import record_manual_reset
from station.ui.app import StationApp
from station.ui.history import HistoryScreen
from tests.station.test_station_tablets import ScriptedAdb
from tests.station.test_tui_server import _free_port, hub  # noqa: F401 (the fixture)
from tests.station.test_tui_tablets import (
    NO_ACCOUNTS,
    TABLET,
    NoHardware,
    wait_for,
)
from tests.station.tui_app import attach_tablet

pytestmark = pytest.mark.asyncio


def _rows(screen: HistoryScreen) -> list[list[str]]:
    table = screen.query_one("#history", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _earlier_session(url: str, token: str) -> str:
    """What another station recorded before: intake, a diagnosis, a wipe with certificate, a grade."""
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"})
    device = api.post("/devices", json={"kind": "tablet", "serial": TABLET.serial}).json()
    start = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    jobs = f"/devices/{device['id']}/jobs"
    diag = {"kind": "diagnostics", "status": "passed", "started_at": start, "method": "adb"}
    assert api.post(jobs, json=diag).status_code == 201
    wipe = {"kind": "wipe", "status": "incomplete", "started_at": start,
            "method": "factory-reset-manual", "certificate": {"certificate": {}}}  # fmt: skip
    assert api.post(jobs, json=wipe).status_code == 201
    grade = {"cosmetic_grade": "B", "functional_grade": "A", "battery_grade": "A"}
    assert api.post(f"/devices/{device['id']}/conditions", json=grade).status_code == 201
    return str(device["asset_tag"])


@pytest.mark.slow
async def test_history_from_an_earlier_session_is_loaded_from_the_server(
    cfg: StationConfig,
    hub: tuple[str, str],  # noqa: F811 (the fixture)
) -> None:
    url, token = hub
    tag = _earlier_session(url, token)
    station = Station(replace(cfg, server_url=url, token=token), runner=ScriptedAdb(NO_ACCOUNTS))
    app = StationApp(station, NoHardware(), language="nl")
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None
        await wait_for(pilot, lambda: rec.history is not None)
        assert rec.history is not None and rec.history.source == SERVER
        assert rec.asset_tag == tag  # identified by its serial on the server
        assert "Historiek: 4 (server)" in str(app.detail.render())

        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: len(_rows(screen)) == 4)
        source = str(screen.query_one("#history-source", Static).render())
        assert source.startswith("van de server (intake)")
        rows = {(r[1], r[2], r[4]) for r in _rows(screen)}
        assert rows == {
            ("wissing", "incomplete", "✓"),
            ("diagnose", "passed", ""),
            ("gradering", "B/A/A", ""),
            ("status", "- → intake", ""),
        }
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen))


async def test_history_shows_the_stations_own_records_when_the_server_is_unreachable(
    cfg: StationConfig,
) -> None:
    down = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    station = Station(replace(cfg, server_url=down, token="t"), runner=ScriptedAdb(NO_ACCOUNTS))
    # An earlier session on this station: a confirmed guided reset, with its certificate.
    info = Adb(station.runner).info(TABLET.serial)[0]
    report = record_manual_reset(station, info, started_at=datetime.now(UTC), confirmed=True)
    assert Path(report.json_path).exists()

    app = StationApp(station, NoHardware(), language="nl")
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None
        await wait_for(pilot, lambda: rec.history is not None)
        assert rec.history is not None and rec.history.source == LOCAL_UNREACHABLE
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: len(_rows(screen)) == 1)
        source = str(screen.query_one("#history-source", Static).render())
        assert source.startswith("server onbereikbaar")
        [row] = _rows(screen)
        assert row[1:] == ["wissing", "passed", "Clear factory-reset-manual", "✓"]
