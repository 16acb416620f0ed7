"""The TUI against the real hub server (uvicorn, SQLite in tmp) through the engine's sync.

A tablet goes the whole way: intake gives it an asset tag from the server, the guided
reset's certificate, the grades and the "ready" transition land on the server. The USB
tablet and its adb answers are scripted (the machine has none); the server is real.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from server.app import create_app
from server.core.config import load_settings
from server.core.db import make_engine
from server.core.migrate import upgrade
from server.region import seed_region
from server.security import issue_token
from station.config import StationConfig
from station.grading import CHECKLIST_ITEMS
from station.service import Station
from station.ui.app import StationApp
from station.ui.dialogs import IntakeDialog
from station.ui.grade import GradeDialog
from station.ui.tablet import TabletResetDialog
from tests.station.test_station_tablets import ScriptedAdb
from tests.station.test_tui_tablets import NO_ACCOUNTS, TABLET
from tests.station.tui_app import NoHardware, attach_tablet
from tests.station.tui_waits import click, dialog, wait_for

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The real server on a free port; yields (base URL, a station token made now)."""
    settings = load_settings(data_dir=tmp_path / "hub", database_url="", secret_key="k" * 48)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    app = create_app(settings, start_services=False)
    with app.state.sessionmaker() as session:
        seed_region(session)
        token = issue_token(session, name="station-1", role="station", user_id=None, ttl=None)
        session.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=10)


def on_server(url: str, token: str, serial: str) -> dict[str, Any] | None:
    """The device's detail as the server has it."""
    headers = {"Authorization": f"Bearer {token}"}
    items = httpx.get(f"{url}/api/v1/devices", params={"q": serial}, headers=headers).json()
    found = [d for d in items["items"] if d["serial"] == serial]
    if not found:
        return None
    return dict(httpx.get(f"{url}/api/v1/devices/{found[0]['id']}", headers=headers).json())


async def test_a_tablet_from_intake_to_ready_on_the_server(
    cfg: StationConfig, hub: tuple[str, str]
) -> None:
    url, token = hub
    station = Station(replace(cfg, server_url=url, token=token), runner=ScriptedAdb(NO_ACCOUNTS))
    app = StationApp(station, NoHardware(), language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None and rec.asset_tag == ""

        await pilot.press("i")
        await dialog(pilot, IntakeDialog)
        await click(pilot, "#register")
        await wait_for(pilot, lambda: rec.asset_tag != "")
        assert rec.server_state == "intake"
        assert app.table.cell_text(rec.key, "tag") == rec.asset_tag

        await pilot.press("g")
        await dialog(pilot, GradeDialog)
        await pilot.press("1", *(["down", "1"] * len(CHECKLIST_ITEMS)), "down")
        await pilot.press("9", "1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: rec.grades is not None)

        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        await click(pilot, "#done")
        await wait_for(pilot, lambda: rec.wipe_statuses == ["passed"])

        await pilot.press("r")
        await wait_for(pilot, lambda: rec.ready)
        serial = rec.serial

        def server_ready() -> bool:
            detail = on_server(url, token, serial)
            return detail is not None and detail["state"] == "ready"

        await wait_for(pilot, server_ready)

    detail = on_server(url, token, serial)
    assert detail is not None and detail["asset_tag"] == rec.asset_tag
    wipes = [j for j in detail["jobs"] if j["kind"] == "wipe"]
    assert [j["status"] for j in wipes] == ["passed"]
    assert detail["conditions"][0]["cosmetic_grade"] == "A"
    assert [e["to_state"] for e in detail["events"]][-2:] == ["refurbishing", "ready"]


async def test_a_tablet_diagnosis_arrives_on_the_server_as_a_diagnostics_job(
    cfg: StationConfig, hub: tuple[str, str]
) -> None:
    url, token = hub
    station = Station(replace(cfg, server_url=url, token=token), runner=ScriptedAdb(NO_ACCOUNTS))
    app = StationApp(station, NoHardware(), language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None
        await pilot.press("i")
        await dialog(pilot, IntakeDialog)
        await click(pilot, "#register")
        await wait_for(pilot, lambda: rec.asset_tag != "")

        await pilot.press("d")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished)
        assert rec.job is not None and rec.job.state == "passed"

        def diagnostics() -> list[dict[str, Any]]:
            detail = on_server(url, token, rec.serial) or {}
            return [j for j in detail.get("jobs", []) if j["kind"] == "diagnostics"]

        # Through the same on-disk outbox as every other record, sent by the sync worker.
        await wait_for(pilot, diagnostics)
    [job] = diagnostics()
    assert job["status"] == "passed" and job["method"].startswith("adb")
    info = job["details"]["info"]
    assert (info["serial"], info["model"], info["android_version"]) == (
        "R52N10ABCDE",
        "SM-T220",
        "13",
    )
    assert info["battery"]["level_pct"] == 87
    assert info["storage_total_bytes"] == 24328832 * 1024
    assert {e["command"] for e in job["details"]["evidence"]} >= {
        "adb -s R52N10ABCDE shell dumpsys battery"
    }
    assert not list(station.cfg.queue_dir.glob("*.json"))  # nothing left waiting
