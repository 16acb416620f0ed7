"""The main job end to end: `digibank-server up`, then a manager's whole walk with HTTP alone."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.mqtt_broker import broker_data_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mosquitto_pids(data: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"mosquitto -c {data}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.slow
def test_up_then_a_manager_walks_a_device_through_its_life(tmp_path: Path) -> None:
    data, port = broker_data_dir(), _free_port()  # the broker's user must reach the folder
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIBANK_")}
    env["DIGIBANK_DATA_DIR"] = str(data)
    # 1883 may be taken (CI runs its own broker there): `up` must say so and pick another.
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "up", "--port", str(port), "--mqtt-port", "1883"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "press Ctrl-C" in line or proc.poll() is not None:
                break
        text = "".join(lines)
        password = re.search(r"password: (\S+)", text)
        assert password, text
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as c:
            for _ in range(100):
                try:
                    if c.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            tok = c.post("/api/v1/auth/token", data={"username": "admin", "password": password[1]})
            c.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
            locs = c.get("/api/v1/locations").json()
            assert len([x for x in locs if x["kind"] == "digipunt"]) == 10
            dev = c.post("/api/v1/devices", json={"kind": "laptop", "serial": "PF-1"}).json()
            assert dev["state"] == "intake"
            did = dev["id"]
            assert (
                c.post(f"/api/v1/devices/{did}/transition", json={"to": "ready"}).status_code == 409
            )
            assert c.post(
                f"/api/v1/devices/{did}/transition", json={"to": "refurbishing"}
            ).is_success
            now = datetime.now(UTC).isoformat()
            job = {"kind": "wipe", "status": "passed", "started_at": now, "ended_at": now,
                   "method": "overwrite", "certificate": {"sanitization": "clear"}}  # fmt: skip
            assert c.post(f"/api/v1/devices/{did}/jobs", json=job).status_code == 201
            assert c.post(f"/api/v1/devices/{did}/transition", json={"to": "ready"}).is_success
            place = next(x for x in locs if x["municipality"] == "Jabbeke")
            due = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
            body = {"device_id": did, "borrower_ref": "JB-77", "borrower_adult": True,
                    "location_id": place["id"], "due_date": due}  # fmt: skip
            loan = c.post("/api/v1/loans", json=body)
            assert loan.status_code == 201, loan.text
            reach = c.get("/api/v1/reports/reach").json()
            assert next(r for r in reach["digibanks"] if r["digibank"] == "West")["adults"] == 1
            back = c.post(f"/api/v1/loans/{loan.json()['id']}/return", json={})
            assert back.status_code == 200
            assert c.get(f"/api/v1/devices/{did}").json()["state"] == "returned"
        assert _mosquitto_pids(data), "up should run its own mosquitto"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, "".join(lines)
    assert _mosquitto_pids(data) == [], "Ctrl-C must stop the broker too"
    shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
def test_sigterm_stops_the_broker_too() -> None:
    data = broker_data_dir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIBANK_")}
    env["DIGIBANK_DATA_DIR"] = str(data)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "up", "--port", str(_free_port()),
         "--mqtt-port", str(_free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "press Ctrl-C" in line:
            break
    assert _mosquitto_pids(data)
    proc.terminate()
    out = proc.communicate(timeout=30)[0]
    assert "stopped" in out
    assert _mosquitto_pids(data) == []
    shutil.rmtree(data, ignore_errors=True)
